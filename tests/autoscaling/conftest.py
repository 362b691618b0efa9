"""Fixtures for the autoscaling tests that need an API server: one per module, a namespace per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import Resource, ResourceClient

_NAMES = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[APIServer]:
    with APIServer(bookmark_interval=0.3) as srv:
        yield srv
        assert srv.internal_errors == 0


@pytest.fixture(scope="module")
def api(server: APIServer):
    return server.client()


@pytest.fixture
def ns(api) -> str:
    name = f"hpa{os.getpid()}-{next(_NAMES)}"
    ResourceClient(api, Resource("", "v1", "namespaces", "Namespace", namespaced=False)).create(
        "", {"metadata": {"name": name}})
    return name

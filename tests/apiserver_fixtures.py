"""Fixtures shared by test folders that need a running API server (import them in a conftest).

    from tests.apiserver_fixtures import api, namespace_fixture, server  # noqa: F401
    ns = namespace_fixture("c")
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import Resource, ResourceClient

_NAMES = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[APIServer]:
    """One API server per test module; every error it answered must have been a 4xx."""
    with APIServer(bookmark_interval=0.3) as srv:
        yield srv
        assert srv.internal_errors == 0


@pytest.fixture(scope="module")
def api(server: APIServer):
    return server.client()


def namespace_fixture(prefix: str) -> Callable[..., str]:
    """A fixture creating a fresh namespace per test, named ``<prefix><pid>-<n>``."""

    @pytest.fixture
    def ns(api) -> str:
        name = f"{prefix}{os.getpid()}-{next(_NAMES)}"
        namespaces = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
        ResourceClient(api, namespaces).create("", {"metadata": {"name": name}})
        return name

    return ns

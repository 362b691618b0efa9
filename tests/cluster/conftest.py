"""One embedded cluster (plain-process runtime) shared by a test module; a namespace per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from fromscratch.cluster import Cluster

_NAMES = itertools.count()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(nodes=2, runtime="process", control_plane=True) as c:
        yield c
        assert c.server.internal_errors == 0


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace, deleted (with its Pods) afterwards so tests do not see each other's Pods."""
    name = f"k{os.getpid()}-{next(_NAMES)}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=true", "--timeout=60s", timeout=90)

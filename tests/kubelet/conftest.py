"""Fixtures for the kubelet tests: an API server per module, a namespace per test, kubelets
that are always stopped (their processes, directories and cgroups removed) even when a test fails."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fromscratch.kubelet import Kubelet
from tests.apiserver_fixtures import api, namespace_fixture, server  # noqa: F401

ns = namespace_fixture("k")
_NODES = itertools.count()


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def node_name() -> str:
    return f"node-{os.getpid()}-{next(_NODES)}"


@pytest.fixture
def kubelets() -> Iterator[list[Kubelet]]:
    """Append every Kubelet you start; they are stopped at the end of the test."""
    started: list[Kubelet] = []
    yield started
    for kubelet in reversed(started):
        kubelet.stop()


def pod_manifest(name: str, node: str, command: list[str], **spec: Any) -> dict[str, Any]:
    """A Pod bound to ``node`` running ``command`` (a host program in a process sandbox)."""
    container = {"name": "main", "image": "host", "command": command}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [container], **spec}}

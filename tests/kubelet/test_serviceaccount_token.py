"""The ServiceAccount token projected into a Pod authenticates the Pod to the API server.

kubernetes.io: "Configure Service Accounts for Pods" and "Managing Service Accounts":
the admission plugin adds a projected volume (token, ca.crt, namespace) at
/var/run/secrets/kubernetes.io/serviceaccount; the kubelet obtains the token via the
TokenRequest API and writes the files; KUBERNETES_SERVICE_HOST/PORT locate the API.
"""

from __future__ import annotations

import pytest

from fromscratch.api.rbac import enable_rbac
from fromscratch.controllers.client import PODS, Resource, ResourceClient
from fromscratch.kubelet import Kubelet
from fromscratch.kubelet.volumes import VolumeManager
from fromscratch.runtime.runtimes import ProcessRuntime
from tests.kubelet.conftest import pod_manifest, wait_for

CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
WHOAMI = r"""
import json, os, ssl, sys, urllib.request
root = sys.argv[1]
token = open(os.path.join(root, "token")).read()
namespace = open(os.path.join(root, "namespace")).read()
context = ssl.create_default_context(cafile=os.path.join(root, "ca.crt"))
url = "https://%s:%s/apis/authentication.k8s.io/v1/selfsubjectreviews" % (
    os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
request = urllib.request.Request(url, data=body, method="POST", headers={
    "Authorization": "Bearer " + token, "Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(request, context=context))
print(namespace, answer["status"]["userInfo"]["username"])
"""


@pytest.fixture(scope="module")
def rbac(server):
    """The API server with RBAC and the ServiceAccount admission plugin and controller."""
    return enable_rbac(server)


def test_process_pod_calls_api_as_its_service_account(api, rbac, ns, node_name, kubelets):
    # the program in the Pod reads the token files and is authenticated as system:serviceaccount:NS:SA
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, heartbeat_seconds=60,
                      sync_seconds=0.05)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    created = pods.create(ns, pod_manifest("whoami", node_name, ["python3", "-c", WHOAMI, MOUNT],
                                           restartPolicy="Never"))
    volume = next(v for v in created["spec"]["volumes"] if v["name"].startswith("kube-api-access-"))
    assert "projected" in volume  # added by the admission plugin, not by the kubelet
    wait_for(lambda: (pods.get(ns, "whoami").get("status") or {}).get("phase") in ("Succeeded",
                                                                                  "Failed"))
    logs = kubelet.pods()[f"{ns}/whoami"].logs("main")
    assert logs.strip() == f"{ns} system:serviceaccount:{ns}:default", logs
    assert pods.get(ns, "whoami")["status"]["phase"] == "Succeeded"


def test_token_files_and_rotation_at_eighty_percent(api, rbac, ns, tmp_path):
    # token, ca.crt and namespace are written; a token past 80% of its TTL is requested again
    accounts = ResourceClient(api, Resource("", "v1", "serviceaccounts", "ServiceAccount"))
    wait_for(lambda: accounts.get(ns, "default"))
    now = [1000.0]
    manager = VolumeManager(api, tmp_path, clock_wall=lambda: now[0])
    pod = {"metadata": {"name": "p", "namespace": ns, "uid": "u1"},
           "spec": {"serviceAccountName": "default", "containers": [{"name": "c"}],
                    "volumes": [{"name": "sa", "projected": {"sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                            "fieldPath": "metadata.namespace"}}]}}]}}]}}
    prepared = manager.prepare(pod)
    directory = prepared.directories["sa"]
    assert prepared.manifest["spec"]["volumes"][0]["hostPath"]["path"] == str(directory)
    assert (directory / "namespace").read_text() == ns
    assert "BEGIN CERTIFICATE" in (directory / "ca.crt").read_text()
    first = (directory / "token").read_text()
    assert first.count(".") == 2  # a JWT
    now[0] += 0.79 * 3600
    assert manager.rotate_due(pod, prepared) == []
    now[0] += 0.02 * 3600
    assert len(manager.rotate_due(pod, prepared)) == 1
    assert manager.tokens_issued == 2
    env = {e["name"]: e["value"] for e in prepared.manifest["spec"]["containers"][0]["env"]}
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1" and env["KUBERNETES_SERVICE_PORT"].isdigit()

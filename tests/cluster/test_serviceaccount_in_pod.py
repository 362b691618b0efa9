"""Issue-level check of RBAC inside a running Pod: the kubelet mounts the ServiceAccount token and
code in the Pod calls the API as ``system:serviceaccount:NS:NAME`` — allowed what its Role grants
(list Pods), refused the rest with kube-apiserver's 403 message; the official client reads every
object the kubelet wrote (its models reject missing required status fields)."""

from __future__ import annotations

import json
import sys

import pytest

from fromscratch.cluster import Cluster

pytestmark = pytest.mark.slow

IN_POD = r'''
import json, os, ssl, sys, urllib.error, urllib.request
secrets = sys.argv[1]
read = lambda name: open(os.path.join(secrets, name)).read()
tls = ssl.create_default_context(cafile=os.path.join(secrets, "ca.crt"))
api = "https://%s:%s" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": "Bearer " + read("token"), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=tls) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)
ns = read("namespace")
listed = call("GET", "/api/v1/namespaces/%s/pods" % ns)
created = call("POST", "/api/v1/namespaces/%s/pods" % ns,
               {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "x", "image": "busybox"}]}})
print(json.dumps({"list": [listed[0], [p["metadata"]["name"] for p in listed[1].get("items", [])]],
                  "create": [created[0], created[1].get("reason"), created[1].get("message")]}))
'''
SECRETS = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_code_in_a_pod_calls_the_api_as_its_service_account():
    with Cluster(nodes=1, runtime="process", rbac=True) as c:
        c.kubectl("create", "namespace", "shop")
        c.kubectl("create", "serviceaccount", "catalog", "-n", "shop")
        c.kubectl("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", "shop")
        c.kubectl("create", "rolebinding", "catalog-reads-pods", "--role=pod-reader",
                  "--serviceaccount=shop:catalog", "-n", "shop")
        c.core.create_namespaced_pod("shop", {"metadata": {"name": "catalog"}, "spec": {
            "serviceAccountName": "catalog", "restartPolicy": "Never", "containers": [{
                "name": "app", "image": "python",
                "command": [sys.executable, "-c", IN_POD, SECRETS]}]}})
        pod = c.wait_for(lambda: (lambda p: p if p.status.phase in ("Succeeded", "Failed") else None)(
            c.core.read_namespaced_pod("catalog", "shop")), timeout=30, message="the Pod to finish")
        assert pod.status.phase == "Succeeded"
        assert pod.spec.volumes[0].name.startswith("kube-api-access-")
        result = json.loads(c.kubectl("logs", "catalog", "-n", "shop"))
        assert result["list"] == [200, ["catalog"]]
        code, reason, message = result["create"]
        assert (code, reason) == (403, "Forbidden")
        assert message == ('pods is forbidden: User "system:serviceaccount:shop:catalog" cannot create '
                           'resource "pods" in API group "" in the namespace "shop"')

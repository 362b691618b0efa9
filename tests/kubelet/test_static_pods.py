"""Static Pods from a manifest directory, mirrored into the API (kubernetes.io: Static Pods)."""

from __future__ import annotations

import yaml

from fromscratch.controllers.client import PODS, ResourceClient, is_status
from fromscratch.kubelet import Kubelet
from fromscratch.runtime.runtimes import ProcessRuntime
from tests.kubelet.conftest import wait_for

CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}


def _manifest(command: list[str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "static-web", "namespace": "default"},
                           "spec": {"containers": [{"name": "web", "image": "host",
                                                    "command": command}]}})


def _get(pods, name):
    try:
        return pods.get("default", name)
    except Exception as err:
        if is_status(err, 404):
            return None
        raise


def test_static_pod_runs_with_mirror_pod_named_after_node(api, node_name, kubelets, tmp_path):
    # a file in the manifest directory runs as <name>-<node>, shown in the API as a mirror Pod
    (tmp_path / "web.yaml").write_text(_manifest(["sleep", "60"]))
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, static_pod_dir=tmp_path,
                      heartbeat_seconds=60, sync_seconds=0.05)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    name = f"static-web-{node_name}"
    mirror = wait_for(lambda: _get(pods, name))
    assert "kubernetes.io/config.mirror" in mirror["metadata"]["annotations"]
    assert mirror["metadata"]["annotations"]["kubernetes.io/config.source"] == "file"
    assert mirror["spec"]["nodeName"] == node_name
    wait_for(lambda: ((_get(pods, name) or {}).get("status") or {}).get("phase") == "Running")
    assert f"default/{name}" in kubelet.pods()


def test_deleting_mirror_pod_recreates_it_and_keeps_static_pod_running(api, node_name, kubelets,
                                                                       tmp_path):
    # the API cannot stop a static Pod: its mirror comes back, the process is the same
    (tmp_path / "web.yaml").write_text(_manifest(["sleep", "60"]))
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, static_pod_dir=tmp_path,
                      heartbeat_seconds=60, sync_seconds=0.05)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    name = f"static-web-{node_name}"
    first = wait_for(lambda: _get(pods, name))
    # the mirror is created in the same pass that starts the Pod: wait for both
    pid = wait_for(lambda: (p := kubelet.pods().get(f"default/{name}")) and
                   p.run_of("web").handle).process.pid
    pods.delete("default", name)
    again = wait_for(lambda: (m := _get(pods, name)) and m["metadata"]["uid"] != first["metadata"]["uid"]
                     and not m["metadata"].get("deletionTimestamp") and m)
    assert again["metadata"]["annotations"]["kubernetes.io/config.mirror"]
    # the new mirror gets the static Pod's status too
    wait_for(lambda: ((_get(pods, name) or {}).get("status") or {}).get("phase") == "Running")
    assert kubelet.pods()[f"default/{name}"].run_of("web").handle.process.pid == pid


def test_editing_manifest_replaces_pod_and_removing_it_deletes_mirror(api, node_name, kubelets,
                                                                      tmp_path):
    # a changed file is a new Pod (new hash); a removed file stops the Pod and deletes its mirror
    path = tmp_path / "web.yaml"
    path.write_text(_manifest(["sleep", "60"]))
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, static_pod_dir=tmp_path,
                      heartbeat_seconds=60, sync_seconds=0.05)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    name = f"static-web-{node_name}"
    first = wait_for(lambda: _get(pods, name))
    old_hash = first["metadata"]["annotations"]["kubernetes.io/config.mirror"]
    path.write_text(_manifest(["sleep", "61"]))
    wait_for(lambda: (m := _get(pods, name)) and
             m["metadata"]["annotations"]["kubernetes.io/config.mirror"] != old_hash)
    wait_for(lambda: (p := kubelet.pods().get(f"default/{name}")) and
             p.spec["containers"][0]["command"] == ["sleep", "61"])
    path.unlink()
    wait_for(lambda: _get(pods, name) is None)
    wait_for(lambda: f"default/{name}" not in kubelet.pods())


def test_invalid_manifest_is_skipped_with_a_reason(api, node_name, kubelets, tmp_path):
    # a file that is not a Pod does not stop the kubelet; the reason names the file
    (tmp_path / "broken.yaml").write_text("kind: Service\nmetadata: {name: x}\n")
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, static_pod_dir=tmp_path,
                      heartbeat_seconds=60, threads=False)
    kubelets.append(kubelet.start())
    kubelet.sync_once()
    assert "broken.yaml" in kubelet.static.errors["broken.yaml"]
    assert kubelet.pods() == {}

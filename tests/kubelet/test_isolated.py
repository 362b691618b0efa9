"""The kubelet with the isolated runtime (root): Pods are real containers in their own namespaces.

Cgroups go under ``fromscratch/kubelet-test-<pid>`` in every hierarchy, removed at the end
even when the test fails; FROMSCRATCH_HOME is private to the test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fromscratch.controllers.client import PODS, ResourceClient
from fromscratch.image.base import ensure_base_image, find_busybox
from fromscratch.image.store import ImageStore
from fromscratch.kubelet import Kubelet
from fromscratch.runtime.runtimes import IsolatedRuntime
from tests.kubelet.conftest import wait_for

CGROUP_ROOT = f"fromscratch/kubelet-test-{os.getpid()}"
CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
pytestmark = [
    pytest.mark.skipif(not IS_ROOT or sys.platform != "linux",
                       reason="needs root on Linux: namespaces, mounts, cgroups"),
    pytest.mark.skipif(find_busybox() is None, reason="needs a static busybox (Debian: busybox-static)"),
]


def _our_cgroup_dirs() -> list[Path]:
    base = Path("/sys/fs/cgroup")
    return sorted(p for p in base.glob(f"*/{CGROUP_ROOT}") if p.is_dir()) + \
        sorted(p for p in base.glob(CGROUP_ROOT) if p.is_dir())


def _remove_our_cgroups() -> None:
    for top in _our_cgroup_dirs():
        for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            directory.rmdir()
        top.rmdir()


@pytest.fixture
def store(tmp_path, monkeypatch, kubelets):
    """A private image store; at the end the test's kubelets stop, then our cgroups go."""
    monkeypatch.setenv("FROMSCRATCH_HOME", str(tmp_path / "home"))
    images = ImageStore(tmp_path / "home" / "images")
    ensure_base_image(images)
    yield images
    while kubelets:
        kubelets.pop().stop()
    _remove_our_cgroups()


def test_isolated_pod_runs_in_its_own_pid_and_mount_namespaces(api, ns, node_name, kubelets, store):
    # through the kubelet, a Pod's container has its own pid and mnt namespaces; no podIP is
    # reported because its network namespace has only a loopback; stop() leaves no cgroup behind
    runtime = IsolatedRuntime(store=store, cgroup_root=CGROUP_ROOT)
    kubelet = Kubelet(api, node_name, runtime, capacity=CAPACITY, heartbeat_seconds=60,
                      sync_seconds=0.1)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    pods.create(ns, {"metadata": {"name": "box"}, "spec": {"nodeName": node_name, "containers": [
        {"name": "main", "image": "busybox", "command": ["sh", "-c", "echo started; sleep 60"]}]}})
    wait_for(lambda: (pods.get(ns, "box").get("status") or {}).get("phase") == "Running", timeout=30)
    status = pods.get(ns, "box")["status"]
    assert status["hostIP"] == "127.0.0.1" and "podIP" not in status
    pod = kubelet.pods()[f"{ns}/box"]
    pid = pod.sandbox.pids()["main"]
    for kind in ("pid", "mnt", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{kind}") != os.readlink(f"/proc/self/ns/{kind}")
    wait_for(lambda: pod.logs("main") == "started\n")
    assert any(d.is_dir() for top in _our_cgroup_dirs() for d in top.rglob("*"))  # its cgroup
    # the Summary API reads that cgroup: cpuacct/cpu.stat usage and the memory working set
    from fromscratch.kubelet.stats import _cgroup_usage

    record = pod.run_of("main").handle.container.record()
    from_cgroup = _cgroup_usage(record)
    assert from_cgroup is not None and from_cgroup[1] > 0
    cpu, memory = kubelet.stats.container_usage(pod, "main")
    assert cpu >= from_cgroup[0] and memory > 0
    kubelets.remove(kubelet)
    kubelet.stop()
    assert not os.path.exists(f"/proc/{pid}")
    leftovers = [d for top in _our_cgroup_dirs() for d in top.rglob("*") if d.is_dir()]
    assert leftovers == []


def test_isolated_pod_sees_its_token_files_read_only(api, server, ns, node_name, kubelets, store):
    # the projected ServiceAccount volume is bind-mounted read-only at the standard path
    from fromscratch.api.rbac import enable_rbac

    enable_rbac(server)
    wait_for(lambda: ResourceClient(api, PODS).list(ns) is not None)
    runtime = IsolatedRuntime(store=store, cgroup_root=CGROUP_ROOT)
    kubelet = Kubelet(api, node_name, runtime, capacity=CAPACITY, heartbeat_seconds=60,
                      sync_seconds=0.1)
    kubelets.append(kubelet.start())
    mount = "/var/run/secrets/kubernetes.io/serviceaccount"
    script = (f"cat {mount}/namespace; echo; test -s {mount}/token && echo token; "
              f"touch {mount}/x 2>/dev/null || echo read-only; sleep 60")
    pods = ResourceClient(api, PODS)
    pods.create(ns, {"metadata": {"name": "reader"}, "spec": {"nodeName": node_name, "containers": [
        {"name": "main", "image": "busybox", "command": ["sh", "-c", script]}]}})
    wait_for(lambda: f"{ns}/reader" in kubelet.pods(), timeout=30)
    pod = kubelet.pods()[f"{ns}/reader"]
    wait_for(lambda: "read-only" in pod.logs("main"), timeout=30)
    assert pod.logs("main").split() == [ns, "token", "read-only"]

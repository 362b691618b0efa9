"""Starting and stopping clusters: in-process, as separate processes, and what they leave behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from fromscratch.cluster import Cluster
from fromscratch.cluster.cluster import kubectl_binary

pytestmark = pytest.mark.slow


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="runtime"):
        Cluster(runtime="docker")
    with pytest.raises(ValueError, match="nodes"):
        Cluster(nodes=-1)
    with pytest.raises(RuntimeError, match="not running"):
        Cluster(nodes=1).kubectl("get", "nodes")


def test_stop_ends_every_pod_process_and_thread():
    before = set(threading.enumerate())
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    with Cluster(nodes=1, runtime="process") as c:
        c.kubectl("run", "sleeper", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
        c.wait_for(lambda: c.ready_pods(), timeout=30, message="the Pod to run")
        pids = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
        assert pids, "the Pod should run as a real child process"
        kubeconfig = Path(c.kubeconfig)
    assert not kubeconfig.exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
            {p.pid for p in psutil.Process().children(recursive=True)} & pids
            or set(threading.enumerate()) - before):
        time.sleep(0.1)
    assert not {p.pid for p in psutil.Process().children(recursive=True)} & pids
    assert not [t.name for t in set(threading.enumerate()) - before if t.is_alive()]


def test_add_and_remove_nodes():
    with Cluster(nodes=1, runtime="simulated") as c:
        c.add_node("extra", labels={"disk": "ssd"})
        nodes = json.loads(c.kubectl("get", "nodes", "-o", "json"))["items"]
        extra = next(n for n in nodes if n["metadata"]["name"] == "extra")
        assert extra["metadata"]["labels"]["disk"] == "ssd"
        c.remove_node("extra")
        assert "extra" not in c.kubectl("get", "nodes")
        with pytest.raises(ValueError, match="already"):
            c.add_node("node-1")


@pytest.mark.skipif(os.geteuid() != 0, reason="the isolated runtime needs root")
def test_isolated_runtime_runs_pods_in_their_own_pid_namespace():
    with Cluster(nodes=1, runtime="isolated") as c:
        c.kubectl("run", "whoami", "--image=busybox", "--restart=Never", "--",
                  "sh", "-c", "echo pid=$$$$; sleep 3600")  # $$ escapes $ in a Pod spec
        c.wait_for(lambda: c.ready_pods(), timeout=60, message="the isolated Pod to run")
        out = c.wait_for(lambda: (lambda s: s if "pid=" in s else None)(c.kubectl("logs", "whoami")),
                         timeout=20, message="its output")
        assert out.strip() == "pid=1"  # PID 1 of its own PID namespace
        cgroup_root = c._cgroup_root
    leftovers = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{cgroup_root}")]
    assert leftovers == []


def test_cluster_up_runs_each_component_as_its_own_process(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "fromscratch", "cluster", "up", "--nodes", "1",
                             "--runtime", "process", "--kubeconfig", str(kubeconfig),
                             "--log-dir", str(tmp_path / "logs")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            if kubeconfig.exists():
                out = subprocess.run([kubectl_binary(), "--kubeconfig", str(kubeconfig), "get", "nodes",
                                      "-o", "json"], capture_output=True, text=True)
                if out.returncode == 0:
                    nodes = json.loads(out.stdout)["items"]
                    ready = any(c["type"] == "Ready" and c["status"] == "True"
                                for n in nodes for c in n.get("status", {}).get("conditions", []))
            time.sleep(0.3)
        assert ready, "node-1 never became Ready"
        names = {p.name() + " ".join(p.cmdline()) for p in psutil.Process(proc.pid).children()}
        for module in ("fromscratch apiserver", "fromscratch.controllers", "fromscratch.scheduler",
                       "fromscratch.kubelet"):
            assert any(module in n for n in names), f"{module} is not its own process"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert not kubeconfig.exists()


def test_simulated_runtime_runs_pods_in_real_time_too():
    with Cluster(nodes=2, runtime="simulated") as c:
        c.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=4", "--",
                  "sh", "-c", "echo hi from a simulated shell; sleep 3600")
        pods = c.wait_for(lambda: (lambda p: p if len(p) == 4 else None)(c.ready_pods()), timeout=30,
                          message="four simulated Pods to run")
        assert {p["spec"]["nodeName"] for p in pods} == {"node-1", "node-2"}
        assert c.kubectl("logs", pods[0]["metadata"]["name"]).strip() == "hi from a simulated shell"

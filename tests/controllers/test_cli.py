"""``python -m fromscratch.controllers`` and ``python -m fromscratch.scheduler`` as separate processes."""

from __future__ import annotations

import signal
import subprocess
import sys

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import NODES, PODS, REPLICASETS, ResourceClient
from tests.controllers.helpers import replicaset, wait_for


def start(module: str, *args: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "running" in first or "scheduling" in first, first
    return process


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(15)


def test_controller_manager_and_scheduler_processes_reconcile_through_a_kubeconfig():
    with APIServer() as srv:
        api = srv.client()
        node = ResourceClient(api, NODES).create("", {"metadata": {"name": "worker"}})
        node["status"] = {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
        ResourceClient(api, NODES).update_status(node)
        controllers = start("fromscratch.controllers", "--kubeconfig", srv.kubeconfig_path,
                            "--namespace", "default", "--controllers", "replicaset")
        scheduler = start("fromscratch.scheduler", "--kubeconfig", srv.kubeconfig_path)
        try:
            ResourceClient(api, REPLICASETS).create("default", replicaset("web", 2))
            pods = ResourceClient(api, PODS)
            wait_for(lambda: [p["spec"].get("nodeName") for p in pods.list("default")["items"]]
                     == ["worker", "worker"], timeout=30, message="2 pods bound to the worker")
        finally:
            assert stop(controllers) == 0
            assert stop(scheduler) == 0


def test_unknown_controllers_are_refused():
    result = subprocess.run([sys.executable, "-m", "fromscratch.controllers", "--controllers", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown controllers: nope" in result.stderr

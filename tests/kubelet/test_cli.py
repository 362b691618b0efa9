"""``python -m fromscratch.kubelet`` runs a kubelet against any API server's kubeconfig."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

from fromscratch.controllers.client import PODS, ResourceClient
from tests.kubelet.conftest import pod_manifest, wait_for

KUBECTL = shutil.which("kubectl", path=os.path.dirname(sys.executable)) or shutil.which("kubectl")


def test_cli_kubelet_registers_runs_pods_and_stops_cleanly(server, api, ns, node_name):
    # the node shows Ready in kubectl, a bound Pod becomes Running, SIGTERM exits 0
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch.kubelet", "--kubeconfig", server.kubeconfig_path,
         "--node-name", node_name, "--runtime", "simulated", "--capacity", "cpu=2,memory=1Gi",
         "--register-with-taints", "dedicated=test:NoSchedule"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = json.loads(process.stdout.readline())
        assert started["node"] == node_name and started["port"] > 0
        if KUBECTL:
            out = subprocess.run([KUBECTL, "--kubeconfig", server.kubeconfig_path, "get", "node",
                                  node_name], capture_output=True, text=True, check=True).stdout
            assert " Ready " in out
        pods = ResourceClient(api, PODS)
        pods.create(ns, pod_manifest("cli", node_name, ["sleep", "infinity"]))
        wait_for(lambda: (pods.get(ns, "cli").get("status") or {}).get("phase") == "Running")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, process.stderr.read()


def test_cli_rejects_a_malformed_taint():
    # argparse's usage error names the bad taint
    done = subprocess.run([sys.executable, "-m", "fromscratch.kubelet", "--kubeconfig", "x",
                           "--node-name", "n", "--register-with-taints", "nocolon"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "nocolon" in done.stderr

"""End to end: CPU-burning processes, measured from their cgroups, scaled by the HPA controller
through the API server and the resource metrics API — up under load, down after the window."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from fromscratch.autoscaling.behavior import DEFAULT_BEHAVIOR, Behavior, ScalingPolicy, ScalingRules
from fromscratch.autoscaling.burner import LoadGenerator, ProcessKubelet
from fromscratch.autoscaling.controller import HPAS, HorizontalPodAutoscalerController
from fromscratch.autoscaling.metrics_api import MetricsPublisher
from fromscratch.autoscaling.objects import burner_deployment, hpa_manifest
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, EVENTS, ResourceClient
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.replicaset import ReplicaSetController

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
# a 3 s scale-down window instead of 300 s, a 1 s sync period instead of 15 s
SHORT_WINDOW = Behavior(DEFAULT_BEHAVIOR.scale_up, ScalingRules(3, (ScalingPolicy("Percent", 100, 15),)))


def _wait_for(predicate, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("use_cgroups", [None, False], ids=["cgroups-where-allowed", "process-accounting"])
def test_real_processes_scale_up_under_load_and_down_after_the_window(server, api, ns, use_cgroups):
    kubelet = ProcessKubelet(api, namespace=ns, node_name=f"node-{ns}", startup_seconds=0.3,
                             use_cgroups=use_cgroups)
    publisher = MetricsPublisher(server, kubelet.scraper, node_name=kubelet.node_name, resolution=1.0)
    hpa_controller = HorizontalPodAutoscalerController.with_options(sync_period=1.0)
    load = LoadGenerator(kubelet, rate=30, cost_ms=10)  # 300m of demand
    deployments, hpas = ResourceClient(api, DEPLOYMENTS), ResourceClient(api, HPAS)
    replicas = lambda: deployments.get(ns, "web")["spec"]["replicas"]  # noqa: E731
    try:
        kubelet.start()
        publisher.start()
        with ControllerManager(api, controllers=[ReplicaSetController, DeploymentController,
                                                 hpa_controller], namespace=ns):
            deployments.create(ns, burner_deployment("web", namespace=ns, cpu_request="100m"))
            hpas.create(ns, hpa_manifest("web", namespace=ns, cpu_percent=50, max_replicas=4,
                                         behavior=SHORT_WINDOW))
            _wait_for(lambda: len(kubelet.ready_pods()) == 1, 10)
            load.start()
            # 300m against 50m per Pod -> 6, clamped to maxReplicas 4; all four really run
            _wait_for(lambda: replicas() == 4 and len(kubelet.ready_pods()) == 4, 20)
            # the controller said why, in Events (utilisation itself depends on how busy the host is)
            events = ResourceClient(api, EVENTS).list(ns)["items"]
            assert any(e["reason"] == "SuccessfulRescale" and e["message"].endswith(
                "cpu resource utilization (percentage of request) above target") for e in events)
            def top_pods() -> list[str]:
                top = subprocess.run([str(KUBECTL), "--kubeconfig", server.kubeconfig_path, "top",
                                      "pods", "-n", ns, "--no-headers"],
                                     capture_output=True, text=True, timeout=30)
                assert top.returncode == 0, top.stderr
                return top.stdout.splitlines()

            # a new Pod appears in the metrics API once it has been sampled twice
            _wait_for(lambda: len(top_pods()) == 4, 15)
            assert all(line.startswith("web-") for line in top_pods())
            nodes = subprocess.run([str(KUBECTL), "--kubeconfig", server.kubeconfig_path, "top",
                                    "node", kubelet.node_name, "--no-headers"],
                                   capture_output=True, text=True, timeout=30)
            assert nodes.returncode == 0 and nodes.stdout.split()[0] == kubelet.node_name, nodes.stderr
            load.stop()
            # the load is gone: after the 3 s window the HPA goes back to minReplicas
            _wait_for(lambda: replicas() == 1, 20)
            _wait_for(lambda: len(kubelet.running) == 1, 10)
    finally:
        load.stop()
        publisher.stop()
        kubelet.stop()
    assert not kubelet.running
    # every Pod's cgroup is gone with it
    assert not any(Path("/sys/fs/cgroup").glob(f"*/fromscratch/hpa-{os.getpid()}"))

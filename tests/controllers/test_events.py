"""Events with upstream's reasons, readable by ``kubectl describe``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, EVENTS, NODES, PODS, ResourceClient
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.replicaset import ReplicaSetController
from fromscratch.scheduler.scheduler import Scheduler
from tests.controllers.helpers import deployment, wait_for

KUBECTL = Path(sys.executable).parent / "kubectl"


def events(api, ns: str) -> list[tuple[str, str, str, str]]:
    return sorted((e["involvedObject"]["kind"], e["reason"], e["source"]["component"], e["message"])
                  for e in ResourceClient(api, EVENTS).list(ns)["items"])


def test_controllers_and_scheduler_record_upstreams_events(api, ns, server):
    node_name = f"{ns}-node"
    node = ResourceClient(api, NODES).create("", {"metadata": {"name": node_name}})
    node["status"] = {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
    ResourceClient(api, NODES).update_status(node)
    try:
        with ControllerManager(api, controllers=[ReplicaSetController, DeploymentController],
                               namespace=ns), Scheduler(api) as scheduler:
            ResourceClient(api, DEPLOYMENTS).create(ns, deployment("web", 2))
            wait_for(lambda: len([e for e in events(api, ns) if e[1] == "Scheduled"]) == 2,
                     message="two Scheduled events")
            scheduler.recorder.flush()
        pods = sorted(p["metadata"]["name"] for p in ResourceClient(api, PODS).list(ns)["items"])
        rs_name = pods[0].rsplit("-", 1)[0]
        seen = events(api, ns)
        assert ("Deployment", "ScalingReplicaSet", "deployment-controller",
                f"Scaled up replica set {rs_name} from 0 to 2") in seen
        for pod in pods:
            assert ("ReplicaSet", "SuccessfulCreate", "replicaset-controller", f"Created pod: {pod}") in seen
            assert ("Pod", "Scheduled", "default-scheduler",
                    f"Successfully assigned {ns}/{pod} to {node_name}") in seen
        if KUBECTL.exists():
            # kubectl describe finds them through the involvedObject field selectors
            out = subprocess.run([str(KUBECTL), "-n", ns, "describe", "deployment", "web"],
                                 capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "KUBECONFIG": server.kubeconfig_path})
            assert out.returncode == 0, out.stderr
            assert "ScalingReplicaSet" in out.stdout and f"Scaled up replica set {rs_name}" in out.stdout
    finally:
        ResourceClient(api, NODES).delete("", node_name)


def test_failed_scheduling_is_a_warning_with_the_fit_error(api, ns):
    with Scheduler(api) as scheduler:
        ResourceClient(api, PODS).create(ns, {"metadata": {"name": "picky"}, "spec": {
            "nodeSelector": {"disk": "nonexistent"}, "containers": [{"name": "c", "image": "nginx"}]}})
        wait_for(lambda: any(e[1] == "FailedScheduling" for e in events(api, ns)), message="the event")
        scheduler.recorder.flush()
    # a retry after back-off may record it again (events are not aggregated here): check each
    failures = [e for e in ResourceClient(api, EVENTS).list(ns)["items"] if e["reason"] == "FailedScheduling"]
    assert failures
    for event in failures:
        assert event["type"] == "Warning"
        assert event["message"].startswith("0/") and "nodes are available" in event["message"]


def test_a_full_buffer_drops_events_instead_of_blocking(api):
    from fromscratch.controllers.events import BUFFER, EventRecorder

    recorder = EventRecorder(api, "test")
    recorder._ensure_started = lambda: None  # no writer: the buffer only fills
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "default"}}
    for _ in range(BUFFER + 5):
        recorder.event(obj, "Normal", "Test", "hello")
    assert recorder.dropped == 5

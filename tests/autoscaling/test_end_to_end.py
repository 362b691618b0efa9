"""End to end on the embedded cluster: the kubelets run CPU-burning processes, metrics-server
scrapes the kubelets' Summary API, and the HPA controller scales the Deployment — up under
load, back down after a (shortened) stabilization window.  Once with plain processes (the
burner, driven by the load generator), once as root with real containers in their own
cgroups (busybox spinners, driven by a switch file)."""

from __future__ import annotations

import json

import psutil
import pytest

from fromscratch.autoscaling.addon import Autoscaling
from fromscratch.autoscaling.behavior import (
    DEFAULT_BEHAVIOR,
    Behavior,
    ScalingPolicy,
    ScalingRules,
    behavior_to_spec,
)
from fromscratch.autoscaling.objects import burner_deployment, spinner_deployment
from fromscratch.cluster import Cluster
from fromscratch.cluster.cluster import best_runtime
from fromscratch.controllers.client import DEPLOYMENTS, EVENTS, ResourceClient

# a 3 s scale-down window instead of 300 s; the HPA syncs every second instead of every 15 s
SHORT_WINDOW = Behavior(DEFAULT_BEHAVIOR.scale_up, ScalingRules(3, (ScalingPolicy("Percent", 100, 15),)))

# what a Deployment needs (the cluster runs every controller by default)
CONTROLLERS = ["replicaset", "deployment", "garbagecollector"]


def _burners(port_dir: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if port_dir in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.mark.slow
def test_real_processes_scale_up_under_load_and_down_after_the_window():
    with Cluster(nodes=2, runtime="process", controllers=CONTROLLERS) as c, \
            Autoscaling(c, sync_period=1.0) as hpa:
        c.apply(json.dumps(burner_deployment("web", cpu_request="100m", port_dir=hpa.port_dir)))
        c.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=4")
        c.kubectl("patch", "hpa", "web", "--type=merge",
                  "-p", json.dumps({"spec": {"behavior": behavior_to_spec(SHORT_WINDOW)}}))
        replicas = lambda: ResourceClient(c.api, DEPLOYMENTS).get("default", "web")["spec"]["replicas"]  # noqa: E731
        c.wait_for(lambda: len(c.ready_pods("default", "app=web")) == 1, timeout=15)

        load = hpa.load("app=web", rate=30, cost_ms=10)  # 300m of demand against 50m per Pod
        # ceil(300 / 50) = 6, clamped to maxReplicas 4; the kubelets really run all four
        c.wait_for(lambda: replicas() == 4 and len(c.ready_pods("default", "app=web")) == 4,
                   timeout=25, message="4 ready replicas under load")
        events = ResourceClient(c.api, EVENTS).list("default")["items"]
        assert any(e["reason"] == "SuccessfulRescale" and e["message"].endswith(
            "cpu resource utilization (percentage of request) above target") for e in events)
        assert len(_burners(str(hpa.port_dir))) == 4
        # kubectl sees what the HPA sees: TARGETS, and the metrics API for every Pod and node
        row = c.kubectl("get", "hpa", "web", "--no-headers").split()
        assert row[0] == "web" and row[1] == "Deployment/web" and row[-4:-2] == ["1", "4"], row
        c.wait_for(lambda: len(c.kubectl("top", "pods", "-l", "app=web", "--no-headers",
                                         check=False).splitlines()) == 4,
                   timeout=10, message="kubectl top pods to list the 4 Pods")
        nodes = [line.split()[0] for line in c.kubectl("top", "nodes", "--no-headers").splitlines()]
        assert nodes == ["node-1", "node-2"]

        load.stop()
        # no load: after the 3 s window the HPA goes back to minReplicas, and the processes end
        c.wait_for(lambda: replicas() == 1, timeout=20, message="scale-down to 1 replica")
        c.wait_for(lambda: len(_burners(str(hpa.port_dir))) == 1, timeout=15,
                   message="the deleted Pods' processes to end")
        port_dir = str(hpa.port_dir)
    assert _burners(port_dir) == []


@pytest.mark.slow
@pytest.mark.skipif(best_runtime() != "isolated", reason="the isolated runtime needs root and real cgroups")
def test_isolated_containers_scale_on_the_cpu_their_cgroups_measure(tmp_path):
    with Cluster(nodes=1, runtime="isolated", controllers=CONTROLLERS) as c, \
            Autoscaling(c, sync_period=1.0):
        # 100m requested, 200m allowed: spinning, a Pod runs at ~200 % of its request
        c.apply(json.dumps(spinner_deployment("spin", switch_dir=tmp_path)))
        c.kubectl("autoscale", "deployment", "spin", "--cpu-percent=50", "--min=1", "--max=3")
        c.kubectl("patch", "hpa", "spin", "--type=merge",
                  "-p", json.dumps({"spec": {"behavior": behavior_to_spec(SHORT_WINDOW)}}))
        replicas = lambda: ResourceClient(c.api, DEPLOYMENTS).get("default", "spin")["spec"]["replicas"]  # noqa: E731
        c.wait_for(lambda: len(c.ready_pods("default", "app=spin")) == 1, timeout=60)
        (tmp_path / "on").touch()
        c.wait_for(lambda: replicas() == 3 and len(c.ready_pods("default", "app=spin")) == 3,
                   timeout=40, message="3 ready replicas while spinning")
        # the cgroup's CFS quota holds each Pod near its 200m limit, whatever it wants
        top = c.kubectl("top", "pods", "-l", "app=spin", "--no-headers").splitlines()
        assert top and all(int(line.split()[1].rstrip("m")) <= 260 for line in top), top
        (tmp_path / "on").unlink()
        c.wait_for(lambda: replicas() == 1, timeout=30, message="scale-down to 1 replica")

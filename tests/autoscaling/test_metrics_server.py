"""The metrics pipeline on a real cluster: kubelets' Summary API -> rates -> PodMetrics/NodeMetrics."""

from __future__ import annotations

import json

import pytest

from fromscratch.autoscaling.addon import Autoscaling
from fromscratch.autoscaling.metrics import MetricsAPIClient
from fromscratch.autoscaling.objects import burner_deployment
from fromscratch.cluster import Cluster
from fromscratch.controllers.client import DEPLOYMENTS, NODES, Resource, ResourceClient

POD_METRICS = Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics")
NODE_METRICS = Resource("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False)

# what a Deployment needs (the cluster runs every controller by default)
CONTROLLERS = ["replicaset", "deployment", "garbagecollector"]


def _pod_metrics(c: Cluster) -> list[dict]:
    return ResourceClient(c.api, POD_METRICS).list("default")["items"]


def _node_metrics(c: Cluster) -> list[str]:
    return [n["metadata"]["name"] for n in ResourceClient(c.api, NODE_METRICS).list()["items"]]


@pytest.mark.slow
def test_pod_metrics_follow_the_load_the_kubelet_measures_and_go_with_the_pod():
    with Cluster(nodes=1, runtime="process", controllers=CONTROLLERS) as c, \
            Autoscaling(c, resolution=0.5) as hpa:
        c.apply(json.dumps(burner_deployment("web", cpu_request="100m", port_dir=hpa.port_dir)))
        c.wait_for(lambda: len(c.ready_pods("default", "app=web")) == 1, timeout=15)
        hpa.load("app=web", rate=20, cost_ms=10)  # 200m of demand
        c.wait_for(lambda: len(_pod_metrics(c)) == 1, timeout=10, message="a PodMetrics")
        # let two more scrapes pass under load, then read it the way the HPA does
        c.wait_for(lambda: MetricsAPIClient(c.api).resource_metrics("default", "app=web", "cpu")
                   .popitem()[1].value >= 100, timeout=10, message="the burner's CPU to show")
        metrics = _pod_metrics(c)[0]
        assert metrics["metadata"]["labels"]["app"] == "web"  # the Pod's labels, copied
        assert [x["name"] for x in metrics["containers"]] == ["burner"]
        value = MetricsAPIClient(c.api).resource_metrics("default", "app=web", "cpu").popitem()[1]
        assert 100 <= value.value <= 400 and 0 < value.window <= 2, value
        node = ResourceClient(c.api, NODE_METRICS).get("", "node-1")
        assert node["usage"]["cpu"].endswith("m") and hpa.metrics.errors == {}
        # the Deployment goes: its Pod's metrics go at the next scrape after the Pod is gone
        ResourceClient(c.api, DEPLOYMENTS).delete("default", "web")
        c.wait_for(lambda: not c.pods("default") and not _pod_metrics(c), timeout=20,
                   message="the Pod and its PodMetrics to go")


@pytest.mark.slow
def test_an_unreachable_kubelet_is_reported_and_its_node_metrics_go():
    with Cluster(nodes=2, runtime="process", controllers=CONTROLLERS) as c, \
            Autoscaling(c, resolution=0.3) as hpa:
        c.wait_for(lambda: len(_node_metrics(c)) == 2, timeout=10)
        node = ResourceClient(c.api, NODES).get("", "node-2")
        node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = 1  # nothing listens there
        ResourceClient(c.api, NODES).update_status(node)
        c.wait_for(lambda: "node-2" in hpa.metrics.errors, timeout=10)
        assert hpa.metrics.errors["node-2"].startswith("unable to fetch metrics from node node-2")
        c.wait_for(lambda: _node_metrics(c) == ["node-1"], timeout=10)

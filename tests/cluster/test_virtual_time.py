"""A simulated cluster in virtual time: minutes of cluster life in a moment.

Checks the node failure story of the Kubernetes docs ("Nodes: heartbeats",
"Taints and tolerations: taint based evictions"): a node whose kubelet stops
renewing its Lease is marked Ready=Unknown after the 40 s grace period and
tainted ``node.kubernetes.io/unreachable``; its Pods, which tolerate that taint
for the default 300 s (DefaultTolerationSeconds admission), are evicted after
those 300 s and their ReplicaSet replaces them on a healthy node.
"""

from __future__ import annotations

import pytest

from fromscratch.cluster import Cluster

pytestmark = pytest.mark.slow

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
"""


def node(cluster: Cluster, name: str) -> dict:
    return cluster.core.read_node(name).to_dict()


def ready_status(cluster: Cluster, name: str) -> str:
    return next(c["status"] for c in node(cluster, name)["status"]["conditions"] if c["type"] == "Ready")


def test_virtual_time_needs_the_simulated_runtime():
    with pytest.raises(ValueError, match="simulated"):
        Cluster(runtime="process", virtual_time=True)
    with pytest.raises(RuntimeError, match="virtual_time"):
        Cluster(nodes=0, runtime="simulated").advance(1)


def test_a_silent_node_is_tainted_and_its_pods_move_after_the_default_300_s():
    with Cluster(nodes=2, virtual_time=True) as c:
        c.apply(DEPLOYMENT)
        c.advance(5)
        pods = c.ready_pods(selector="app=web")
        assert len(pods) == 4
        tolerations = {(t["key"], t.get("tolerationSeconds")) for t in pods[0]["spec"]["tolerations"]}
        assert ("node.kubernetes.io/unreachable", 300) in tolerations
        on_node_1 = {p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == "node-1"}
        assert on_node_1, "the scheduler should spread four Pods over both nodes"

        c.stop_node("node-1")  # the kubelet dies; the Node object stays
        c.advance(30)
        assert ready_status(c, "node-1") == "True"  # within the 40 s grace period
        c.advance(20)
        assert ready_status(c, "node-1") == "Unknown"
        taints = {(t["key"], t["effect"]) for t in node(c, "node-1")["spec"]["taints"]}
        assert taints == {("node.kubernetes.io/unreachable", "NoSchedule"),
                          ("node.kubernetes.io/unreachable", "NoExecute")}

        c.advance(200, step=5)  # tolerated: the Pods stay bound to the silent node
        still = {p["metadata"]["name"] for p in c.pods(selector="app=web")
                 if p["spec"].get("nodeName") == "node-1"}
        assert still == on_node_1
        c.advance(120, step=5)  # 300 s after the taint: evicted, replaced on node-2
        pods = c.ready_pods(selector="app=web")
        assert len(pods) == 4 and {p["spec"]["nodeName"] for p in pods} == {"node-2"}
        assert not on_node_1 & {p["metadata"]["name"] for p in pods}

"""The Pod garbage collector force-deletes Pods no kubelet will ever confirm (virtual time).

The rules: https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection
and kube-controller-manager's podgc (40 s quarantine for a missing node, the out-of-service taint).
"""

from __future__ import annotations

import time

import pytest

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import NODES, PODS, ResourceClient
from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.podgc import OUT_OF_SERVICE, PodGCController
from tests.controllers.helpers import wait_for


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def manager(api, ns, clock):
    with ControllerManager(api, controllers=[PodGCController], clock=clock) as running:
        yield running


def bound_pod(api, ns: str, name: str, node: str) -> dict:
    return ResourceClient(api, PODS).create(ns, {"metadata": {"name": name}, "spec": {
        "nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})


def exists(api, ns: str, name: str) -> bool:
    return any(p["metadata"]["name"] == name for p in ResourceClient(api, PODS).list(ns)["items"])


def test_pods_on_a_missing_node_are_collected_after_the_quarantine(api, ns, clock, manager):
    bound_pod(api, ns, "orphan", f"{ns}-ghost")
    controller = manager["podgc"]
    wait_for(lambda: f"{ns}-ghost" in controller.missing_since, message="the missing node noticed")
    clock.advance(39)
    time.sleep(0.3)  # give a (wrong) deletion the time to happen
    assert exists(api, ns, "orphan")
    clock.advance(2)
    wait_for(lambda: not exists(api, ns, "orphan"), message="the orphan collected")
    assert controller.collected == 1


def test_pods_on_an_existing_node_are_left_to_their_kubelet(api, ns, clock, manager):
    ResourceClient(api, NODES).create("", {"metadata": {"name": f"{ns}-n"}})
    try:
        bound_pod(api, ns, "p", f"{ns}-n")
        ResourceClient(api, PODS).delete(ns, "p")  # graceful: waits for the kubelet
        clock.advance(120)
        time.sleep(0.3)
        assert exists(api, ns, "p")
    finally:
        ResourceClient(api, NODES).delete("", f"{ns}-n")


def test_terminating_pods_on_an_out_of_service_node_are_force_deleted(api, ns, clock, manager):
    nodes = ResourceClient(api, NODES)
    node = nodes.create("", {"metadata": {"name": f"{ns}-dead"}, "spec": {"taints": [
        {"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]}})
    try:
        node["status"] = {"conditions": [{"type": "Ready", "status": "Unknown"}]}
        nodes.update_status(node)
        bound_pod(api, ns, "stuck", f"{ns}-dead")
        ResourceClient(api, PODS).delete(ns, "stuck")  # no kubelet will ever confirm this
        wait_for(lambda: not exists(api, ns, "stuck"), message="the stuck Pod force-deleted")
    finally:
        nodes.delete("", f"{ns}-dead")

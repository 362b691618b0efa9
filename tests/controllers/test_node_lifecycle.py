"""Node lifecycle and taint-based eviction, in virtual time against our API server.

The rules: https://kubernetes.io/docs/concepts/architecture/nodes/ (heartbeats, the node
controller's 40 s grace period) and
https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
(NoExecute, tolerationSeconds, the 300 s default tolerations).
"""

from __future__ import annotations

import time

import pytest

from fromscratch.api.admission_plugins import enable_admission_plugins
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import EVENTS, NODES, PODS, ResourceClient
from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.nodelifecycle import (
    LEASES,
    NOT_READY,
    UNREACHABLE,
    NodeLifecycleController,
    reconcile_taints,
    wanted_taints,
)
from fromscratch.controllers.podutil import condition, format_time
from fromscratch.controllers.taint_eviction import TaintEvictionController, eviction_time
from tests.controllers.helpers import wait_for

START = 1_700_000_000.0
GRACE = 40.0


def node_with(ready: str | None, *, unschedulable: bool = False, **conditions: str) -> dict:
    conds = [{"type": k, "status": v} for k, v in conditions.items()]
    if ready is not None:
        conds.append({"type": "Ready", "status": ready})
    return {"metadata": {"name": "n"}, "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conds}}


def taint(key: str, effect: str = "NoExecute", added: float | None = None, value: str = "") -> dict:
    t = {"key": key, "effect": effect}
    if value:
        t["value"] = value
    if added is not None:
        t["timeAdded"] = format_time(added)
    return t


# --- decisions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("node, wanted", [
    (node_with("True"), []),
    (node_with("False"), [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]),
    (node_with("Unknown"), [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]),
    (node_with("True", MemoryPressure="True"), [("node.kubernetes.io/memory-pressure",
                                                 "NoSchedule")]),
    (node_with("True", unschedulable=True), [("node.kubernetes.io/unschedulable", "NoSchedule")]),
])
def test_taints_follow_node_conditions(node, wanted):
    assert wanted_taints(node) == wanted


def test_reconciling_taints_keeps_other_taints_and_old_time_added():
    mine = taint(UNREACHABLE, added=START)
    theirs = taint("foo", "NoSchedule", value="bar")
    stale = taint(NOT_READY, added=START)
    result = reconcile_taints([theirs, mine, stale],
                              [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")],
                              format_time(START + 60))
    assert result == [theirs, mine, taint(UNREACHABLE, "NoSchedule", added=START + 60)]


DEFAULT_TOLERATIONS = [
    {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


@pytest.mark.parametrize("taints, tolerations, expected", [
    ([], [], None),  # nothing to flee
    ([taint("foo", "NoSchedule")], [], None),  # only NoExecute evicts running Pods
    ([taint("foo")], [], float("-inf")),  # not tolerated: now
    ([taint(UNREACHABLE, added=START)], DEFAULT_TOLERATIONS, START + 300),
    ([taint(UNREACHABLE, added=START)], [{"operator": "Exists"}], None),  # tolerated forever
    ([taint(UNREACHABLE, added=START), taint(NOT_READY, added=START + 100)],
     [DEFAULT_TOLERATIONS[0] | {"tolerationSeconds": 50}, DEFAULT_TOLERATIONS[1]],
     START + 150),  # the earliest deadline wins
    ([taint(UNREACHABLE, added=START)],
     [DEFAULT_TOLERATIONS[1] | {"tolerationSeconds": -5}], START),  # negative means 0
    ([taint("foo", value="bar")], [{"key": "foo", "value": "baz", "effect": "NoExecute"}],
     float("-inf")),  # Equal compares the value
])
def test_eviction_time_follows_the_documented_rules(taints, tolerations, expected):
    assert eviction_time(taints, tolerations) == expected


# --- against the API server ----------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def admission(server):
    enable_admission_plugins(server, ["DefaultTolerationSeconds"])


@pytest.fixture
def clock():
    return FakeClock(start=START)


@pytest.fixture
def manager(api, clock):
    with ControllerManager(api, controllers=[NodeLifecycleController, TaintEvictionController],
                           clock=clock) as running:
        yield running


class Node:
    """A node object plus its Lease: what a kubelet writes, done by hand."""

    def __init__(self, api, name: str, clock: FakeClock) -> None:
        self.api, self.name, self.clock = api, name, clock
        self.nodes, self.leases = ResourceClient(api, NODES), ResourceClient(api, LEASES)
        node = self.nodes.create("", {"metadata": {"name": name}})
        self.post_status("True")
        self.leases.create("kube-node-lease", {"metadata": {"name": name}, "spec": {
            "holderIdentity": name, "leaseDurationSeconds": 40,
            "renewTime": self._now(micro=True)}})
        assert node

    def _now(self, micro: bool = False) -> str:
        text = format_time(self.clock.wall())
        return text.replace("Z", ".000000Z") if micro else text

    def post_status(self, ready: str) -> None:
        node = self.nodes.get("", self.name)
        node["status"] = {"conditions": [{
            "type": "Ready", "status": ready, "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": self._now(),
            "lastTransitionTime": self._now()}]}
        self.nodes.update_status(node)

    def renew(self) -> None:
        lease = self.leases.get("kube-node-lease", self.name)
        lease["spec"]["renewTime"] = self._now(micro=True)
        self.leases.update(lease)

    def get(self) -> dict:
        return self.nodes.get("", self.name)

    def taints(self) -> list[tuple[str, str]]:
        return [(t["key"], t["effect"]) for t in (self.get().get("spec") or {}).get("taints") or []]

    def delete(self) -> None:
        self.nodes.delete("", self.name)
        self.leases.delete("kube-node-lease", self.name)


@pytest.fixture
def node(api, ns, clock):
    made = Node(api, f"{ns}-node", clock)
    yield made
    made.delete()


def seen_by(manager: ControllerManager, node: Node) -> None:
    """Wait until the controller has seen the node's latest heartbeats (Lease and status)."""
    controller = manager["nodelifecycle"]
    lease = ResourceClient(node.api, LEASES).get("kube-node-lease", node.name)
    latest = (lease["spec"]["renewTime"], condition(node.get(), "Ready")["lastHeartbeatTime"])
    wait_for(lambda: node.name in controller.health and controller.health[node.name][0] == latest,
             message="the controller to see the node's heartbeats")


def look_now(manager: ControllerManager, node: Node) -> None:
    """Have the controller judge the node once more, and wait until it has."""
    controller = manager["nodelifecycle"]
    before = controller.reconciles
    controller.queue.add(node.name)
    wait_for(lambda: controller.reconciles > before and len(controller.queue) == 0,
             message="a re-check")
    time.sleep(0.2)  # the reconcile's writes, if any, land


def ready_status(node: Node) -> str:
    return (condition(node.get(), "Ready") or {}).get("status", "")


def run_pod(api, ns: str, name: str, node: Node, **spec) -> dict:
    """A Pod bound to the node, Running and Ready, as the kubelet would report it."""
    pods = ResourceClient(api, PODS)
    pod = pods.create(ns, {"metadata": {"name": name}, "spec": {
        "nodeName": node.name, "containers": [{"name": "c", "image": "busybox"}], **spec}})
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    return pods.update_status(pod)


def test_a_silent_node_turns_unknown_after_the_grace_period_and_is_tainted(manager, node, clock):
    seen_by(manager, node)
    clock.advance(GRACE - 1)
    look_now(manager, node)  # still inside the grace period
    assert ready_status(node) == "True" and node.taints() == []
    clock.advance(2)  # 41 s without a heartbeat
    wait_for(lambda: ready_status(node) == "Unknown", message="Ready=Unknown")
    ready = condition(node.get(), "Ready")
    assert (ready["reason"], ready["message"]) == ("NodeStatusUnknown",
                                                   "Kubelet stopped posting node status.")
    wait_for(lambda: len(node.taints()) == 2, message="the unreachable taints")
    assert sorted(node.taints()) == [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    assert all(t["timeAdded"] == format_time(START + GRACE + 1) for t in node.get()["spec"]["taints"])


def test_renewing_the_lease_keeps_a_node_ready(manager, node, clock):
    seen_by(manager, node)
    controller = manager["nodelifecycle"]
    for _ in range(4):  # 2 minutes, a renewal every 30 s: never 40 s of silence
        clock.advance(30)
        node.renew()
        renewed = ResourceClient(node.api, LEASES).get("kube-node-lease", node.name)
        wait_for(lambda stamp=renewed["spec"]["renewTime"]: controller.health[node.name][0][0]
                 == stamp, message="the controller to see the renewal")
    clock.advance(GRACE - 10)
    look_now(manager, node)
    assert ready_status(node) == "True" and node.taints() == []


def test_a_node_that_comes_back_loses_its_taints(manager, node, clock):
    seen_by(manager, node)
    clock.advance(GRACE + 1)
    wait_for(lambda: len(node.taints()) == 2, message="the unreachable taints")
    node.renew()
    node.post_status("True")  # the kubelet is back and says so
    wait_for(lambda: node.taints() == [], message="the taints to go")


def test_a_node_reporting_not_ready_gets_the_not_ready_taints(manager, node):
    seen_by(manager, node)
    node.post_status("False")
    wait_for(lambda: sorted(node.taints()) == [(NOT_READY, "NoExecute"),
                                               (NOT_READY, "NoSchedule")],
             message="the not-ready taints")


def test_cordoning_adds_the_unschedulable_taint(manager, node, api):
    seen_by(manager, node)
    ResourceClient(api, NODES).patch("", node.name, {"spec": {"unschedulable": True}})
    wait_for(lambda: node.taints() == [("node.kubernetes.io/unschedulable", "NoSchedule")],
             message="the unschedulable taint")


def test_pods_on_an_unreachable_node_are_marked_not_ready(manager, node, clock, api, ns):
    run_pod(api, ns, "web", node)
    seen_by(manager, node)
    clock.advance(GRACE + 1)
    pods = ResourceClient(api, PODS)
    wait_for(lambda: (condition(pods.get(ns, "web"), "Ready") or {}).get("status") == "False",
             message="the Pod's Ready=False")
    events = ResourceClient(api, EVENTS)
    wait_for(lambda: [e for e in events.list(ns)["items"] if e["reason"] == "NodeNotReady"],
             message="the NodeNotReady event")


def test_default_tolerations_evict_pods_300_seconds_after_the_taint(manager, node, clock, api,
                                                                     ns):
    pod = run_pod(api, ns, "web", node)
    # the DefaultTolerationSeconds admission plugin gave it 300 s for not-ready/unreachable
    assert [t for t in pod["spec"]["tolerations"] if t["key"] == UNREACHABLE][0][
        "tolerationSeconds"] == 300
    seen_by(manager, node)
    clock.advance(GRACE + 1)  # unreachable, tainted at START + 41
    wait_for(lambda: len(node.taints()) == 2, message="the unreachable taints")
    pods = ResourceClient(api, PODS)
    taint_manager = manager["taint-eviction"]
    wait_for(lambda: f"{ns}/web" in taint_manager.scheduled, message="the eviction scheduled")
    assert taint_manager.scheduled[f"{ns}/web"] == START + GRACE + 1 + 300
    clock.advance(299)
    assert not pods.get(ns, "web")["metadata"].get("deletionTimestamp")
    clock.advance(2)
    wait_for(lambda: pods.get(ns, "web")["metadata"].get("deletionTimestamp"),
             message="the Pod's deletion")
    target = condition(pods.get(ns, "web"), "DisruptionTarget")
    assert (target["status"], target["reason"]) == ("True", "DeletionByTaintManager")


def test_an_untolerated_no_execute_taint_evicts_at_once_and_a_forever_toleration_stays(
        manager, node, api, ns):
    run_pod(api, ns, "plain", node)
    run_pod(api, ns, "tolerant", node, tolerations=[{"key": "maintenance",
                                                     "operator": "Exists"}])
    seen_by(manager, node)
    current = node.get()
    current.setdefault("spec", {})["taints"] = [{"key": "maintenance", "value": "now", "effect": "NoExecute"}]
    ResourceClient(api, NODES).update(current)
    pods = ResourceClient(api, PODS)
    wait_for(lambda: pods.get(ns, "plain")["metadata"].get("deletionTimestamp"),
             message="the untolerating Pod's deletion")
    assert not pods.get(ns, "tolerant")["metadata"].get("deletionTimestamp")


def test_removing_the_taint_in_time_cancels_the_eviction(manager, node, clock, api, ns):
    run_pod(api, ns, "web", node)
    seen_by(manager, node)
    clock.advance(GRACE + 1)
    taint_manager = manager["taint-eviction"]
    wait_for(lambda: f"{ns}/web" in taint_manager.scheduled, message="the eviction scheduled")
    node.renew()
    node.post_status("True")
    wait_for(lambda: f"{ns}/web" not in taint_manager.scheduled, message="the cancellation")
    clock.advance(400)
    assert not ResourceClient(api, PODS).get(ns, "web")["metadata"].get("deletionTimestamp")


# --- a whole cluster, in virtual time ------------------------------------------------------------
def test_a_failed_nodes_pods_are_replaced_elsewhere_300_seconds_after_it_went_silent():
    from fromscratch.cluster import Cluster
    from fromscratch.controllers.podutil import parse_time

    with Cluster(nodes=2, virtual_time=True) as cluster:
        cluster.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=2", "--",
                        "sleep", "3600")
        cluster.advance(5)
        victim = cluster.ready_pods()[0]
        dead, alive = victim["spec"]["nodeName"], ({"node-1", "node-2"} - {
            victim["spec"]["nodeName"]}).pop()
        cluster.stop_node(dead)  # no more Lease renewals, no more status
        cluster.advance(45, step=5)
        # subtle: settle() may return while a worker is between two writes; poll for both
        nodes, pods = ResourceClient(cluster.api, NODES), ResourceClient(cluster.api, PODS)
        node = wait_for(lambda: (lambda n: n if len((n.get("spec") or {}).get("taints") or [])
                                 == 2 else None)(nodes.get("", dead)), message="the taints")
        assert condition(node, "Ready")["status"] == "Unknown"
        assert sorted((t["key"], t["effect"]) for t in node["spec"]["taints"]) == [
            (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
        wait_for(lambda: condition(pods.get("default", victim["metadata"]["name"]), "Ready")[
            "status"] == "False", message="the Pod marked not Ready")
        # the 300 s default toleration runs from the taint's timeAdded
        added = parse_time(node["spec"]["taints"][0]["timeAdded"])
        cluster.advance(added + 300 - cluster.clock.now() - 2, step=10)
        assert not pods.get("default", victim["metadata"]["name"])["metadata"].get(
            "deletionTimestamp")
        cluster.advance(10, step=2)
        wait_for(lambda: pods.get("default", victim["metadata"]["name"])["metadata"].get(
            "deletionTimestamp"), message="the eviction")
        cluster.advance(5)
        ready = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(cluster.ready_pods()),
                         message="a replacement Pod running")
        assert {p["spec"]["nodeName"] for p in ready} == {alive}

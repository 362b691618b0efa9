"""The scheduler against the API server: binding, the why record, waiting for room."""

from __future__ import annotations

import pytest

from fromscratch.controllers.client import NODES, PODS, ResourceClient
from fromscratch.scheduler.scheduler import Scheduler
from tests.controllers.helpers import wait_for


@pytest.fixture
def cluster(api, ns):
    """Nodes named after the test's namespace (nodes are cluster-wide), cleaned up after."""
    nodes = ResourceClient(api, NODES)
    made: list[str] = []

    def add_node(name: str, cpu: str = "2", memory: str = "4Gi", *, taints=None, labels=None) -> str:
        full = f"{ns}-{name}"
        created = nodes.create("", {"metadata": {"name": full, "labels": labels or {}},
                                    "spec": {"taints": taints or []}})
        created["status"] = {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                             "capacity": {"cpu": cpu, "memory": memory, "pods": "110"}}
        nodes.update_status(created)
        made.append(full)
        return full

    yield add_node
    for name in made:
        nodes.delete("", name)


@pytest.fixture
def scheduler(api, ns):
    with Scheduler(api) as sched:
        yield sched


def make_pod(api, ns: str, name: str, cpu: str = "100m", **spec) -> None:
    ResourceClient(api, PODS).create(ns, {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}],
        **spec}})


def seen(scheduler: Scheduler, *nodes: str) -> None:
    """Wait until the scheduler's cache holds these nodes with their allocatable resources."""
    wait_for(lambda: all(((scheduler.nodes.get("", n) or {}).get("status") or {}).get("allocatable")
                         for n in nodes), message="the scheduler's node cache")


def node_of(api, ns: str, name: str) -> str | None:
    return ResourceClient(api, PODS).get(ns, name)["spec"].get("nodeName")


def test_pods_are_bound_to_the_least_allocated_node(api, ns, cluster, scheduler):
    small, big = cluster("small", cpu="2"), cluster("big", cpu="8")
    seen(scheduler, small, big)
    make_pod(api, ns, "p", cpu="1")
    assert wait_for(lambda: node_of(api, ns, "p")) == big
    decision = scheduler.decisions[f"{ns}/p"]
    assert decision.node == big
    assert decision.scores[big]["NodeResourcesFit"] > decision.scores[small]["NodeResourcesFit"]
    conditions = ResourceClient(api, PODS).get(ns, "p")["status"]["conditions"]
    assert {"type": "PodScheduled", "status": "True"}.items() <= conditions[-1].items()


def test_an_unschedulable_pod_records_why_and_waits_for_a_new_node(api, ns, cluster, scheduler):
    seen(scheduler, cluster("tainted", taints=[{"key": "foo", "value": "bar", "effect": "NoSchedule"}]),
         cluster("tiny", cpu="500m"))
    make_pod(api, ns, "p", cpu="1")
    message = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {foo: bar}."
    condition = wait_for(lambda: next((c for c in ResourceClient(api, PODS).get(ns, "p")["status"].get(
        "conditions") or [] if c["reason" if "reason" in c else "type"] == "Unschedulable"), None),
        message="the Unschedulable condition")
    # other tests' nodes may exist too: the message counts every node in the cluster
    assert condition["status"] == "False"
    assert scheduler.decisions[f"{ns}/p"].rejected[f"{ns}-tiny"] == ["Insufficient cpu"]
    if len(ResourceClient(api, NODES).list()["items"]) == 2:
        assert condition["message"] == message
    roomy = cluster("roomy", cpu="4")
    assert wait_for(lambda: node_of(api, ns, "p"), message="binding after the node joined") == roomy


def test_a_pod_tolerating_the_master_taint_may_land_there(api, ns, cluster, scheduler):
    master = cluster("master", cpu="8", taints=[{"key": "foo", "value": "bar", "effect": "NoSchedule"}])
    seen(scheduler, master)
    make_pod(api, ns, "tolerant", nodeSelector={"role": "master"},
             tolerations=[{"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}])
    ResourceClient(api, NODES).patch("", master, {"metadata": {"labels": {"role": "master"}}})
    assert wait_for(lambda: node_of(api, ns, "tolerant")) == master


def test_assumed_pods_count_before_the_informer_sees_the_binding(api, ns, cluster, scheduler):
    # two 1.5-cpu Pods and two 2-cpu nodes: the second must go to the other node
    first, second = cluster("one", cpu="2"), cluster("two", cpu="2")
    seen(scheduler, first, second)
    make_pod(api, ns, "a", cpu="1500m")
    make_pod(api, ns, "b", cpu="1500m")
    placed = wait_for(lambda: (a := node_of(api, ns, "a")) and (b := node_of(api, ns, "b")) and {a, b})
    assert placed == {first, second}


def test_pods_of_another_scheduler_are_left_alone(api, ns, cluster, scheduler):
    seen(scheduler, cluster("any", cpu="4"))
    make_pod(api, ns, "custom", schedulerName="my-scheduler")
    make_pod(api, ns, "normal")
    wait_for(lambda: node_of(api, ns, "normal"))
    assert node_of(api, ns, "custom") is None

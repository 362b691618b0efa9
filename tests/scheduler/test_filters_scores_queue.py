"""Filters, scores and the scheduling queue, as pure functions on a fake clock."""

from __future__ import annotations

import pytest

from fromscratch.controllers.clock import FakeClock
from fromscratch.scheduler.filters import NodeInfo, pod_requests
from fromscratch.scheduler.filters import filter_node as _filter_node
from fromscratch.scheduler.queue import SchedulingQueue
from fromscratch.scheduler.scheduler import fit_error_message, nodes_to_find
from fromscratch.scheduler.scores import least_allocated_score as _least_allocated
from fromscratch.scheduler.scores import normalize, score_nodes


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110", *, labels=None,
         taints=None, unschedulable: bool = False) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


_PODS = iter(range(10**9))


def pod(cpu: str | None = None, memory: str | None = None, **spec) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"metadata": {"name": f"p{next(_PODS)}", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": requests}}],
                     **spec}}


def filter_node(pod_: dict, node_: dict, pods: list[dict]) -> list[str]:
    return _filter_node(pod_, NodeInfo.of(node_, pods))


def least_allocated_score(pod_: dict, node_: dict, pods: list[dict]) -> int:
    return _least_allocated(pod_, NodeInfo.of(node_, pods))


def test_pod_requests_sum_containers_and_take_the_larger_init_container():
    spec_pod = {"spec": {"containers": [
        {"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
        {"resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}],  # limits stand in for requests
        "initContainers": [{"resources": {"requests": {"cpu": "2", "memory": "1Mi"}}}],
        "overhead": {"cpu": "10m"}}}
    assert pod_requests(spec_pod) == (2010, 192 * 1024 * 1024)


def test_resources_that_do_not_fit_are_named():
    full = [pod("3", "7Gi")]
    assert filter_node(pod("2", "2Gi"), node("n"), full) == ["Insufficient cpu", "Insufficient memory"]
    assert filter_node(pod("1", "1Gi"), node("n"), full) == []


def test_pod_count_is_a_resource_too():
    assert filter_node(pod(), node("n", pods="2"), [pod(), pod()]) == ["Too many pods"]


def test_cordoned_nodes_take_no_pods_unless_tolerated():
    cordoned = node("n", unschedulable=True)
    assert filter_node(pod(), cordoned, []) == ["node(s) were unschedulable"]
    tolerant = pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                 "effect": "NoSchedule"}])
    assert filter_node(tolerant, cordoned, []) == []


def test_the_seed_example_foo_bar_no_schedule_master():
    # a tainted master (foo=bar:NoSchedule) and a Pod that tolerates it
    master = node("master", taints=[{"key": "foo", "value": "bar", "effect": "NoSchedule"}])
    assert filter_node(pod(), master, []) == ["node(s) had untolerated taint {foo: bar}"]
    tolerant = pod(tolerations=[{"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}])
    assert filter_node(tolerant, master, []) == []


def test_prefer_no_schedule_does_not_filter():
    soft = node("n", taints=[{"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}])
    assert filter_node(pod(), soft, []) == []


def test_node_selector_mismatch_is_the_affinity_reason():
    assert filter_node(pod(nodeSelector={"disk": "ssd"}), node("n"), []) == \
        ["node(s) didn't match Pod's node affinity/selector"]


def test_fit_error_message_counts_reasons_like_kube_scheduler():
    rejected = {"a": ["Insufficient cpu"], "b": ["node(s) had untolerated taint {foo: bar}"],
                "c": ["node(s) had untolerated taint {foo: bar}"]}
    assert fit_error_message(3, rejected) == \
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {foo: bar}."


def test_least_allocated_matches_upstreams_differently_sized_machines_case():
    # least_allocated_test.go: 3000m / 5000 bytes requested; 4000m/10000 -> 37, 6000m/10000 -> 50
    p = pod("3000m", "5000")
    assert least_allocated_score(p, node("a", cpu="4000m", memory="10000"), []) == 37
    assert least_allocated_score(p, node("b", cpu="6000m", memory="10000"), []) == 50


def test_least_allocated_counts_default_requests_for_empty_pods():
    # no requests: counted as 100m and 200Mi when scoring, so empty Pods spread out
    empty = pod()
    busy = least_allocated_score(empty, node("a", cpu="1", memory="1Gi"), [pod(), pod()])
    idle = least_allocated_score(empty, node("b", cpu="1", memory="1Gi"), [])
    assert (idle, busy) == (((900 * 100 // 1000) + (824 * 100 // 1024)) // 2,
                            ((700 * 100 // 1000) + (424 * 100 // 1024)) // 2)


def test_normalize_scales_to_100_and_reverses():
    assert normalize({"a": 1, "b": 51}) == {"a": 1, "b": 100}
    assert normalize({"a": 0, "b": 2}, reverse=True) == {"a": 100, "b": 0}
    assert normalize({"a": 0, "b": 0}, reverse=True) == {"a": 100, "b": 100}
    assert normalize({"a": 0}) == {"a": 0}


def test_preferences_and_soft_taints_move_the_total_with_upstream_weights():
    preferring = pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In",
                                                             "values": ["a"]}]}}]}})
    nodes = [node("a", labels={"zone": "a"}),
             node("b", taints=[{"key": "spot", "value": "1", "effect": "PreferNoSchedule"}]),
             node("c")]
    scores = score_nodes(preferring, [NodeInfo.of(n) for n in nodes])
    assert scores["a"]["NodeAffinity"] == 100 and scores["c"]["NodeAffinity"] == 0
    assert scores["b"]["TaintToleration"] == 0 and scores["c"]["TaintToleration"] == 100
    assert scores["a"]["total"] == 3 * 100 + 2 * 100 + scores["a"]["NodeResourcesFit"]
    assert max(scores, key=lambda n: scores[n]["total"]) == "a"


# --- the queue ------------------------------------------------------------------------------------------
def test_higher_priority_pods_are_tried_first_then_the_oldest():
    clock = FakeClock()
    queue = SchedulingQueue(clock)
    queue.add("ns/low", 0)
    clock.advance(1)
    queue.add("ns/high", 100)
    queue.add("ns/low2", 0)
    assert [queue.pop(timeout=0).key for _ in range(3)] == ["ns/high", "ns/low", "ns/low2"]
    assert queue.pop(timeout=0) is None


def test_failed_pods_back_off_exponentially_up_to_10_seconds():
    clock = FakeClock()
    queue = SchedulingQueue(clock)
    assert [queue.backoff_for(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    queue.add("ns/p")
    queue.requeue_error(queue.pop(timeout=0))  # attempt 1: 1 s
    assert queue.pop(timeout=0) is None
    clock.advance(1)
    info = queue.pop(timeout=0)
    assert info.key == "ns/p" and info.attempts == 2
    queue.requeue_error(info)  # attempt 2: 2 s
    clock.advance(1.5)
    assert queue.pop(timeout=0) is None
    clock.advance(0.5)
    assert queue.pop(timeout=0).key == "ns/p"


def test_unschedulable_pods_wait_for_a_cluster_event_or_five_minutes():
    clock = FakeClock()
    queue = SchedulingQueue(clock)
    queue.add("ns/p")
    queue.requeue_unschedulable(queue.pop(timeout=0))
    clock.advance(60)
    assert queue.pop(timeout=0) is None and queue.counts()["unschedulable"] == 1
    assert queue.move_all_to_active() == 1  # a node joined
    clock.advance(1)
    info = queue.pop(timeout=0)
    assert info.key == "ns/p"
    queue.requeue_unschedulable(info)  # still no room: without any event, retried after 5 minutes
    clock.advance(299)
    assert queue.pop(timeout=0) is None
    clock.advance(1)
    assert queue.pop(timeout=0).key == "ns/p"


def test_a_pod_already_queued_is_not_queued_twice():
    queue = SchedulingQueue(FakeClock())
    queue.add("ns/p")
    queue.add("ns/p")
    assert queue.pop(timeout=0).key == "ns/p"
    assert queue.pop(timeout=0) is None


@pytest.mark.parametrize("bad", ["lots", "-1"])
def test_bad_quantities_raise(bad):
    with pytest.raises(ValueError):
        pod_requests(pod(cpu=bad))


def test_a_cluster_event_during_the_attempt_is_not_lost():
    # the node that makes the Pod fit joins while the scheduler is still deciding
    clock = FakeClock()
    queue = SchedulingQueue(clock)
    queue.add("ns/p")
    info = queue.pop(timeout=0)
    queue.move_all_to_active()
    queue.requeue_unschedulable(info)
    assert queue.counts()["backoff"] == 1
    clock.advance(1)
    assert queue.pop(timeout=0).key == "ns/p"


def test_node_info_sums_requests_incrementally():
    info = NodeInfo.of(node("n"), [pod("1", "1Gi"), pod()])
    assert info.requested == (1000, 1024**3)
    assert info.non_zero_requested == (1100, 1024**3 + 200 * 1024**2)
    info.remove(next(iter(info.pods)))
    assert info.requested == (0, 0)


@pytest.mark.parametrize(("nodes", "expected"), [
    (50, 50),  # small clusters: every node
    (100, 100),
    (1000, 420),  # 50% - 1000/125 = 42%
    (5000, 500),  # 10%
    (6000, 300),  # floor of 5%
    (200, 100),  # never fewer than 100
])
def test_percentage_of_nodes_to_score(nodes, expected):
    assert nodes_to_find(nodes) == expected


def test_scoring_defaults_replace_only_missing_requests_per_container():
    # upstream GetNonzeroRequestForResource: "override if un-set, but not if explicitly set to zero"
    from fromscratch.scheduler.filters import non_zero_requests

    def pod_of(*requests):
        return {"spec": {"containers": [{"name": f"c{i}", "resources": {"requests": r}}
                                        for i, r in enumerate(requests)]}}

    assert non_zero_requests(pod_of({})) == (100, 200 * 1024 * 1024)
    assert non_zero_requests(pod_of({"cpu": "0", "memory": "0"})) == (0, 0)
    assert non_zero_requests(pod_of({"cpu": "250m"}, {})) == (350, 400 * 1024 * 1024)

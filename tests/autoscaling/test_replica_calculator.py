"""The replica calculator against the cases of Kubernetes' own replica_calculator_test.go."""

from __future__ import annotations

import pytest

from fromscratch.autoscaling.metrics import FixedMetrics
from fromscratch.autoscaling.replicas import (
    PodSample,
    ReplicaCalculationError,
    desired_replicas,
    plain_replicas,
    pod_request,
    pod_state,
    replicas_from_samples,
    samples_for,
    utilization_ratio,
)
from tests.autoscaling.helpers import LONG_AGO, NOW, pod

# (name, current replicas, pods, metric levels in millicores, target %, expected replicas)
# from pkg/controller/podautoscaler/replica_calculator_test.go; every pod requests 1 CPU
UPSTREAM_CASES = [
    ("ScaleUp", 3, [pod("a"), pod("b"), pod("c")], {"a": 300, "b": 500, "c": 700}, 30, 5),
    ("ScaleUpUnreadyLessScale", 3, [pod("a", ready=False), pod("b"), pod("c")],
     {"a": 300, "b": 500, "c": 700}, 30, 4),
    ("ScaleUpUnreadyNoScale", 3, [pod("a"), pod("b", ready=False), pod("c", ready=False)],
     {"a": 400, "b": 500, "c": 700}, 30, 3),
    ("ScaleUpIgnoresFailedPods", 2, [pod("a"), pod("b"), pod("c", phase="Failed", ready=False),
                                     pod("d", phase="Failed", ready=False)],
     {"a": 500, "b": 700, "c": 0, "d": 0}, 30, 4),
    ("ScaleUpIgnoresDeletionPods", 2, [pod("a"), pod("b"), pod("c", deleting=True),
                                       pod("d", deleting=True)],
     {"a": 500, "b": 700, "c": 0, "d": 0}, 30, 4),
    ("ScaleDown", 5, [pod(n) for n in "abcde"],
     {"a": 100, "b": 300, "c": 500, "d": 250, "e": 250}, 50, 3),
    ("ScaleDownIgnoresUnreadyPods", 5, [pod("a"), pod("b"), pod("c"), pod("d", ready=False),
                                        pod("e", ready=False)],
     {"a": 100, "b": 300, "c": 500, "d": 250, "e": 250}, 50, 2),
    ("SuperfluousMetrics", 4, [pod(n) for n in "abcd"],
     {"a": 4000, "b": 9500, "c": 3000, "d": 7000, "e": 3200, "f": 2000}, 100, 24),
    ("MissingMetrics", 4, [pod(n) for n in "abcd"], {"a": 400, "b": 95}, 100, 3),
    ("MissingMetricsNoChangeEq", 2, [pod("a"), pod("b")], {"a": 1000}, 100, 2),
]


def _calculate(current: int, pods: list, levels: dict[str, int], target: int) -> int:
    samples = samples_for(pods, FixedMetrics(levels, timestamp=NOW).resource_metrics("default", "", "cpu"),
                          "cpu", now=NOW)
    return replicas_from_samples(samples, current, target)


@pytest.mark.parametrize(("name", "current", "pods", "levels", "target", "expected"), UPSTREAM_CASES,
                         ids=[c[0] for c in UPSTREAM_CASES])
def test_upstream_replica_calculator_cases(name, current, pods, levels, target, expected):
    # the same inputs give the same replica count as kube-controller-manager
    assert _calculate(current, pods, levels, target) == expected


def test_two_containers_per_pod_sum_requests_and_usage():
    # upstream runs its cases with two containers per Pod: requests and usage are summed
    pods = [pod(n, containers=2) for n in "abc"]
    assert _calculate(3, pods, {"a": 600, "b": 1000, "c": 1400}, 30) == 5


def test_utilization_truncates_like_integer_division():
    # 100m of 300m requested is 33 %, not 33.3 %
    ratio, utilization, raw = utilization_ratio({"a": 100}, {"a": 300}, 50)
    assert (utilization, raw) == (33, 100) and ratio == 0.66


def test_within_tolerance_keeps_current_replicas():
    # |1 - 1.02| <= 0.1: no change (TestReplicaCalcTolerance)
    pods = [pod("a", cpu_request="900m"), pod("b", cpu_request="1"), pod("c", cpu_request="1100m")]
    assert _calculate(3, pods, {"a": 1010, "b": 1030, "c": 1020}, 100) == 3


def test_desired_replicas_formula_and_tolerance_edges():
    # ceil(current × ratio) outside the tolerance; the tolerance is inclusive
    assert desired_replicas(4, 1.5) == 6
    assert desired_replicas(4, 1.05) == 4
    assert desired_replicas(4, 0.9) == 4
    # subtle: in float64 (Go and Python alike) |1 - 1.1| is 0.10000000000000009 > 0.1
    assert desired_replicas(4, 55 / 50) == 5
    assert desired_replicas(4, 0.89) == 4  # ceil(3.56)
    assert desired_replicas(10, 0.5, ready_pods=6) == 3
    with pytest.raises(ValueError, match="negative"):
        desired_replicas(1, -1.0)


def test_missing_pods_count_as_target_when_target_above_100_percent():
    # scale-down with a target of 150 %: a missing Pod counts at 150 % of its request
    samples = [PodSample("a", "ready", 1000, 100), PodSample("b", "missing", 1000)]
    # ratio 10/150 -> down; b at 1500: (100+1500)/2000 = 80 % -> 0.533 -> ceil(1.07) = 2 = current
    assert replicas_from_samples(samples, 2, 150) == 2
    samples = [PodSample(n, "ready", 1000, 10) for n in "abcd"] + [PodSample("e", "missing", 1000)]
    # (40 + 1500) / 5000 = 30 % -> 0.2 -> ceil(1.0) = 1
    assert replicas_from_samples(samples, 5, 150) == 1


def test_no_scale_when_adjustment_reverses_direction():
    # missing Pods at 0 % pull a scale-up below 1.0: no change rather than a scale-down
    samples = [PodSample("a", "ready", 1000, 1500), PodSample("b", "missing", 1000),
               PodSample("c", "missing", 1000)]
    assert replicas_from_samples(samples, 3, 100) == 3


def test_pod_without_request_is_an_error_naming_it():
    # no requests, no autoscaling: the error names the container and the Pod
    with pytest.raises(ReplicaCalculationError, match="missing request for cpu in container c0 of Pod a"):
        pod_request(pod("a", cpu_request=None), "cpu")


def test_no_pods_and_no_ready_metrics_are_errors():
    with pytest.raises(ReplicaCalculationError, match="no pods returned"):
        samples_for([], {}, "cpu", now=NOW)
    with pytest.raises(ReplicaCalculationError, match="did not receive metrics"):
        replicas_from_samples([PodSample("a", "unready", 1000)], 1, 50)


def test_pending_pod_is_unready_and_deleted_pod_ignored():
    assert pod_state(pod("a", phase="Pending", started=None), None, "cpu", now=NOW) == "unready"
    assert pod_state(pod("a", deleting=True), None, "cpu", now=NOW) == "ignored"
    assert pod_state(pod("a"), None, "cpu", now=NOW) == "missing"


def test_young_pod_counts_only_after_one_full_window_of_readiness():
    # within the CPU initialisation period, a sample taken less than one window after
    # the Pod became ready may include start-up CPU: set aside (hot CPU)
    from fromscratch.autoscaling.replicas import PodMetric

    young = pod("a", started=NOW - 60, ready_since=NOW - 10)
    assert pod_state(young, PodMetric(500, NOW, 15), "cpu", now=NOW) == "unready"
    assert pod_state(young, PodMetric(500, NOW + 6, 15), "cpu", now=NOW) == "ready"
    # memory is never set aside for readiness
    assert pod_state(young, PodMetric(500, NOW, 15), "memory", now=NOW) == "ready"


def test_old_pod_unready_but_once_ready_still_counts():
    # past the initialisation period, only Pods that were never ready are set aside
    from fromscratch.autoscaling.replicas import PodMetric

    flapped = pod("a", ready=False, started=LONG_AGO, ready_since=LONG_AGO + 600)
    never = pod("b", ready=False, started=LONG_AGO, ready_since=LONG_AGO + 5)
    assert pod_state(flapped, PodMetric(1, NOW, 15), "cpu", now=NOW) == "ready"
    assert pod_state(never, PodMetric(1, NOW, 15), "cpu", now=NOW) == "unready"


def test_average_value_target_missing_pods_count_as_target():
    # calcPlainMetricReplicas: 4 Pods, 2 measured at 100 against a 500 target, 2 missing
    samples = [PodSample("a", "ready", usage=100), PodSample("b", "ready", usage=100),
               PodSample("c", "missing"), PodSample("d", "missing")]
    # ratio 0.2 -> missing at 500: average 300 -> 0.6 -> ceil(2.4) = 3
    assert plain_replicas(samples, 4, 500) == 3

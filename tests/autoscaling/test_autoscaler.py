"""One HPA sync: bounds, ScalingDisabled, several metrics, conditions, status and events."""

from __future__ import annotations

from fromscratch.autoscaling.autoscaler import HorizontalAutoscaler, MetricProposal, replicas_for_metrics
from fromscratch.autoscaling.conditions import get_condition
from fromscratch.autoscaling.metrics import FixedMetrics
from fromscratch.autoscaling.objects import average_value_metric, cpu_utilization_metric, hpa_manifest
from tests.autoscaling.helpers import NOW, pod, scale

THREE_PODS = [pod("a"), pod("b"), pod("c")]
UPSTREAM_LEVELS = FixedMetrics({"a": 300, "b": 500, "c": 700}, timestamp=NOW)


class PerResource:
    """Different values for cpu and memory (milli-units)."""

    def __init__(self, **by_resource: dict[str, int]) -> None:
        self.by_resource = by_resource

    def resource_metrics(self, namespace, selector, resource):
        return FixedMetrics(self.by_resource.get(resource, {}), timestamp=NOW).resource_metrics(
            namespace, selector, resource)


def _sync(hpa, replicas, pods=THREE_PODS, metrics=UPSTREAM_LEVELS, autoscaler=None):
    autoscaler = autoscaler or HorizontalAutoscaler()
    decision = autoscaler.decide(hpa, scale(replicas), pods, metrics, now=NOW)
    return decision, autoscaler.status_after(hpa, decision, now=NOW)


def test_scales_up_and_reports_status_and_event():
    # 3 Pods at 300/500/700m of 1 CPU, 30 % target -> 5 (replica_calculator_test ScaleUp)
    decision, status = _sync(hpa_manifest("web", cpu_percent=30, max_replicas=10), 3)
    assert (decision.desired_replicas, decision.rescale) == (5, True)
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 50, "averageValue": "500m"}}}]
    assert get_condition(status["conditions"], "AbleToScale")["reason"] == "SucceededRescale"
    assert get_condition(status["conditions"], "ScalingActive")["reason"] == "ValidMetricFound"
    assert ("Normal", "SuccessfulRescale", "New size: 5; reason: cpu resource utilization "
            "(percentage of request) above target") in decision.events
    assert "lastScaleTime" in status


def test_zero_replicas_disables_scaling():
    decision, status = _sync(hpa_manifest("web", cpu_percent=30), 0)
    assert not decision.rescale
    active = get_condition(status["conditions"], "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "ScalingDisabled")


def test_replicas_outside_bounds_go_to_the_bound():
    decision, _ = _sync(hpa_manifest("web", cpu_percent=30, max_replicas=4), 6)
    assert (decision.desired_replicas, decision.reason) == (4, "Current number of replicas above "
                                                               "Spec.MaxReplicas")
    decision, _ = _sync(hpa_manifest("web", cpu_percent=30, min_replicas=3), 2)
    assert (decision.desired_replicas, decision.reason) == (3, "Current number of replicas below "
                                                               "Spec.MinReplicas")


def test_max_replicas_clamps_and_says_too_many():
    decision, status = _sync(hpa_manifest("web", cpu_percent=10, max_replicas=4), 3)
    assert decision.desired_replicas == 4
    limited = get_condition(status["conditions"], "ScalingLimited")
    assert (limited["status"], limited["reason"]) == ("True", "TooManyReplicas")


def test_no_requests_no_autoscaling_and_the_condition_says_why():
    pods = [pod(n, cpu_request=None) for n in "abc"]
    decision, status = _sync(hpa_manifest("web", cpu_percent=30), 3, pods=pods)
    assert not decision.rescale and decision.error
    active = get_condition(status["conditions"], "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert "missing request for cpu in container c0 of Pod a" in active["message"]
    assert [e[1] for e in decision.events] == ["FailedGetResourceMetric",
                                               "FailedComputeMetricsReplicas"]


def test_several_metrics_take_the_largest():
    # cpu asks for 5, memory (average 300 Mi vs 100 Mi target) asks for 9
    hpa = hpa_manifest("web", max_replicas=20, metrics=[cpu_utilization_metric(30),
                                                        average_value_metric("100Mi")])
    mi = 2**20 * 1000
    metrics = PerResource(cpu={"a": 300, "b": 500, "c": 700},
                          memory={"a": 300 * mi, "b": 300 * mi, "c": 300 * mi})
    decision, status = _sync(hpa, 3, metrics=metrics)
    assert decision.recommended == 9
    assert decision.reason == "memory resource above target"
    assert len(status["currentMetrics"]) == 2


def test_a_failed_metric_blocks_scale_down_but_not_scale_up():
    proposals = [MetricProposal("cpu", 2), MetricProposal("memory", None, "no metrics")]
    assert replicas_for_metrics(proposals, 3) is None
    assert replicas_for_metrics([MetricProposal("cpu", 5), proposals[1]], 3) == MetricProposal("cpu", 5)
    assert replicas_for_metrics([proposals[1]], 3) is None
    # ties keep the first metric
    assert replicas_for_metrics([MetricProposal("a", 4), MetricProposal("b", 4)], 3).metric == "a"


def test_unknown_metric_type_is_reported():
    hpa = hpa_manifest("web", metrics=[{"type": "External", "external": {}}])
    decision, status = _sync(hpa, 3)
    assert get_condition(status["conditions"], "ScalingActive")["reason"] == "InvalidMetricSourceType"


def test_failed_scale_write_sets_able_to_scale_false():
    autoscaler = HorizontalAutoscaler()
    hpa = hpa_manifest("web", cpu_percent=30)
    decision = autoscaler.decide(hpa, scale(3), THREE_PODS, UPSTREAM_LEVELS, now=NOW)
    status = autoscaler.status_after(hpa, decision, now=NOW, scale_error="409 Conflict")
    able = get_condition(status["conditions"], "AbleToScale")
    assert (able["status"], able["reason"]) == ("False", "FailedUpdateScale")
    assert decision.events[-1][1] == "FailedRescale"


def test_pods_metric_without_a_source_says_why():
    hpa = hpa_manifest("web", metrics=[{"type": "Pods", "pods": {
        "metric": {"name": "requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "5"}}}])
    decision, status = _sync(hpa, 3)
    active = get_condition(status["conditions"], "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "FailedGetPodsMetric")
    assert "serves no custom (pods) metrics" in active["message"] and not decision.rescale

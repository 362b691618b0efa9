"""One HPA sync, as a pure decision: read state in, replicas and status out.

Models ``reconcileAutoscaler`` and ``computeReplicasForMetrics`` of
``pkg/controller/podautoscaler/horizontal.go``.  The same decision drives the
controller that talks to an API server (``controller.py``) and the simulation
in virtual time (``simulation.py``), so what a learner watches in the
simulation is exactly what the controller would do.

One sync::

    scale.spec.replicas == 0 (and minReplicas > 0) -> ScalingDisabled, do nothing
    current > maxReplicas / < minReplicas          -> go to the bound
    otherwise, for each metric: a proposal (replicas.py); the largest wins
              -> stabilize, apply policies, clamp (normalize.py)
    rescale if desired != current

Metrics: ``Resource`` metrics (``cpu``, ``memory``) with ``Utilization`` or
``AverageValue`` targets, and ``Pods`` metrics (a per-Pod custom metric such as
requests per second) with an ``AverageValue`` target, from sources that offer
``pods_metric``.  ``Object``, ``External`` and ``ContainerResource`` metrics are
reported as ``InvalidMetricSourceType`` (not implemented here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fromscratch.autoscaling import conditions as cond
from fromscratch.autoscaling.behavior import Behavior, behavior_from_spec
from fromscratch.autoscaling.normalize import ScaleHistory, normalize_legacy, normalize_with_behavior
from fromscratch.autoscaling.replicas import (
    CPU_INITIALIZATION_PERIOD,
    DEFAULT_TOLERANCE,
    INITIAL_READINESS_DELAY,
    PodMetric,
    ReplicaCalculationError,
    milli_value,
    plain_replicas,
    replicas_from_samples,
    samples_for,
    usage_ratio_of_average,
    utilization_ratio,
)
from fromscratch.exercises import pluggable

Obj = dict[str, Any]


class MetricsSource(Protocol):
    """Where Pod usage comes from (the resource metrics API, in the real cluster)."""

    def resource_metrics(self, namespace: str, selector: str, resource: str) -> Mapping[str, PodMetric]:
        """Per-Pod usage of ``resource`` in milli-units, for the Pods ``selector`` matches."""
        ...


@dataclass(frozen=True)
class MetricProposal:
    """What one metric asks for: a replica count, or the error that prevented one."""

    metric: str  # e.g. "cpu resource utilization (percentage of request)"
    replicas: int | None
    error: str | None = None


@pluggable("replicas_for_metrics")
def replicas_for_metrics(proposals: list[MetricProposal], spec_replicas: int) -> MetricProposal | None:
    """The largest valid proposal; None when the HPA must not act on these metrics.

    Not acting: every metric failed, or some failed and the valid ones would
    scale *down* (a failed metric might have asked for more).
    """
    best: MetricProposal | None = None
    invalid = 0
    for proposal in proposals:
        if proposal.replicas is None:
            invalid += 1
            continue
        # ties keep the first metric, as upstream's strict ">" does
        if best is None or proposal.replicas > (best.replicas or 0):
            best = proposal
    if best is None or (invalid and (best.replicas or 0) < spec_replicas):
        return None
    return best


@dataclass
class Decision:
    """The outcome of one sync, before anything is written."""

    current_replicas: int
    desired_replicas: int
    rescale: bool
    reason: str = ""
    conditions: list[cond.Condition] = field(default_factory=list)
    current_metrics: list[Obj] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    error: str | None = None  # the sync failed (the controller retries with back-off)
    utilization: int | None = None  # first metric's current utilisation, for plots
    recommended: int | None = None  # the metrics' proposal, before stabilization and policies


def _milli_quantity(milli: int) -> str:
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


class HorizontalAutoscaler:
    """The decision logic plus the per-HPA memory it needs (recommendations, events)."""

    def __init__(self, *, tolerance: float = DEFAULT_TOLERANCE,
                 cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
                 initial_readiness_delay: float = INITIAL_READINESS_DELAY,
                 downscale_stabilization: float = 300.0) -> None:
        self.tolerance = tolerance
        self.periods = {"cpu_initialization_period": cpu_initialization_period,
                        "initial_readiness_delay": initial_readiness_delay}
        self.downscale_stabilization = downscale_stabilization
        self.histories: dict[str, ScaleHistory] = {}

    def forget(self, key: str) -> None:
        """The HPA was deleted: drop its memory."""
        self.histories.pop(key, None)

    # --- one metric ---------------------------------------------------------------------------
    def _resource_proposal(self, spec: Obj, *, namespace: str, selector: str, pods: list[Obj],
                           metrics: MetricsSource, spec_replicas: int, now: float
                           ) -> tuple[MetricProposal, Obj | None, int | None]:
        name, target = spec.get("name", ""), spec.get("target") or {}
        value_target = target.get("type") == "AverageValue" or (
            "averageValue" in target and "averageUtilization" not in target)
        metric_name = f"{name} resource" if value_target else \
            f"{name} resource utilization (percentage of request)"
        try:
            try:
                usage = metrics.resource_metrics(namespace, selector, name)
            except (LookupError, OSError, ValueError) as err:
                raise ReplicaCalculationError(f"unable to get metrics for resource {name}: {err}") from None
            samples = samples_for(pods, usage, name, now=now, with_requests=not value_target,
                                  **self.periods)
            ready = {s.name: s.usage for s in samples if s.state == "ready" and s.usage is not None}
            if value_target:
                target_milli = milli_value(str(target.get("averageValue")), name)
                replicas = plain_replicas(samples, spec_replicas, target_milli, self.tolerance)
                _, average = usage_ratio_of_average(ready, target_milli)
                current: Obj = {"averageValue": _milli_quantity(average)}
                utilization = None
            else:
                percent = target.get("averageUtilization")
                if not isinstance(percent, int) or percent <= 0:
                    raise ReplicaCalculationError("invalid resource metric source: neither a "
                                                  "utilization target nor a value target was set")
                replicas = replicas_from_samples(samples, spec_replicas, percent, self.tolerance)
                requests = {s.name: s.request for s in samples if s.state != "ignored"}
                _, utilization, raw = utilization_ratio(ready, requests, percent)
                current = {"averageUtilization": utilization, "averageValue": _milli_quantity(raw)}
        except (ReplicaCalculationError, LookupError, ValueError) as err:
            what = "usage" if value_target else "utilization"
            return MetricProposal(metric_name, None, f"failed to get {name} {what}: {err}"), None, None
        status = {"type": "Resource", "resource": {"name": name, "current": current}}
        return MetricProposal(metric_name, replicas), status, utilization

    def _pods_proposal(self, spec: Obj, *, namespace: str, selector: str, pods: list[Obj],
                       metrics: MetricsSource, spec_replicas: int, now: float
                       ) -> tuple[MetricProposal, Obj | None]:
        """A ``Pods`` metric (say, requests per second) against an AverageValue target."""
        name = (spec.get("metric") or {}).get("name", "")
        metric_name = f"pods metric {name}"
        try:
            source = getattr(metrics, "pods_metric", None)
            if source is None:
                raise LookupError("this metrics source serves no custom (pods) metrics")
            target = milli_value(str((spec.get("target") or {}).get("averageValue")), name)
            # subtle: no readiness check for custom metrics (upstream passes resource "")
            samples = samples_for(pods, source(namespace, selector, name), "", now=now,
                                  with_requests=False, **self.periods)
            replicas = plain_replicas(samples, spec_replicas, target, self.tolerance)
            ready = {s.name: s.usage for s in samples if s.state == "ready" and s.usage is not None}
            _, average = usage_ratio_of_average(ready, target)
        except (ReplicaCalculationError, LookupError, ValueError) as err:
            return MetricProposal(metric_name, None, f"failed to get pods metric value: {err}"), None
        status = {"type": "Pods", "pods": {"metric": {"name": name},
                                           "current": {"averageValue": _milli_quantity(average)}}}
        return MetricProposal(metric_name, replicas), status

    # --- one sync -----------------------------------------------------------------------------
    def decide(self, hpa: Obj, scale: Obj, pods: list[Obj], metrics: MetricsSource, *,
               now: float) -> Decision:
        """What one sync of ``hpa`` would do, given its target's ``scale`` and ``pods``."""
        meta, spec = hpa["metadata"], hpa.get("spec") or {}
        key = f"{meta.get('namespace', '')}/{meta['name']}"
        history = self.histories.setdefault(key, ScaleHistory())
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        min_replicas = spec.get("minReplicas", 1)
        max_replicas = spec["maxReplicas"]
        decision = Decision(current, current, False, conditions=[cond.SUCCEEDED_GET_SCALE])
        try:
            behavior: Behavior | None = behavior_from_spec(spec.get("behavior"))
        except ValueError as err:
            decision.error = str(err)
            return decision
        if current == 0 and min_replicas != 0:
            # autoscaling is off while someone holds the target at zero
            decision.desired_replicas = 0
            decision.conditions.append(cond.SCALING_DISABLED)
            return decision
        if current > max_replicas:
            desired, decision.reason = max_replicas, "Current number of replicas above Spec.MaxReplicas"
        elif current < min_replicas:
            desired, decision.reason = min_replicas, "Current number of replicas below Spec.MinReplicas"
        else:
            chosen = self._metrics_proposal(decision, spec, scale, pods, metrics, current, now, meta)
            if chosen is None:
                return decision
            desired = decision.recommended = max(0, chosen.replicas or 0)
            if desired > current:
                decision.reason = f"{chosen.metric} above target"
            elif desired < current:
                decision.reason = "All metrics below target"
            if behavior is None:
                desired, conds = normalize_legacy(
                    history, now=now, current=current, desired=desired, min_replicas=min_replicas,
                    max_replicas=max_replicas, downscale_window=self.downscale_stabilization)
            else:
                desired, conds = normalize_with_behavior(
                    history, behavior, now=now, current=current, desired=desired,
                    min_replicas=min_replicas, max_replicas=max_replicas)
            decision.conditions += conds
        decision.desired_replicas = desired
        decision.rescale = desired != current
        return decision

    def _metrics_proposal(self, decision: Decision, spec: Obj, scale: Obj, pods: list[Obj],
                          metrics: MetricsSource, current: int, now: float, meta: Obj
                          ) -> MetricProposal | None:
        selector = (scale.get("status") or {}).get("selector") or ""
        proposals: list[MetricProposal] = []
        first_failure: cond.Condition | None = None
        metric_specs = spec.get("metrics") or [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        for metric in metric_specs:
            if metric.get("type") == "Pods":
                proposal, status = self._pods_proposal(
                    metric.get("pods") or {}, namespace=meta.get("namespace", ""),
                    selector=selector, pods=pods, metrics=metrics, spec_replicas=current, now=now)
                failure = cond.scaling_active("FailedGetPodsMetric", "the HPA was unable to "
                                              f"compute the replica count: {proposal.error}", False)
                if status is not None:
                    decision.current_metrics.append(status)
            elif metric.get("type") != "Resource":
                proposal = MetricProposal(str(metric.get("type")), None,
                                          f"unknown metric source type {metric.get('type')!r}")
                failure = cond.scaling_active("InvalidMetricSourceType", "the HPA was unable to "
                                              f"compute the replica count: {proposal.error}", False)
            else:
                proposal, status, utilization = self._resource_proposal(
                    metric.get("resource") or {}, namespace=meta.get("namespace", ""),
                    selector=selector, pods=pods, metrics=metrics, spec_replicas=current, now=now)
                failure = cond.scaling_active("FailedGetResourceMetric", "the HPA was unable to "
                                              f"compute the replica count: {proposal.error}", False)
                if status is not None:
                    decision.current_metrics.append(status)
                    if decision.utilization is None:
                        decision.utilization = utilization
            if proposal.replicas is None:
                decision.events.append(("Warning", failure.reason, str(proposal.error)))
                first_failure = first_failure or failure
            proposals.append(proposal)
        chosen = replicas_for_metrics(proposals, current)
        if chosen is None:
            assert first_failure is not None or not proposals
            failure = first_failure or cond.scaling_active(
                "FailedGetResourceMetric", "the HPA was unable to compute the replica count", False)
            decision.conditions.append(failure)
            decision.error = failure.message
            invalid = [p for p in proposals if p.replicas is None]
            decision.events.append(("Warning", "FailedComputeMetricsReplicas",
                                    f"invalid metrics ({len(invalid)} invalid out of {len(proposals)}), "
                                    f"first error is: {invalid[0].error if invalid else 'none'}"))
            return None
        decision.conditions.append(cond.scaling_active(
            "ValidMetricFound", f"the HPA was able to successfully calculate a replica count "
            f"from {chosen.metric}"))
        return chosen

    # --- after the scale was (or was not) written -------------------------------------------
    def status_after(self, hpa: Obj, decision: Decision, *, now: float,
                     scale_error: str | None = None) -> Obj:
        """The HPA's new ``status`` (and the events to record, appended to ``decision``)."""
        from fromscratch.controllers.podutil import format_time

        old = hpa.get("status") or {}
        # a failed sync keeps the previous desiredReplicas (setCurrentReplicasAndMetricsInStatus)
        desired = old.get("desiredReplicas", 0) if decision.error else decision.desired_replicas
        status: Obj = {"currentReplicas": decision.current_replicas, "desiredReplicas": desired,
                       "conditions": [dict(c) for c in old.get("conditions") or []]}
        if decision.current_metrics:
            status["currentMetrics"] = decision.current_metrics
        if "observedGeneration" in old or hpa["metadata"].get("generation"):
            status["observedGeneration"] = hpa["metadata"].get("generation", 1)
        conditions = list(decision.conditions)
        if decision.rescale and scale_error is None:
            conditions.append(cond.able_to_scale(
                "SucceededRescale", "the HPA controller was able to update the target scale to "
                f"{decision.desired_replicas}"))
            status["lastScaleTime"] = format_time(now)
            decision.events.append(("Normal", "SuccessfulRescale", f"New size: "
                                    f"{decision.desired_replicas}; reason: {decision.reason}"))
            key = f"{hpa['metadata'].get('namespace', '')}/{hpa['metadata']['name']}"
            behavior = behavior_from_spec((hpa.get("spec") or {}).get("behavior"))
            self.histories.setdefault(key, ScaleHistory()).record_scale(
                behavior, now, decision.current_replicas, decision.desired_replicas)
        elif decision.rescale:
            conditions.append(cond.able_to_scale(
                "FailedUpdateScale", f"the HPA controller was unable to update the target scale: "
                f"{scale_error}", ok=False))
            decision.events.append(("Warning", "FailedRescale", f"New size: "
                                    f"{decision.desired_replicas}; reason: {decision.reason}; "
                                    f"error: {scale_error}"))
            status["desiredReplicas"] = decision.current_replicas
        if "lastScaleTime" not in status and old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        for condition in conditions:
            cond.set_condition(status["conditions"], condition, now)
        return status

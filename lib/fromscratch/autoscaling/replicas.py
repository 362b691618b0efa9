"""The replica calculator: from Pod metrics to a desired number of replicas.

Models ``pkg/controller/podautoscaler/replica_calculator.go`` (and
``metrics/utilization.go``) of kube-controller-manager, following the
algorithm in the Kubernetes documentation ("Algorithm details"):

    desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue)

with the adjustments that make it safe:

1. Pods being deleted and Failed Pods are **ignored**;
2. Pending Pods, and (for CPU) Pods not yet Ready or still inside their CPU
   initialisation period, are **set aside as unready**;
3. Pods without a metric are **missing**;
4. the ratio is computed over the ready Pods; if it is within the **tolerance**
   (0.1) of 1.0 nothing changes;
5. otherwise, missing Pods count as using **100 %** of their request (or the
   target, if it is above 100 %) on a scale-down and **0 %** on a scale-up, and
   unready Pods count as **0 %** on a scale-up; the ratio is recomputed and if
   that *reverses the direction* (or lands within tolerance) nothing changes.

Utilisation is an integer percentage, truncated like Go's integer division
(``int32(total*100/requests)``): 100m used of 300m requested is 33 %, not 33.3 %.

Simplified: one tolerance for both directions (the per-direction tolerance of
``behavior.*.tolerance``, an alpha feature, is not modelled); ``Pods`` and
``Object`` metrics are not implemented (resource metrics only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.api.quantity import QuantityError, cpu_millicores, parse_quantity
from fromscratch.controllers.podutil import condition, parse_time
from fromscratch.exercises import pluggable

Obj = dict[str, Any]
PodState = Literal["ready", "unready", "missing", "ignored"]

DEFAULT_TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period=5m
INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay=30s


class ReplicaCalculationError(ValueError):
    """No replica count can be computed (no Pods, no metrics, a missing request ...)."""


@dataclass(frozen=True)
class PodMetric:
    """One Pod's usage as the metrics API reports it: milli-units over a window."""

    value: int  # milli-units, like Quantity.MilliValue(): millicores, or bytes × 1000
    timestamp: float  # end of the window, seconds
    window: float = 15.0  # seconds the value was averaged over


@dataclass(frozen=True)
class PodSample:
    """A Pod as the second half of the algorithm sees it: state, request and usage."""

    name: str
    state: PodState
    request: int = 0  # summed over containers, in milli-units
    usage: int | None = None  # None: no metric (state "missing", "unready" or "ignored")


# --- the formula --------------------------------------------------------------------------
@pluggable("desired_replicas")
def desired_replicas(current_replicas: int, usage_ratio: float, ready_pods: int | None = None,
                     tolerance: float = DEFAULT_TOLERANCE) -> int:
    """``ceil(usage_ratio × ready_pods)``, or ``current_replicas`` within the tolerance.

    ``usage_ratio`` is current / target (2.0: twice the target).  ``ready_pods``
    is the number of Pods the ratio was measured over (default: current_replicas).
    """
    if usage_ratio < 0:
        raise ValueError(f"a usage ratio cannot be negative: {usage_ratio}")
    # within tolerance: the change would be too small to be worth it
    if abs(1.0 - usage_ratio) <= tolerance:
        return current_replicas
    pods = current_replicas if ready_pods is None else ready_pods
    return math.ceil(usage_ratio * pods)


def utilization_ratio(usage: Mapping[str, int], requests: Mapping[str, int],
                      target_utilization: int) -> tuple[float, int, int]:
    """(usage ratio, utilisation %, average raw usage) — GetResourceUtilizationRatio."""
    total = requested = counted = 0
    for name, value in usage.items():
        if name not in requests:
            continue  # missing requests are reported elsewhere
        total, requested, counted = total + value, requested + requests[name], counted + 1
    if requested == 0:
        raise ReplicaCalculationError("no metrics returned matched known pods")
    # subtle: Go's integer division truncates: 33 %, not 33.3 %
    utilization = total * 100 // requested
    return utilization / target_utilization, utilization, total // counted


def usage_ratio_of_average(usage: Mapping[str, int], target_usage: int) -> tuple[float, int]:
    """(usage ratio, average usage) for an AverageValue target — GetMetricUsageRatio."""
    average = sum(usage.values()) // len(usage)
    return average / target_usage, average


# --- the adjustments ----------------------------------------------------------------------
@pluggable("replicas_from_samples")
def replicas_from_samples(samples: list[PodSample], current_replicas: int, target_utilization: int,
                          tolerance: float = DEFAULT_TOLERANCE) -> int:
    """Desired replicas for a Utilization target, with missing and unready Pods adjusted for.

    Follows GetResourceReplicas: the ratio over ready Pods first; then missing
    Pods at 100 % of request (or the target, if higher) on scale-down, 0 % on
    scale-up; unready Pods at 0 % on scale-up; no change if that reverses direction.
    """
    counted = [s for s in samples if s.state != "ignored"]
    requests = {s.name: s.request for s in counted}
    usage = {s.name: s.usage for s in counted if s.state == "ready" and s.usage is not None}
    missing = [s.name for s in counted if s.state == "missing"]
    unready = [s.name for s in counted if s.state == "unready"]
    if not usage:
        raise ReplicaCalculationError("did not receive metrics for targeted pods "
                                      "(pods might be unready)")
    # 1. the ratio over the Pods that are ready and measured
    ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        return desired_replicas(current_replicas, ratio, len(usage), tolerance)
    # 2. fill in the Pods we could not measure, in the direction that dampens the change
    if missing and ratio < 1.0:
        fallback = max(100, target_utilization)
        usage.update({name: requests[name] * fallback // 100 for name in missing})
    elif missing and ratio > 1.0:
        usage.update(dict.fromkeys(missing, 0))
    if scale_up_with_unready:
        usage.update(dict.fromkeys(unready, 0))
    # 3. recompute; never reverse the direction the ready Pods asked for
    new_ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    if (abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)):
        return current_replicas
    new_replicas = math.ceil(new_ratio * len(usage))
    # subtle: counting more Pods than current can flip the direction too
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
            new_ratio > 1.0 and new_replicas < current_replicas):
        return current_replicas
    return new_replicas


def plain_replicas(samples: list[PodSample], current_replicas: int, target_usage: int,
                   tolerance: float = DEFAULT_TOLERANCE) -> int:
    """The same adjustments for an AverageValue target (calcPlainMetricReplicas).

    Here a missing Pod counts as using exactly the target on a scale-down.
    """
    usage = {s.name: s.usage for s in samples if s.state == "ready" and s.usage is not None}
    missing = [s.name for s in samples if s.state == "missing"]
    unready = [s.name for s in samples if s.state == "unready"]
    if not usage:
        raise ReplicaCalculationError("did not receive metrics for targeted pods "
                                      "(pods might be unready)")
    ratio, _ = usage_ratio_of_average(usage, target_usage)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        return desired_replicas(current_replicas, ratio, len(usage), tolerance)
    if missing and ratio < 1.0:
        usage.update(dict.fromkeys(missing, target_usage))
    elif missing and ratio > 1.0:
        usage.update(dict.fromkeys(missing, 0))
    if scale_up_with_unready:
        usage.update(dict.fromkeys(unready, 0))
    new_ratio, _ = usage_ratio_of_average(usage, target_usage)
    if (abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)):
        return current_replicas
    new_replicas = math.ceil(new_ratio * len(usage))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
            new_ratio > 1.0 and new_replicas < current_replicas):
        return current_replicas
    return new_replicas


# --- from Pod objects to samples ------------------------------------------------------------
def pod_state(pod: Obj, metric: PodMetric | None, resource: str, *, now: float,
              cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
              initial_readiness_delay: float = INITIAL_READINESS_DELAY) -> PodState:
    """Which group a Pod falls in (groupPods)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") == "Failed":
        return "ignored"
    if status.get("phase") == "Pending":
        return "unready"
    if metric is None:
        return "missing"
    if resource != "cpu":
        return "ready"
    ready = condition(pod, "Ready")
    started = parse_time(status.get("startTime"))
    if ready is None or started is None:
        return "unready"
    transition = parse_time(ready.get("lastTransitionTime")) or started
    if started + cpu_initialization_period > now:
        # young Pod: its sample counts only if ready for a whole metric window
        unready = ready.get("status") == "False" or metric.timestamp < transition + metric.window
    else:
        # older Pod: ignore it only if it is unready and has never been ready
        unready = ready.get("status") == "False" and started + initial_readiness_delay > transition
    return "unready" if unready else "ready"


def milli_value(quantity: str, resource: str) -> int:
    """A quantity in milli-units (MilliValue); CPU rounds up to whole millicores."""
    if resource == "cpu":
        return cpu_millicores(quantity)
    return math.ceil(parse_quantity(quantity) * 1000)


def pod_request(pod: Obj, resource: str, container: str = "") -> int:
    """The Pod's request for ``resource`` in milli-units, summed over its containers.

    Raises :class:`ReplicaCalculationError` naming the container without a request:
    without requests there is nothing to compute a utilisation *of*.
    """
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or [])
    # restartable init containers (sidecars) run alongside and count too
    containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    total = 0
    for c in containers:
        if container and c.get("name") != container:
            continue
        requests = (c.get("resources") or {}).get("requests") or {}
        if resource not in requests:
            raise ReplicaCalculationError(
                f"missing request for {resource} in container {c.get('name')} of Pod "
                f"{pod['metadata']['name']}")
        try:
            total += milli_value(str(requests[resource]), resource)
        except QuantityError as err:
            raise ReplicaCalculationError(f"bad {resource} request in Pod "
                                          f"{pod['metadata']['name']}: {err}") from None
    return total


def samples_for(pods: list[Obj], metrics: Mapping[str, PodMetric], resource: str, *, now: float,
                with_requests: bool = True, **periods: float) -> list[PodSample]:
    """Classify ``pods`` and attach their requests and usage."""
    if not pods:
        raise ReplicaCalculationError("no pods returned by selector while calculating replica count")
    samples = []
    for pod in pods:
        name = pod["metadata"]["name"]
        metric = metrics.get(name)
        state = pod_state(pod, metric, resource, now=now, **periods)
        request = pod_request(pod, resource) if with_requests else 0
        usage = metric.value if metric is not None and state == "ready" else None
        samples.append(PodSample(name, state, request, usage))
    return samples

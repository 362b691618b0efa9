"""Conversion between the versions of one resource.

Models kube-apiserver's conversion through the storage version: objects are
stored in one version and converted when read or written through another.
Only the course's multi-version resource needs it: the HorizontalPodAutoscaler,
stored as ``autoscaling/v2`` and also served as ``autoscaling/v1``.

``v1``'s single field ``targetCPUUtilizationPercentage`` is ``v2``'s
``metrics: [{type: Resource, resource: {name: cpu, target: {type:
Utilization, averageUtilization: N}}}]``.

Simplified: v2 metrics other than CPU utilisation are dropped when read as
v1 (the real server keeps them in an annotation to round-trip them).
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]
HPA = ("autoscaling", "HorizontalPodAutoscaler")


def _cpu_metric(percent: int) -> Obj:
    return {"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}


def _cpu_percent(metrics: Any, key: str) -> int | None:
    for metric in metrics or []:
        resource = metric.get("resource") or {} if isinstance(metric, dict) else {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get(key) or {}).get("averageUtilization")
            if value is not None:
                return value
    return None


def hpa_v1_to_v2(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    percent = spec.pop("targetCPUUtilizationPercentage", None)
    if percent is not None:
        spec["metrics"] = [_cpu_metric(percent)]
    status = obj.get("status") or {}
    current = status.pop("currentCPUUtilizationPercentage", None)
    if current is not None:
        status["currentMetrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": current}}}]
    return obj


def hpa_v2_to_v1(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    percent = _cpu_percent(spec.pop("metrics", None), "target")
    spec.pop("behavior", None)
    if percent is not None:
        spec["targetCPUUtilizationPercentage"] = percent
    status = obj.get("status") or {}
    current = _cpu_percent(status.pop("currentMetrics", None), "current")
    status.pop("conditions", None)
    if current is not None:
        status["currentCPUUtilizationPercentage"] = current
    return obj


def convert(obj: Obj, group: str, kind: str, from_version: str, to_version: str) -> Obj:
    """A copy of ``obj`` (of ``group``/``kind``) in ``to_version``."""
    result = copy.deepcopy(obj)
    if from_version != to_version and (group, kind) == HPA:
        result = hpa_v1_to_v2(result) if from_version == "v1" else result
        result = hpa_v2_to_v1(result) if to_version == "v1" else result
    result["apiVersion"] = f"{group}/{to_version}" if group else to_version
    return result

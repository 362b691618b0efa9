"""HPA status conditions: why the autoscaler did (or did not) scale.

Models ``status.conditions`` of ``autoscaling/v2`` and the reasons
``horizontal.go`` sets, which ``kubectl describe hpa`` shows:

========================  =====================================================
``AbleToScale``           can the controller read and write the target's scale?
                          SucceededGetScale, FailedGetScale, SucceededRescale,
                          FailedUpdateScale, ReadyForNewScale,
                          ScaleUpStabilized, ScaleDownStabilized
``ScalingActive``         can it compute a replica count from the metrics?
                          ValidMetricFound, FailedGetResourceMetric,
                          InvalidMetricSourceType, ScalingDisabled
``ScalingLimited``        was the count clamped?  DesiredWithinRange (False),
                          TooManyReplicas, TooFewReplicas, ScaleUpLimit,
                          ScaleDownLimit (True)
========================  =====================================================

``lastTransitionTime`` changes only when a condition's *status* changes, as
in upstream ``setConditionInList``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.controllers.podutil import format_time

ConditionType = Literal["AbleToScale", "ScalingActive", "ScalingLimited"]
Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: ConditionType
    status: Status
    reason: str
    message: str


def set_condition(conditions: list[dict[str, Any]], new: Condition, now: float) -> None:
    """Set ``new`` in the API-form ``conditions`` list (in place)."""
    for existing in conditions:
        if existing.get("type") == new.type:
            if existing.get("status") != new.status:
                existing["lastTransitionTime"] = format_time(now)
            existing.update(status=new.status, reason=new.reason, message=new.message)
            return
    conditions.append({"type": new.type, "status": new.status,
                       "lastTransitionTime": format_time(now),
                       "reason": new.reason, "message": new.message})


def get_condition(conditions: list[dict[str, Any]], kind: ConditionType) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


# the conditions horizontal.go sets, by name
def able_to_scale(reason: str, message: str, ok: bool = True) -> Condition:
    return Condition("AbleToScale", "True" if ok else "False", reason, message)


def scaling_active(reason: str, message: str, ok: bool = True) -> Condition:
    return Condition("ScalingActive", "True" if ok else "False", reason, message)


def scaling_limited(limited: bool, reason: str, message: str) -> Condition:
    return Condition("ScalingLimited", "True" if limited else "False", reason, message)


SCALING_DISABLED = scaling_active(
    "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", ok=False)
SUCCEEDED_GET_SCALE = able_to_scale(
    "SucceededGetScale", "the HPA controller was able to get the target's current scale")
READY_FOR_NEW_SCALE = able_to_scale("ReadyForNewScale", "recommended size matches current size")
WITHIN_RANGE = scaling_limited(False, "DesiredWithinRange",
                               "the desired count is within the acceptable range")
SCALE_UP_LIMIT = scaling_limited(True, "ScaleUpLimit", "the desired replica count is increasing "
                                 "faster than the maximum scale rate")
SCALE_DOWN_LIMIT = scaling_limited(True, "ScaleDownLimit", "the desired replica count is decreasing "
                                   "faster than the maximum scale rate")
TOO_MANY_REPLICAS = scaling_limited(True, "TooManyReplicas", "the desired replica count is more "
                                    "than the maximum replica count")
TOO_FEW_REPLICAS = scaling_limited(True, "TooFewReplicas", "the desired replica count is less "
                                   "than the minimum replica count")
SCALE_UP_STABILIZED = able_to_scale("ScaleUpStabilized", "recent recommendations were lower than "
                                    "current one, applying the lowest recent recommendation")
SCALE_DOWN_STABILIZED = able_to_scale("ScaleDownStabilized", "recent recommendations were higher "
                                      "than current one, applying the highest recent recommendation")

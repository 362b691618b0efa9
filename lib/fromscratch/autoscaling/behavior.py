"""``spec.behavior``: how fast the HPA may move — scaling policies and stabilization windows.

Models ``autoscaling/v2`` ``HPAScalingRules`` and the two functions of
``pkg/controller/podautoscaler/horizontal.go`` that apply them:

- **stabilization** (``stabilizeRecommendationWithBehaviors``): the controller
  remembers every recommendation; a scale-down goes no lower than the *highest*
  recommendation inside the scale-down window, a scale-up no higher than the
  *lowest* inside the scale-up window.  Flapping is damped.
- **policies** (``calculateScaleUpLimitWithScalingRules`` /
  ``calculateScaleDownLimitWithBehaviors``): each policy allows a change of
  ``value`` Pods or ``value`` percent per ``periodSeconds``, counted from the
  replicas at the *start* of the period (the scale events of the last period
  are subtracted).  ``selectPolicy: Max`` takes the policy allowing the biggest
  change, ``Min`` the smallest, ``Disabled`` forbids that direction.

Defaults, exactly as documented (and as ``GenerateHPAScaleUpRules`` /
``GenerateHPAScaleDownRules`` fill them in when ``behavior`` is given)::

    scaleDown: {stabilizationWindowSeconds: 300, selectPolicy: Max,
                policies: [{type: Percent, value: 100, periodSeconds: 15}]}
    scaleUp:   {stabilizationWindowSeconds: 0, selectPolicy: Max,
                policies: [{type: Percent, value: 100, periodSeconds: 15},
                           {type: Pods, value: 4, periodSeconds: 15}]}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.exercises import pluggable

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]
Direction = Literal["up", "down"]


class BehaviorError(ValueError):
    """A ``behavior`` section that the API would reject."""


@dataclass(frozen=True)
class ScalingPolicy:
    """Allow ``value`` Pods (or percent) of change per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """One direction's rules: stabilization window, policies and how to choose among them."""

    stabilization_window_seconds: int
    policies: tuple[ScalingPolicy, ...]
    select_policy: SelectPolicy = "Max"


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class ScaleEvent:
    """The HPA changed the replicas by ``change`` (+ up, - down) at ``timestamp``."""

    timestamp: float
    change: int


@dataclass(frozen=True)
class Recommendation:
    """What the metrics asked for at ``timestamp`` (before stabilization and policies)."""

    timestamp: float
    replicas: int


DEFAULT_SCALE_UP = ScalingRules(0, (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)))
DEFAULT_SCALE_DOWN = ScalingRules(300, (ScalingPolicy("Percent", 100, 15),))
DEFAULT_BEHAVIOR = Behavior(DEFAULT_SCALE_UP, DEFAULT_SCALE_DOWN)


def _rules(spec: Any, default: ScalingRules, where: str) -> ScalingRules:
    if spec is None:
        return default
    if not isinstance(spec, dict):
        raise BehaviorError(f"{where} must be an object")
    window = spec.get("stabilizationWindowSeconds", default.stabilization_window_seconds)
    if not isinstance(window, int) or not 0 <= window <= 3600:
        raise BehaviorError(f"{where}.stabilizationWindowSeconds must be 0..3600, not {window!r}")
    select = spec.get("selectPolicy", default.select_policy)
    if select not in ("Max", "Min", "Disabled"):
        raise BehaviorError(f"{where}.selectPolicy must be Max, Min or Disabled, not {select!r}")
    policies = default.policies
    if spec.get("policies") is not None:
        policies = tuple(_policy(p, f"{where}.policies[{i}]") for i, p in enumerate(spec["policies"]))
        if not policies and select != "Disabled":
            raise BehaviorError(f"{where}.policies must have at least one policy")
    return ScalingRules(window, policies, select)


def _policy(spec: Any, where: str) -> ScalingPolicy:
    if not isinstance(spec, dict) or spec.get("type") not in ("Pods", "Percent"):
        raise BehaviorError(f"{where}.type must be Pods or Percent")
    value, period = spec.get("value"), spec.get("periodSeconds")
    if not isinstance(value, int) or value <= 0:
        raise BehaviorError(f"{where}.value must be greater than zero, not {value!r}")
    if not isinstance(period, int) or not 0 < period <= 1800:
        raise BehaviorError(f"{where}.periodSeconds must be 1..1800, not {period!r}")
    return ScalingPolicy(spec["type"], value, period)


def behavior_from_spec(spec: dict | None) -> Behavior | None:
    """``spec.behavior`` with its defaults filled in; None when the HPA has none."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise BehaviorError("spec.behavior must be an object")
    return Behavior(_rules(spec.get("scaleUp"), DEFAULT_SCALE_UP, "spec.behavior.scaleUp"),
                    _rules(spec.get("scaleDown"), DEFAULT_SCALE_DOWN, "spec.behavior.scaleDown"))


def behavior_to_spec(behavior: Behavior) -> dict:
    """The API form of ``behavior`` (for creating HPAs from Python)."""
    def rules(r: ScalingRules) -> dict:
        return {"stabilizationWindowSeconds": r.stabilization_window_seconds,
                "selectPolicy": r.select_policy,
                "policies": [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
                             for p in r.policies]}
    return {"scaleUp": rules(behavior.scale_up), "scaleDown": rules(behavior.scale_down)}


# --- stabilization --------------------------------------------------------------------------
@pluggable("stabilized_recommendation")
def stabilized_recommendation(recommendations: list[Recommendation], now: float, current_replicas: int,
                              desired_replicas: int, up_window: float, down_window: float) -> int:
    """Bring ``desired_replicas`` within the recommendations of the two windows.

    A scale-up goes no higher than the lowest recommendation of the last
    ``up_window`` seconds; a scale-down no lower than the highest of the last
    ``down_window`` seconds (``desired_replicas`` itself counts in both).
    """
    up_limit = down_limit = desired_replicas
    for rec in recommendations:
        # a recommendation counts when it is strictly inside the window
        if rec.timestamp > now - up_window:
            up_limit = min(up_limit, rec.replicas)
        if rec.timestamp > now - down_window:
            down_limit = max(down_limit, rec.replicas)
    # start from where we are, move towards desired, as far as the limits allow
    recommendation = max(current_replicas, up_limit)
    return min(recommendation, down_limit)


# --- policies -------------------------------------------------------------------------------
@pluggable("scale_limit")
def scale_limit(current_replicas: int, rules: ScalingRules, direction: Direction,
                events: list[ScaleEvent], now: float) -> int:
    """The most (``up``) or fewest (``down``) replicas the policies allow right now.

    For each policy, the replicas at the start of its period are the current
    ones minus the changes made during the period; a Pods policy allows
    ``±value``, a Percent policy ``×(1 ± value/100)`` — rounded up when growing
    (so a small deployment can still grow) and down when shrinking.
    """
    if rules.select_policy == "Disabled":
        return current_replicas
    proposals = []
    for policy in rules.policies:
        changed = sum(e.change for e in events if e.timestamp > now - policy.period_seconds)
        period_start = current_replicas - changed
        if direction == "up":
            proposals.append(period_start + policy.value if policy.type == "Pods"
                             else math.ceil(period_start * (1 + policy.value / 100)))
        else:
            # subtle: int() truncates like Go's int32(float64) conversion
            proposals.append(period_start - policy.value if policy.type == "Pods"
                             else int(period_start * (1 - policy.value / 100)))
    if not proposals:
        return current_replicas
    # "Max" means the biggest change: the highest limit up, the lowest limit down
    biggest_change = rules.select_policy == "Max"
    if direction == "up":
        return max(proposals) if biggest_change else min(proposals)
    return min(proposals) if biggest_change else max(proposals)

"""From the metrics' recommendation to the replicas actually set: stabilize, limit, clamp.

Models ``normalizeDesiredReplicas`` and ``normalizeDesiredReplicasWithBehaviors``
of ``pkg/controller/podautoscaler/horizontal.go``, and the memory they need:
each HPA keeps its recent *recommendations* (for the stabilization windows) and
its recent *scale events* (for the policies' periods) in a :class:`ScaleHistory`.

Two paths, as upstream:

- the HPA has ``spec.behavior`` (with defaults filled in): stabilization over
  both windows, then the policies, then ``minReplicas``/``maxReplicas``;
- the HPA has no ``behavior``: the controller-wide downscale stabilization
  (``--horizontal-pod-autoscaler-downscale-stabilization``, 5 min) and the
  legacy scale-up limit ``max(2 × current, 4)``.

Each returns the conditions to set (``AbleToScale`` with a stabilization
reason, ``ScalingLimited`` with the limiting reason).

Simplified: scale events older than the longest policy period of *either*
direction are forgotten (upstream recycles them per direction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fromscratch.autoscaling import conditions as cond
from fromscratch.autoscaling.behavior import (
    Behavior,
    Recommendation,
    ScaleEvent,
    scale_limit,
    stabilized_recommendation,
)

SCALE_UP_LIMIT_FACTOR = 2.0  # legacy path: at most double ...
SCALE_UP_LIMIT_MINIMUM = 4  # ... or go to 4, whichever is more


@dataclass
class ScaleHistory:
    """What the controller remembers about one HPA between syncs."""

    recommendations: list[Recommendation] = field(default_factory=list)
    events: list[ScaleEvent] = field(default_factory=list)

    def remember(self, now: float, replicas: int, keep_for: float) -> None:
        self.recommendations = [r for r in self.recommendations if r.timestamp > now - keep_for]
        self.recommendations.append(Recommendation(now, replicas))

    def record_scale(self, behavior: Behavior | None, now: float, before: int, after: int) -> None:
        """Remember a rescale, for the policies' periods (only HPAs with behavior use them)."""
        if behavior is None or before == after:
            return
        longest = max((p.period_seconds for r in (behavior.scale_up, behavior.scale_down)
                       for p in r.policies), default=0)
        self.events = [e for e in self.events if e.timestamp > now - longest]
        self.events.append(ScaleEvent(now, after - before))


def _stabilized_condition(desired: int, stabilized: int, current: int) -> cond.Condition:
    if stabilized == desired:
        return cond.READY_FOR_NEW_SCALE
    return cond.SCALE_UP_STABILIZED if desired >= current else cond.SCALE_DOWN_STABILIZED


def normalize_with_behavior(history: ScaleHistory, behavior: Behavior, *, now: float, current: int,
                            desired: int, min_replicas: int, max_replicas: int
                            ) -> tuple[int, list[cond.Condition]]:
    """Stabilize over both windows, then apply the policies and the bounds."""
    up, down = behavior.scale_up, behavior.scale_down
    # 1. stabilization: compare with what the metrics said recently
    stabilized = stabilized_recommendation(
        history.recommendations, now, current, desired,
        up.stabilization_window_seconds, down.stabilization_window_seconds)
    history.remember(now, desired, max(up.stabilization_window_seconds,
                                       down.stabilization_window_seconds))
    conditions = [_stabilized_condition(desired, stabilized, current)]
    # 2. rate: the policies bound how far one period may move us, then min/max
    result, limit = stabilized, cond.WITHIN_RANGE
    if stabilized > current:
        allowed_up = max(scale_limit(current, up, "up", history.events, now), current)
        if max_replicas > allowed_up:
            ceiling, limit = allowed_up, cond.SCALE_UP_LIMIT
        else:
            ceiling, limit = max_replicas, cond.TOO_MANY_REPLICAS
        result = min(stabilized, ceiling)
    elif stabilized < current:
        allowed_down = min(scale_limit(current, down, "down", history.events, now), current)
        if min_replicas < allowed_down:
            floor, limit = allowed_down, cond.SCALE_DOWN_LIMIT
        else:
            floor, limit = min_replicas, cond.TOO_FEW_REPLICAS
        result = max(stabilized, floor)
    if result == stabilized:
        limit = cond.WITHIN_RANGE
    conditions.append(limit)
    return result, conditions


def normalize_legacy(history: ScaleHistory, *, now: float, current: int, desired: int,
                     min_replicas: int, max_replicas: int, downscale_window: float = 300.0
                     ) -> tuple[int, list[cond.Condition]]:
    """No ``behavior``: downscale stabilization, then ``max(2×current, 4)`` and the bounds."""
    # 1. the highest recommendation of the downscale window (inclusive at its edge)
    stabilized = max([desired] + [r.replicas for r in history.recommendations
                                  if r.timestamp >= now - downscale_window])
    history.remember(now, desired, downscale_window + 1e-9)
    conditions = [cond.READY_FOR_NEW_SCALE if stabilized == desired else cond.SCALE_DOWN_STABILIZED]
    # 2. the legacy rules: never grow faster than the scale-up limit
    scale_up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if max_replicas > scale_up_limit:
        ceiling, too_many = scale_up_limit, cond.SCALE_UP_LIMIT
    else:
        ceiling, too_many = max_replicas, cond.TOO_MANY_REPLICAS
    if stabilized < min_replicas:
        result, limit = min_replicas, cond.TOO_FEW_REPLICAS
    elif stabilized > ceiling:
        result, limit = ceiling, too_many
    else:
        result, limit = stabilized, cond.WITHIN_RANGE
    conditions.append(limit)
    return result, conditions

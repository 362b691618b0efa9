"""The arithmetic of a rolling update: surge, unavailability, one step, proportional scaling.

Models ``pkg/controller/deployment/rolling.go``, ``sync.go`` (``scale``) and
``util/deployment_util.go`` (``ResolveFenceposts``, ``NewRSNewReplicas``,
``GetProportion``).  All pure functions over :class:`ReplicaSetState`, so they
can be checked against the Kubernetes documentation's worked examples:

- ``maxSurge`` and ``maxUnavailable`` are an int or a percentage of
  ``replicas``; the surge **rounds up**, the unavailability **rounds down**, and
  when both come out 0 the unavailability becomes 1 (otherwise nothing could move);
- one step of a rolling update (:func:`rolling_update_step`) first scales the new
  ReplicaSet up as far as ``replicas + maxSurge`` allows (counting Pods an old
  ReplicaSet still has above its new size: they are not gone yet); only if it could not,
  scales old ReplicaSets down as far as ``replicas - maxUnavailable`` available
  Pods allow — unhealthy old Pods first, oldest ReplicaSets first;
- scaling a Deployment in the middle of a rollout (:func:`proportional_scale`)
  spreads the extra (or missing) replicas over the ReplicaSets in proportion to
  their size, using each ReplicaSet's ``max-replicas`` annotation, with the
  rounding leftover going to the largest.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fromscratch.exercises import pluggable

IntOrPercent = int | str


@dataclass(frozen=True)
class ReplicaSetState:
    """What the rollout arithmetic needs to know about one ReplicaSet."""

    name: str
    replicas: int  # spec.replicas
    available: int = 0  # status.availableReplicas
    created: float = 0.0  # creationTimestamp (seconds): older ReplicaSets scale down first
    max_replicas: int | None = None  # annotation deployment.kubernetes.io/max-replicas
    pods: int | None = None  # status.replicas: Pods that exist (more than spec while scaling down)

    @property
    def footprint(self) -> int:
        """The Pods this ReplicaSet may have right now: its spec, or more if some are not gone yet."""
        return max(self.replicas, self.pods or 0)


def scaled_value(value: IntOrPercent, total: int, *, round_up: bool) -> int:
    """An int as is, or ``"25%"`` of ``total`` (intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, bool):
        raise ValueError(f"expected an int or a percentage, got {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]+%", value):
        raise ValueError(f"invalid value for IntOrString: {value!r} is not an int or a percentage")
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(max_surge: IntOrPercent, max_unavailable: IntOrPercent,
                       replicas: int) -> tuple[int, int]:
    """``(surge, unavailable)`` in Pods: surge rounds up, unavailable down, never both 0."""
    surge = scaled_value(max_surge, replicas, round_up=True)
    unavailable = scaled_value(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        # "both zero -> maxUnavailable 1": otherwise the rollout could never make progress
        unavailable = 1
    return surge, unavailable


def _total(states: list[ReplicaSetState]) -> int:
    return sum(s.replicas for s in states)


def new_rs_replicas(*, replicas: int, max_surge: IntOrPercent, new: ReplicaSetState,
                    old: list[ReplicaSetState]) -> int:
    """How big the new ReplicaSet may get now (NewRSNewReplicas for RollingUpdate)."""
    surge = scaled_value(max_surge, replicas, round_up=True)
    # subtle: count Pods an old ReplicaSet has not deleted yet, or the surge is exceeded for a moment
    current = sum(s.footprint for s in old) + new.footprint
    max_total = replicas + surge
    if current >= max_total:
        return new.replicas
    return new.replicas + min(max_total - current, replicas - new.replicas)


@pluggable("rolling_update_step")
def rolling_update_step(*, replicas: int, max_surge: IntOrPercent, max_unavailable: IntOrPercent,
                        new: ReplicaSetState, old: list[ReplicaSetState]) -> dict[str, int]:
    """The ReplicaSet sizes after one step of a rolling update: ``{name: spec.replicas}``.

    Only ReplicaSets whose size changes appear in the result; ``{}`` means
    "wait": nothing can move until more Pods become available.
    """
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    # 1. the new ReplicaSet: scale it down if too big, up as far as the surge allows
    if new.replicas > replicas:
        return {new.name: replicas}
    target = new_rs_replicas(replicas=replicas, max_surge=max_surge, new=new, old=old)
    if target != new.replicas:
        return {new.name: target}
    # 2. the old ones: how many Pods may go while keeping minAvailable
    if _total(old) == 0:
        return {}
    _, unavailable = resolve_fenceposts(max_surge, max_unavailable, replicas)
    unavailable = min(unavailable, replicas)
    min_available = replicas - unavailable
    new_unavailable = new.replicas - new.available
    max_scaled_down = _total(old) + new.replicas - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    sizes = {s.name: s.replicas for s in old}
    oldest_first = sorted(old, key=lambda s: (s.created, s.name))
    # 2a. unhealthy old Pods first: they give no availability anyway
    cleaned = 0
    for rs in oldest_first:
        if cleaned >= max_scaled_down:
            break
        unhealthy = rs.replicas - rs.available
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        count = min(max_scaled_down - cleaned, unhealthy)
        sizes[rs.name] -= count
        cleaned += count
    # 2b. then available old Pods, down to minAvailable, oldest ReplicaSet first
    available = sum(s.available for s in old) + new.available
    if available > min_available:
        to_remove, removed = available - min_available, 0
        for rs in oldest_first:
            if removed >= to_remove:
                break
            if sizes[rs.name] == 0:
                continue
            count = min(sizes[rs.name], to_remove - removed)
            sizes[rs.name] -= count
            removed += count
    return {name: size for name, size in sizes.items()
            if size != next(s.replicas for s in old if s.name == name)}


def _fraction(rs: ReplicaSetState, replicas: int, surge: int, status_replicas: int) -> int:
    # getReplicaSetFraction: the share of the new total this ReplicaSet should hold
    if replicas == 0:
        return -rs.replicas
    before = rs.max_replicas or status_replicas
    if not before:
        return 0
    # Go's math.Round: halves away from zero
    return int(math.floor(rs.replicas * (replicas + surge) / before + 0.5)) - rs.replicas


@pluggable("proportional_scale")
def proportional_scale(*, replicas: int, max_surge: IntOrPercent, new: ReplicaSetState | None,
                       old: list[ReplicaSetState], status_replicas: int = 0) -> dict[str, int]:
    """New sizes of the active ReplicaSets when a Deployment is resized mid-rollout.

    ``status_replicas`` (the Deployment's ``status.replicas``) stands in for a
    missing ``max-replicas`` annotation.  Returns ``{name: spec.replicas}`` for
    every active ReplicaSet (those with replicas > 0).
    """
    surge = scaled_value(max_surge, replicas, round_up=True)
    active = [rs for rs in ([*old, new] if new is not None else old) if rs.replicas > 0]
    allowed = replicas + surge if replicas > 0 else 0
    to_add = allowed - _total(active)
    if to_add > 0:  # largest first; among equals the newest
        active.sort(key=lambda s: (-s.replicas, -s.created, s.name))
    elif to_add < 0:  # largest first; among equals the oldest
        active.sort(key=lambda s: (-s.replicas, s.created, s.name))
    sizes, added = {}, 0
    for rs in active:
        proportion = 0
        if to_add != 0 and to_add != added:
            fraction = _fraction(rs, replicas, surge, status_replicas)
            left = to_add - added
            proportion = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes[rs.name] = rs.replicas + proportion
        added += proportion
    if active and to_add != 0:
        # the rounding leftover goes to the largest ReplicaSet
        first = active[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes

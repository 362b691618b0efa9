"""How many Pods a ReplicaSet must create, and which Pods it should delete first.

Models ``manageReplicas`` and ``getPodsToDelete`` of the ReplicaSet controller
(``pkg/controller/replicaset/replica_set.go``) and the deletion ranking
``ActivePodsWithRanks.Less`` (``pkg/controller/controller_utils.go``).  When
there are too many Pods, the ones deleted first are the cheapest to lose:

1. unscheduled before scheduled (no ``spec.nodeName``);
2. ``Pending`` before ``Unknown`` before ``Running``;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` before higher;
5. Pods on a node crowded with more Pods of the same ReplicaSet before others ("doubled up");
6. ready for less time before ready for longer;
7. more container restarts before fewer;
8. newer before older (by creationTimestamp).

Simplified: the ``LogarithmicScaleDown`` variant (timestamps compared on a log
scale, ties broken by uid) is not modelled; rules 6 and 8 compare exact times.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fromscratch.controllers.podutil import (
    is_pod_active,
    is_pod_ready,
    max_container_restarts,
    parse_time,
    pod_ready_since,
)
from fromscratch.exercises import pluggable

Obj = dict[str, Any]
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}  # anything else ranks with Pending


@dataclass
class ReplicaDiff:
    """What reconciling a ReplicaSet means right now: create N Pods, or delete these."""

    create: int = 0
    delete: list[Obj] = field(default_factory=list)


def _deletion_cost(pod: Obj) -> int:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST, "0")
    try:
        return int(text)
    except ValueError:
        return 0


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    # "empty time < newer < older": a missing time counts as the newest of all
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _less(a: tuple[Obj, int], b: tuple[Obj, int]) -> bool:
    """Should ``a`` be deleted before ``b``? (ActivePodsWithRanks.Less)"""
    (pa, rank_a), (pb, rank_b) = a, b
    node_a, node_b = pa["spec"].get("nodeName") or "", pb["spec"].get("nodeName") or ""
    # 1. unassigned < assigned
    if node_a != node_b and (not node_a or not node_b):
        return not node_a
    # 2. Pending < Unknown < Running
    phase_a = PHASE_ORDER.get((pa.get("status") or {}).get("phase", ""), 0)
    phase_b = PHASE_ORDER.get((pb.get("status") or {}).get("phase", ""), 0)
    if phase_a != phase_b:
        return phase_a < phase_b
    # 3. not ready < ready
    ready_a, ready_b = is_pod_ready(pa), is_pod_ready(pb)
    if ready_a != ready_b:
        return not ready_a
    # 4. lower deletion cost < higher
    if _deletion_cost(pa) != _deletion_cost(pb):
        return _deletion_cost(pa) < _deletion_cost(pb)
    # 5. doubled up < not doubled up
    if rank_a != rank_b:
        return rank_a > rank_b
    # 6. ready for less time < ready for longer
    if ready_a and ready_b:
        since_a, since_b = pod_ready_since(pa), pod_ready_since(pb)
        if since_a != since_b:
            return _after_or_zero(since_a, since_b)
    # 7. more restarts < fewer restarts
    if max_container_restarts(pa) != max_container_restarts(pb):
        return max_container_restarts(pa) > max_container_restarts(pb)
    # 8. newer < older
    created_a = parse_time(pa["metadata"].get("creationTimestamp"))
    created_b = parse_time(pb["metadata"].get("creationTimestamp"))
    if created_a != created_b:
        return _after_or_zero(created_a, created_b)
    return False


def rank_for_deletion(pods: list[Obj], related: list[Obj] | None = None) -> list[Obj]:
    """``pods`` sorted so that the first ones are the best to delete.

    ``related`` (default: ``pods``) are the Pods counted for rule 5: how many
    active Pods of the same owner share each node.
    """
    per_node = Counter((p["spec"].get("nodeName") or "") for p in (related or pods) if is_pod_active(p))
    ranked = [(pod, per_node[pod["spec"].get("nodeName") or ""]) for pod in pods]

    def compare(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
        return -1 if _less(a, b) else (1 if _less(b, a) else 0)

    return [pod for pod, _ in sorted(ranked, key=functools.cmp_to_key(compare))]


@pluggable("replicaset_diff")
def replicaset_diff(replicas: int, pods: list[Obj], *, burst: int = 500) -> ReplicaDiff:
    """Compare the desired ``replicas`` with the ReplicaSet's ``pods``.

    Only active Pods count (not Succeeded/Failed, not being deleted).  Too few:
    create the difference, at most ``burst`` at a time.  Too many: delete the
    difference, choosing Pods with :func:`rank_for_deletion`.
    """
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    active = [pod for pod in pods if is_pod_active(pod)]
    diff = len(active) - replicas
    if diff < 0:
        return ReplicaDiff(create=min(-diff, burst))
    if diff > 0:
        return ReplicaDiff(delete=rank_for_deletion(active)[:min(diff, burst)])
    return ReplicaDiff()

"""A StatefulSet's next move: which ordinal to create, delete or update now.

Models the ordering rules of ``pkg/controller/statefulset/stateful_set_control.go``
(as the StatefulSet documentation states them):

- **OrderedReady** (the default): Pods are created one at a time in order
  ``0, 1, ... N-1``, each only when every predecessor is Running and Ready;
  scaling down deletes the highest ordinal first, one at a time, and only when
  every remaining Pod is Running and Ready; a Pod that is terminating or not
  ready blocks everything after it;
- **Parallel**: every missing Pod is created and every surplus Pod deleted at once;
- a **Failed** Pod is deleted (it is recreated with the same name next time);
- **RollingUpdate** (after scaling has settled): Pods whose revision is not the
  update revision are deleted — the controller recreates them at the new
  revision — from the highest ordinal down to ``partition`` (lower ordinals keep
  the old revision: a canary), one at a time, waiting for the previous to be ready.

The decision is pure: it looks at :class:`PodState` per ordinal and returns
:class:`Action` s, so a test can replay the documentation's scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fromscratch.exercises import pluggable


@dataclass(frozen=True)
class PodState:
    """What the StatefulSet controller knows about the Pod with one ordinal."""

    running_ready: bool = False
    terminating: bool = False
    failed: bool = False
    revision: str = ""


@dataclass(frozen=True)
class Action:
    verb: Literal["create", "delete", "wait"]
    ordinal: int


@pluggable("statefulset_next_actions")
def statefulset_next_actions(*, replicas: int, pods: dict[int, PodState],
                             policy: Literal["OrderedReady", "Parallel"] = "OrderedReady",
                             update_revision: str = "", partition: int = 0) -> list[Action]:
    """What to do now; ``[]`` when the StatefulSet has converged.

    ``pods`` maps ordinal -> state for the Pods that exist.  With OrderedReady the
    answer holds at most one create or delete (or a ``wait`` naming the blocking
    ordinal); with Parallel every create and delete that is due.
    """
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    if policy not in ("OrderedReady", "Parallel"):
        raise ValueError(f"podManagementPolicy must be OrderedReady or Parallel, not {policy!r}")
    ordered = policy == "OrderedReady"
    actions: list[Action] = []
    # 1. failed Pods go first: they are recreated under the same name
    for ordinal in sorted(pods):
        if pods[ordinal].failed and not pods[ordinal].terminating:
            actions.append(Action("delete", ordinal))
            if ordered:
                return actions
    # 2. the wanted ordinals 0..replicas-1, in order
    for ordinal in range(replicas):
        state = pods.get(ordinal)
        if state is None:
            actions.append(Action("create", ordinal))
            if ordered:
                return actions
        elif ordered and (state.terminating or not state.running_ready):
            return [Action("wait", ordinal)]
    # 3. surplus ordinals, highest first
    for ordinal in sorted((o for o in pods if o >= replicas), reverse=True):
        if pods[ordinal].terminating:
            if ordered:
                return [Action("wait", ordinal)]
            continue
        actions.append(Action("delete", ordinal))
        if ordered:
            return actions
    if actions:
        return actions
    # 4. rolling update: highest ordinal first, down to the partition, one at a time
    if update_revision:
        for ordinal in range(replicas - 1, -1, -1):
            state = pods[ordinal]
            if state.terminating or not state.running_ready:
                return [Action("wait", ordinal)]
            if ordinal >= partition and state.revision != update_revision:
                return [Action("delete", ordinal)]
    return []

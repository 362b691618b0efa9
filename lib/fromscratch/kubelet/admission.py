"""Kubelet-side admission: may this Pod run on this node at all?

The scheduler already checked, but a Pod can reach a kubelet without it
(``spec.nodeName`` set by hand, a static Pod, a race with another Pod), so the
kubelet checks again before starting anything — ``canAdmitPod`` with the
``predicateAdmitHandler`` of ``pkg/kubelet/lifecycle/predicate.go``, which reuses
the scheduler's own filter plugins.  A rejected Pod is never started: its phase
becomes ``Failed`` with

- reason ``OutOfcpu`` / ``OutOfmemory`` / ``OutOfpods`` and the message
  ``Pod was rejected: Node didn't have enough resource: cpu, requested: 5000,
  used: 0, capacity: 4000`` (millicores, or bytes) — the requests of the Pods
  already admitted plus this one exceed ``allocatable``;
- reason ``NodeAffinity``, message ``Pod was rejected: Predicate NodeAffinity
  failed`` — ``nodeSelector``/required node affinity do not match the node's labels.

Simplified: taints are not checked here (upstream only re-checks NoExecute
taints), nor extended resources or host ports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fromscratch.api.quantity import cpu_millicores, memory_bytes
from fromscratch.scheduler.filters import pod_requests
from fromscratch.scheduler.predicates import pod_matches_node_labels

Obj = dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    """Why the kubelet refused a Pod: the Pod's ``status.reason`` and ``status.message``."""

    reason: str
    message: str


def admit(pod: Obj, node: Obj, admitted: Iterable[Obj]) -> Rejection | None:
    """None if ``pod`` may run next to the ``admitted`` Pods on ``node``, else why not."""
    if not pod_matches_node_labels(pod, node):
        return Rejection("NodeAffinity", "Pod was rejected: Predicate NodeAffinity failed")
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    others = list(admitted)
    cpu, memory = pod_requests(pod)
    used_cpu = sum(pod_requests(p)[0] for p in others)
    used_memory = sum(pod_requests(p)[1] for p in others)
    checks = [("cpu", cpu, used_cpu, allocatable.get("cpu"), cpu_millicores),
              ("memory", memory, used_memory, allocatable.get("memory"), memory_bytes)]
    for name, requested, used, capacity_text, parse in checks:
        if capacity_text is None or requested == 0:
            continue
        capacity = parse(str(capacity_text))
        if requested + used > capacity:
            return Rejection(f"OutOf{name}", f"Pod was rejected: Node didn't have enough resource: "
                                             f"{name}, requested: {requested}, used: {used}, "
                                             f"capacity: {capacity}")
    max_pods = allocatable.get("pods")
    if max_pods is not None and len(others) + 1 > int(max_pods):
        return Rejection("OutOfpods", f"Pod was rejected: Node didn't have enough resource: pods, "
                                      f"requested: 1, used: {len(others)}, capacity: {max_pods}")
    return None

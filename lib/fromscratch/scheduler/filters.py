"""Filters: can this Pod run on this node at all?  Each failed check is a reason.

Models the Filter plugins of kube-scheduler's default profile
(``pkg/scheduler/framework/plugins``), with their messages, so the "why" a
notebook prints reads like ``kubectl describe pod``'s FailedScheduling event:

- **NodeUnschedulable**: a cordoned node (``spec.unschedulable``) takes no Pods,
  unless the Pod tolerates ``node.kubernetes.io/unschedulable:NoSchedule``;
- **NodeAffinity**: ``nodeSelector`` and required node affinity must match;
- **TaintToleration**: no NoSchedule or NoExecute taint may be left untolerated;
- **NodeResourcesFit**: the Pod's requests plus those of the Pods already on the
  node must fit the node's allocatable cpu and memory, and the pod count its ``pods``.

Requests are summed over containers; an init container needing more than all
containers together sets the Pod's request (``max(init, sum(containers))``),
plus ``spec.overhead``.  What is already on a node is summed once, in a
:class:`NodeInfo` the scheduler keeps up to date (upstream's ``framework.NodeInfo``),
so a filter costs the same however many Pods a node runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fromscratch.api.quantity import cpu_millicores, memory_bytes
from fromscratch.exercises import pluggable
from fromscratch.scheduler.predicates import pod_matches_node_labels, untolerated_taints

Obj = dict[str, Any]
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_TOO_MANY_PODS = "Too many pods"
DEFAULT_MILLI_CPU_REQUEST = 100  # what a Pod without requests counts as when scoring
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def _amount(resources: Obj, name: str) -> int:
    value = resources.get(name)
    if value is None:
        return 0
    return cpu_millicores(str(value)) if name == "cpu" else memory_bytes(str(value))


def container_requests(container: Obj) -> tuple[int, int]:
    """``(millicpu, memory bytes)`` a container requests (its limits if it sets no requests)."""
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    return tuple(_amount(requests, r) if r in requests else _amount(limits, r)  # type: ignore[return-value]
                 for r in ("cpu", "memory"))


_REQUESTS_SEEN: dict[tuple[str, str], tuple[int, int]] = {}


def pod_requests(pod: Obj) -> tuple[int, int]:
    """``(millicpu, memory bytes)`` the Pod requests (containers, init containers, overhead)."""
    meta = pod.get("metadata") or {}
    # a stored Pod's requests never change: remember them by uid and resourceVersion
    memo = (meta["uid"], meta["resourceVersion"]) if meta.get("uid") and meta.get("resourceVersion") \
        else None
    if memo is not None and memo in _REQUESTS_SEEN:
        return _REQUESTS_SEEN[memo]
    result = _pod_requests(pod)
    if memo is not None:
        if len(_REQUESTS_SEEN) > 200_000:
            _REQUESTS_SEEN.clear()
        _REQUESTS_SEEN[memo] = result
    return result


def _pod_requests(pod: Obj) -> tuple[int, int]:
    spec = pod.get("spec") or {}
    cpu = sum(container_requests(c)[0] for c in spec.get("containers") or [])
    memory = sum(container_requests(c)[1] for c in spec.get("containers") or [])
    for init in spec.get("initContainers") or []:
        init_cpu, init_memory = container_requests(init)
        cpu, memory = max(cpu, init_cpu), max(memory, init_memory)
    overhead = spec.get("overhead") or {}
    return cpu + _amount(overhead, "cpu"), memory + _amount(overhead, "memory")


def _non_missing_requests(container: Obj) -> tuple[int, int]:
    """A container's requests, with the scoring defaults for a resource it does not name at all
    (an explicit ``0`` stays 0: upstream's ``NonMissingContainerRequests``)."""
    resources = container.get("resources") or {}
    named = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    cpu, memory = container_requests(container)
    return (cpu if "cpu" in named else DEFAULT_MILLI_CPU_REQUEST,
            memory if "memory" in named else DEFAULT_MEMORY_REQUEST)


def non_zero_requests(pod: Obj) -> tuple[int, int]:
    """What the scoring plugins count for a Pod: its requests, each container's missing cpu or
    memory request replaced by 100m / 200 MiB, so empty Pods do not all look free."""
    spec = pod.get("spec") or {}
    requests = [_non_missing_requests(c) for c in spec.get("containers") or []]
    cpu, memory = sum(r[0] for r in requests), sum(r[1] for r in requests)
    for init in spec.get("initContainers") or []:
        init_cpu, init_memory = _non_missing_requests(init)
        cpu, memory = max(cpu, init_cpu), max(memory, init_memory)
    overhead = spec.get("overhead") or {}
    return cpu + _amount(overhead, "cpu"), memory + _amount(overhead, "memory")


@dataclass
class NodeInfo:
    """A node and the Pods on it, with their requests summed (kept up to date incrementally)."""

    node: Obj
    pods: dict[str, Obj] = field(default_factory=dict)  # "namespace/name" -> Pod
    requested: tuple[int, int] = (0, 0)  # (millicpu, memory bytes)
    non_zero_requested: tuple[int, int] = (0, 0)  # the same, with defaults for empty Pods

    @classmethod
    def of(cls, node: Obj, pods: list[Obj] = ()) -> NodeInfo:  # type: ignore[assignment]
        info = cls(node)
        for pod in pods:
            info.add(pod)
        return info

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]

    def add(self, pod: Obj) -> None:
        key = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
        if key in self.pods:
            self.remove(key)
        self.pods[key] = pod
        self._count(pod, +1)

    def remove(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._count(pod, -1)

    def _count(self, pod: Obj, sign: int) -> None:
        (cpu, memory), (nz_cpu, nz_memory) = pod_requests(pod), non_zero_requests(pod)
        self.requested = (self.requested[0] + sign * cpu, self.requested[1] + sign * memory)
        self.non_zero_requested = (self.non_zero_requested[0] + sign * nz_cpu,
                                   self.non_zero_requested[1] + sign * nz_memory)


_ALLOCATABLE_SEEN: dict[tuple[str, str], tuple[int, int, int]] = {}


def node_allocatable(node: Obj) -> tuple[int, int, int]:
    """``(millicpu, memory bytes, pods)`` from ``status.allocatable`` (or ``capacity``)."""
    meta = node.get("metadata") or {}
    memo = (meta["uid"], meta["resourceVersion"]) if meta.get("uid") and meta.get("resourceVersion") \
        else None
    if memo is not None and memo in _ALLOCATABLE_SEEN:
        return _ALLOCATABLE_SEEN[memo]
    result = _node_allocatable(node)
    if memo is not None:
        if len(_ALLOCATABLE_SEEN) > 100_000:
            _ALLOCATABLE_SEEN.clear()
        _ALLOCATABLE_SEEN[memo] = result
    return result


def _node_allocatable(node: Obj) -> tuple[int, int, int]:
    status = node.get("status") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    pods = allocatable.get("pods")
    return (_amount(allocatable, "cpu"), _amount(allocatable, "memory"),
            int(str(pods)) if pods is not None else 110)


@pluggable("filter_node")
def filter_node(pod: Obj, node_info: NodeInfo) -> list[str]:
    """Why ``pod`` cannot run on ``node_info.node``; ``[]`` if it can."""
    node = node_info.node
    spec, node_spec = pod.get("spec") or {}, node.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    reasons: list[str] = []
    # NodeUnschedulable
    if node_spec.get("unschedulable") and untolerated_taints([UNSCHEDULABLE_TAINT], tolerations):
        reasons.append(REASON_UNSCHEDULABLE)
    # NodeAffinity
    if not pod_matches_node_labels(pod, node):
        reasons.append(REASON_AFFINITY)
    # TaintToleration: the first untolerated taint is named, as upstream does
    bad = untolerated_taints(node_spec.get("taints") or [], tolerations, ("NoSchedule", "NoExecute"))
    if bad:
        reasons.append(f"node(s) had untolerated taint {{{bad[0].get('key', '')}: "
                       f"{bad[0].get('value', '')}}}")
    # NodeResourcesFit
    cpu, memory, max_pods = node_allocatable(node)
    want_cpu, want_memory = pod_requests(pod)
    used_cpu, used_memory = node_info.requested
    if len(node_info.pods) + 1 > max_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    if want_cpu and want_cpu + used_cpu > cpu:
        reasons.append("Insufficient cpu")
    if want_memory and want_memory + used_memory > memory:
        reasons.append("Insufficient memory")
    return reasons

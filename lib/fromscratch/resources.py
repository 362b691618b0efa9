"""Kubernetes resources -> cgroup settings: what the kubelet writes for requests and limits.

A container's ``resources.requests`` and ``resources.limits`` end up as a handful
of numbers in cgroup files.  The conversions are the kubelet's
(``pkg/kubelet/cm/helpers_linux.go``, ``kuberuntime_container_linux.go``):

- CPU **request** -> ``cpu.shares`` = millicores × 1024 / 1000, clamped to
  [2, 262144] (``MilliCPUToShares``); on cgroup v2 runc turns shares into
  ``cpu.weight`` (``fromscratch.linux.cgroups_v2.cpu_shares_to_weight``);
- CPU **limit** -> CFS quota = millicores × period / 1000 µs, at least 1000 µs,
  with a period of 100000 µs (``milliCPUToQuota``); no limit, no quota;
- memory **limit** -> ``memory.max`` / ``memory.limit_in_bytes`` in bytes
  (``Quantity.Value()``, rounded up); the kernel then rounds *down* to a page;
- the pod's **QoS class** (Guaranteed / Burstable / BestEffort) from all its
  containers, init containers included (``GetPodQOS``; the "Pod Quality of
  Service Classes" page of the Kubernetes docs).

Examples from those sources: 500m -> shares 512, quota 50000 µs; 100m -> shares
102, quota 10000 µs.
Left out: pod-level cgroups (``ResourceConfigForPod``), pod-level resources,
hugepages, the static CPU manager, and ``memory.high`` from MemoryQoS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fromscratch.api.quantity import cpu_millicores, memory_bytes
from fromscratch.exercises import pluggable
from fromscratch.linux.cgroups import CgroupLimits

MIN_SHARES = 2
MAX_SHARES = 262_144
SHARES_PER_CPU = 1024
MILLICPU_PER_CPU = 1000
QUOTA_PERIOD_US = 100_000
MIN_QUOTA_US = 1000
PAGE_SIZE = 4096

QOSClass = Literal["Guaranteed", "Burstable", "BestEffort"]
QOS_RESOURCES = ("cpu", "memory")  # only these two decide the class


def _millicores(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"millicores must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"millicores cannot be negative, got {value}")
    return value


@pluggable("milli_cpu_to_shares")
def milli_cpu_to_shares(millicores: int) -> int:
    """CPU request in millicores -> ``cpu.shares``: 500 -> 512, 0 -> 2, 1 -> 2."""
    millicores = _millicores(millicores)
    # conceptually (millicores / 1000) * 1024, in integers to round the same way
    shares = millicores * SHARES_PER_CPU // MILLICPU_PER_CPU
    return min(max(shares, MIN_SHARES), MAX_SHARES)


@pluggable("milli_cpu_to_quota")
def milli_cpu_to_quota(millicores: int, period_us: int = QUOTA_PERIOD_US) -> int:
    """CPU limit -> CFS quota in µs per ``period_us``: 500 -> 50000; 0 -> 0 (no quota)."""
    millicores = _millicores(millicores)
    if isinstance(period_us, bool) or not isinstance(period_us, int) or period_us <= 0:
        raise ValueError(f"period must be a positive number of microseconds, got {period_us!r}")
    if millicores == 0:
        return 0
    quota = millicores * period_us // MILLICPU_PER_CPU
    # subtle: the kernel refuses quotas under 1 ms, so tiny limits get 1 ms
    return max(quota, MIN_QUOTA_US)


@pluggable("kernel_memory_limit")
def kernel_memory_limit(quantity: str, page_size: int = PAGE_SIZE) -> int:
    """The memory limit the kernel will enforce for ``quantity``: bytes rounded down to a page.

    ``"100M"`` -> 99999744 (the kubelet writes 100000000; ``memory.max`` reads back less).
    """
    if page_size <= 0 or page_size & (page_size - 1):
        raise ValueError(f"page size must be a positive power of two, got {page_size}")
    return memory_bytes(quantity) // page_size * page_size


def _resources(container: Mapping[str, Any], kind: str) -> dict[str, str]:
    resources = container.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise ValueError(f"container {container.get('name')!r}: resources must be a mapping")
    values = resources.get(kind) or {}
    if not isinstance(values, Mapping):
        raise ValueError(f"container {container.get('name')!r}: resources.{kind} must be a mapping")
    return {str(k): str(v) for k, v in values.items()}


def effective_requests(container: Mapping[str, Any]) -> dict[str, str]:
    """Requests after API defaulting: a resource with a limit but no request requests its limit."""
    requests = _resources(container, "requests")
    for name, limit in _resources(container, "limits").items():
        requests.setdefault(name, limit)
    return requests


def _amount(name: str, text: str) -> int:
    return cpu_millicores(text) if name == "cpu" else memory_bytes(text)


@pluggable("qos_class")
def qos_class(pod: Mapping[str, Any]) -> QOSClass:
    """The pod's QoS class from its containers and init containers (cpu and memory only).

    Guaranteed: every container has cpu and memory limits, and requests equal to them.
    BestEffort: no container has any cpu or memory request or limit.  Burstable: the rest.
    """
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    if not containers:
        raise ValueError("a pod needs at least one container in spec.containers")
    guaranteed, anything = True, False
    for container in containers:
        # a zero quantity counts as not set, like GetPodQOS's "greater than zero" check
        limits = {n: _amount(n, v) for n, v in _resources(container, "limits").items()
                  if n in QOS_RESOURCES}
        requests = {n: _amount(n, v) for n, v in effective_requests(container).items()
                    if n in QOS_RESOURCES}
        limits = {n: v for n, v in limits.items() if v > 0}
        requests = {n: v for n, v in requests.items() if v > 0}
        anything = anything or bool(limits) or bool(requests)
        if set(limits) != set(QOS_RESOURCES) or requests != limits:
            guaranteed = False
    if not anything:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def container_limits(container: Mapping[str, Any], *, period_us: int = QUOTA_PERIOD_US,
                     pids_max: int | None = None) -> CgroupLimits:
    """The cgroup settings the kubelet derives for one container (``calculateLinuxResources``)."""
    requests, limits = effective_requests(container), _resources(container, "limits")
    cpu_request = cpu_millicores(requests["cpu"]) if "cpu" in requests else 0
    cpu_limit = cpu_millicores(limits["cpu"]) if "cpu" in limits else 0
    memory_limit = memory_bytes(limits["memory"]) if "memory" in limits else 0
    quota = milli_cpu_to_quota(cpu_limit, period_us)
    return CgroupLimits(
        cpu_shares=milli_cpu_to_shares(cpu_request),
        cpu_quota_us=quota or None,
        cpu_period_us=period_us,
        memory_max=memory_limit or None,
        pids_max=pids_max,
    )

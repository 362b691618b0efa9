"""Resource usage sampling: CPU in millicores and memory working set, the way kubelet reports it.

Kubernetes' resource metrics (``kubectl top``, the HorizontalPodAutoscaler) come
from the kubelet, which reads cgroup counters through cAdvisor: a *cumulative*
CPU time counter sampled twice gives a rate, and the *working set* is memory
usage minus inactive file cache (memory that could be dropped on demand).

Where the numbers come from, by mode:

- a :class:`~fromscratch.linux.cgroups.Cgroup` (real v1/v2 or simulated):
  ``cpu.stat``/``cpuacct.usage`` and ``memory.current``/``memory.usage_in_bytes``;
- a PID, where cgroups are not available: process accounting from ``/proc``
  through psutil (CPU time of the process and its children, resident memory).

Utilisation over an interval is ``Δusage / Δtime``; :func:`cpu_utilization`
returns it in millicores (1000 = one CPU busy the whole time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fromscratch.exercises import pluggable
from fromscratch.linux.cgroups import Cgroup


@dataclass(frozen=True)
class UsageSample:
    """One reading: when, cumulative CPU time used so far, memory working set now."""

    timestamp: float  # seconds, from a monotonic clock
    cpu_usage_usec: int
    memory_working_set: int = 0


@pluggable("cpu_utilization")
def cpu_utilization(before: UsageSample, after: UsageSample) -> int:
    """CPU used between two samples, in millicores, rounded to the nearest one.

    1.5 s of CPU time in 3 s of wall-clock time is 500 millicores (half a CPU).
    """
    elapsed = after.timestamp - before.timestamp
    if elapsed <= 0:
        raise ValueError(f"samples must be in time order, {elapsed:+.6f} s apart")
    used = after.cpu_usage_usec - before.cpu_usage_usec
    if used < 0:
        # a cumulative counter only goes down when the group was recreated
        raise ValueError("CPU usage went backwards: the samples are not from the same group")
    return round(used / 1_000_000 / elapsed * 1000)


def sample_cgroup(group: Cgroup) -> UsageSample:
    """Read a group's counters (in its own clock: virtual time in the simulated kernel)."""
    return UsageSample(timestamp=group.now(), cpu_usage_usec=group.cpu_stat().usage_usec,
                       memory_working_set=group.memory_working_set())


def sample_process(pid: int, *, clock: Callable[[], float] = time.monotonic) -> UsageSample:
    """Process accounting for ``pid`` and its descendants (psutil), when there is no cgroup."""
    import psutil

    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        raise ProcessLookupError(f"no process {pid}") from None
    cpu, memory = 0.0, 0
    for member in family:
        try:
            times = member.cpu_times()
            # children_* counts descendants that already exited and were waited for
            cpu += times.user + times.system + times.children_user + times.children_system
            memory += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return UsageSample(timestamp=clock(), cpu_usage_usec=int(cpu * 1_000_000),
                       memory_working_set=memory)


class UsageMeter:
    """Sample a group (or a PID) repeatedly; each :meth:`read` gives the rate since the last.

    >>> meter = UsageMeter(group)          # doctest: +SKIP
    >>> group.sleep(1); meter.read()       # doctest: +SKIP
    (500, 12582912)                        # millicores, working-set bytes
    """

    def __init__(self, source: Cgroup | int) -> None:
        if isinstance(source, bool) or not isinstance(source, Cgroup | int):
            raise TypeError(f"sample a Cgroup or a PID, not {type(source).__name__}")
        self.source = source
        self.last = self.sample()

    def sample(self) -> UsageSample:
        if isinstance(self.source, Cgroup):
            return sample_cgroup(self.source)
        return sample_process(self.source)

    def read(self) -> tuple[int, int]:
        """(CPU millicores since the previous read, memory working set in bytes now)."""
        current = self.sample()
        millicores = cpu_utilization(self.last, current)
        self.last = current
        return millicores, current.memory_working_set

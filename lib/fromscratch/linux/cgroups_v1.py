"""cgroup v1: one hierarchy per controller, one directory per hierarchy.

On v1 a "container's cgroup" is really several directories with the same
name — ``/sys/fs/cgroup/cpu/fromscratch/web``, ``…/memory/fromscratch/web``,
``…/pids/fromscratch/web`` — and a process must be written into the
``cgroup.procs`` of each (v1 lets a process sit at different places in each
hierarchy; runc's ``fs`` driver, like us, keeps them in step).

The files this module speaks (Documentation/admin-guide/cgroup-v1/):

==========================  ===============================================
``cpu.cfs_period_us``       CFS period, 1000..1000000 µs
``cpu.cfs_quota_us``        CPU time per period, ≥ 1000 µs, or -1 for none
``cpu.shares``              relative weight, clamped by the kernel to 2..262144
``cpu.stat``                ``nr_periods``, ``nr_throttled``, ``throttled_time`` (ns)
``cpuacct.usage``           total CPU time used, ns
``memory.limit_in_bytes``   hard limit (-1: none; reads back as a huge number)
``memory.usage_in_bytes``   current usage, page cache included
``memory.failcnt``          how often the limit was hit
``memory.oom_control``      ``oom_kill_disable``, ``under_oom``, ``oom_kill``
``pids.max`` / ``.current`` task limit and count; ``pids.events`` counts refusals
==========================  ===============================================

Left out: cpuset, blkio, devices, freezer, the memsw (swap) and kmem files.
"""

from __future__ import annotations

from fromscratch.linux.cgroups import (
    DEFAULT_ROOT,
    Cgroup,
    CgroupFS,
    CgroupLimits,
    ControllerUnavailable,
    CpuStat,
    MemoryEvents,
    controller_of,
    parse_flat_keyed,
)

# the v1 controllers a container runtime puts each container into (here)
MANAGED_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids")
# memory.limit_in_bytes reads back as PAGE_COUNTER_MAX pages: anything this large means "none"
UNLIMITED_THRESHOLD = 2**62


class CgroupV1(Cgroup):
    """A group on the v1 hierarchies of ``cpu``, ``cpuacct``, ``memory`` and ``pids``."""

    version = 1

    def __init__(self, fs: CgroupFS, name: str, *, mounts: dict[str, str],
                 root: str = DEFAULT_ROOT) -> None:
        super().__init__(fs, name, root=root)
        # controller -> mount point, only for the controllers we manage and that are mounted
        self.mounts = {c: mounts[c] for c in MANAGED_CONTROLLERS if c in mounts}
        if not self.mounts:
            raise ControllerUnavailable("no cgroup v1 hierarchy for cpu, cpuacct, memory or pids")
        self._all_mounts = dict(mounts)

    def hierarchies(self) -> list[str]:
        # co-mounted controllers ("cpu,cpuacct") share one directory
        return list(dict.fromkeys(self.mounts.values()))

    def path_of(self, filename: str) -> str:
        controller = controller_of(filename)
        if controller == "cgroup":
            return f"{self.hierarchies()[0]}/{self.relpath}/{filename}"
        if controller not in self.mounts:
            if controller in self._all_mounts:
                raise ControllerUnavailable(
                    f"{filename}: this library does not create groups in the v1 {controller} "
                    f"hierarchy (it manages {', '.join(MANAGED_CONTROLLERS)})")
            raise ControllerUnavailable(
                f"{filename}: the {controller} controller has no v1 hierarchy on this machine"
                + (" (cgroup v1 has no such controller; is this a v2 file name?)"
                   if controller not in {"cpu", "cpuacct", "memory", "pids"} else ""))
        return f"{self.mounts[controller]}/{self.relpath}/{filename}"

    def _describe_missing(self, filename: str) -> str:
        return (f"{filename} does not exist in {self!r}: not a v1 file name "
                "(v2 names differ: cpu.max, memory.max ...), or the group was removed")

    def child(self, name: str) -> CgroupV1:
        return CgroupV1(self.fs, f"{self.name}/{name}", mounts=self._all_mounts, root=self.root)

    def procs_files(self) -> list[str]:
        return [f"{directory}/cgroup.procs" for directory in self.directories()]

    # -- limits
    def set_cpu_limit(self, quota_us: int | None, period_us: int = 100_000) -> None:
        CgroupLimits(cpu_quota_us=quota_us, cpu_period_us=period_us)  # validates
        if quota_us is None:
            self.write("cpu.cfs_quota_us", -1)
            return
        self.write("cpu.cfs_period_us", period_us)
        self.write("cpu.cfs_quota_us", quota_us)

    def set_cpu_shares(self, shares: int) -> None:
        CgroupLimits(cpu_shares=shares)
        self.write("cpu.shares", shares)

    def set_memory_max(self, limit: int | None) -> None:
        CgroupLimits(memory_max=limit)
        self.write("memory.limit_in_bytes", -1 if limit is None else limit)

    def set_pids_max(self, limit: int | None) -> None:
        CgroupLimits(pids_max=limit)
        self.write("pids.max", "max" if limit is None else limit)

    def limit_files(self) -> dict[str, str]:
        names = ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares",
                 "memory.limit_in_bytes", "pids.max"]
        return {n: self.read(n) for n in names if controller_of(n) in self.mounts}

    # -- accounting
    def cpu_stat(self) -> CpuStat:
        usage_ns = int(self.read("cpuacct.usage"))
        stat = parse_flat_keyed(self.read("cpu.stat"))
        return CpuStat(
            usage_usec=usage_ns // 1000,
            nr_periods=stat.get("nr_periods", 0),
            nr_throttled=stat.get("nr_throttled", 0),
            throttled_usec=stat.get("throttled_time", 0) // 1000,
        )

    def memory_current(self) -> int:
        return int(self.read("memory.usage_in_bytes"))

    def memory_working_set(self) -> int:
        stat = parse_flat_keyed(self.read("memory.stat"))
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
        return max(0, self.memory_current() - inactive)

    def memory_events(self) -> MemoryEvents:
        oom = parse_flat_keyed(self.read("memory.oom_control"))
        kills = oom.get("oom_kill", 0)
        return MemoryEvents(max=int(self.read("memory.failcnt")), oom=kills, oom_kill=kills)

    def pids_current(self) -> int:
        return int(self.read("pids.current"))

    def pids_refused(self) -> int:
        return parse_flat_keyed(self.read("pids.events")).get("max", 0)

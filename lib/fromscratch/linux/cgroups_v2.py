"""cgroup v2: one unified hierarchy, controllers handed down through ``subtree_control``.

On v2 a group is one directory.  Which controllers it may use is decided by
its parent: a controller listed in the parent's ``cgroup.controllers`` can be
switched on for the children by writing ``+cpu`` to the parent's
``cgroup.subtree_control``; only then do the children get ``cpu.max`` and
friends.  That is *delegation*, and it goes top-down from the root
(Documentation/admin-guide/cgroup-v2.rst, "Enabling and Disabling").  We write
``subtree_control`` only in directories we created (``fromscratch/`` and
below); if the mount's root does not hand a controller down, we say so rather
than change a group we do not own.

The "no internal processes" rule: a non-root group that hands controllers to
its children cannot hold processes itself, so processes live in leaves.

==================  ===========================================================
``cpu.max``         ``"$QUOTA $PERIOD"`` in µs, or ``"max $PERIOD"``
``cpu.weight``      1..10000, default 100 (v1 shares are converted, see below)
``cpu.stat``        ``usage_usec`` … and ``nr_periods``, ``nr_throttled``, ``throttled_usec``
``memory.max``      bytes or ``max``; ``memory.current`` the usage
``memory.events``   ``max``, ``oom``, ``oom_kill`` … counters
``pids.max``        tasks or ``max``; ``pids.current``; ``pids.events`` ("max N")
``cgroup.kill``     write 1: SIGKILL everything in the group (Linux 5.14+)
==================  ===========================================================
"""

from __future__ import annotations

import errno

from fromscratch.exercises import pluggable
from fromscratch.linux.cgroups import (
    DEFAULT_ROOT,
    Cgroup,
    CgroupError,
    CgroupFS,
    CgroupLimits,
    ControllerUnavailable,
    CpuStat,
    InvalidLimit,
    MemoryEvents,
    controller_of,
    parse_flat_keyed,
)

MANAGED_CONTROLLERS = ("cpu", "memory", "pids")
MIN_SHARES, MAX_SHARES = 2, 262_144
MIN_WEIGHT, MAX_WEIGHT = 1, 10_000


@pluggable("cpu_shares_to_weight")
def cpu_shares_to_weight(shares: int) -> int:
    """v1 ``cpu.shares`` (2..262144) -> v2 ``cpu.weight`` (1..10000), as runc converts.

    The linear map of runc's ``ConvertCPUSharesToCgroupV2Value``:
    ``1 + ((shares - 2) * 9999) // 262142`` — so 2 -> 1, 1024 -> 39, 262144 -> 10000.
    """
    if isinstance(shares, bool) or not isinstance(shares, int):
        raise InvalidLimit(f"cpu shares must be an integer, got {shares!r}")
    if not MIN_SHARES <= shares <= MAX_SHARES:
        raise InvalidLimit(f"cpu shares must be between {MIN_SHARES} and {MAX_SHARES}, got {shares}")
    return 1 + ((shares - 2) * 9999) // 262142


class CgroupV2(Cgroup):
    """A group on the unified (v2) hierarchy mounted at ``mount``."""

    version = 2

    def __init__(self, fs: CgroupFS, name: str, *, mount: str, root: str = DEFAULT_ROOT,
                 controllers: tuple[str, ...] = MANAGED_CONTROLLERS) -> None:
        super().__init__(fs, name, root=root)
        self.mount = mount
        self.wanted = controllers

    def hierarchies(self) -> list[str]:
        return [self.mount]

    @property
    def directory(self) -> str:
        return f"{self.mount}/{self.relpath}"

    def path_of(self, filename: str) -> str:
        controller = controller_of(filename)
        if controller == "cpuacct" or filename in {"tasks", "notify_on_release"}:
            raise ControllerUnavailable(
                f"{filename} is a cgroup v1 file; on v2 CPU accounting is in cpu.stat "
                "and processes are listed in cgroup.procs")
        return f"{self.directory}/{filename}"

    def _describe_missing(self, filename: str) -> str:
        controller = controller_of(filename)
        if controller != "cgroup" and controller not in self.controllers():
            return (f"{filename}: the {controller} controller is not enabled for {self!r} "
                    f"(enabled: {' '.join(self.controllers()) or 'none'}); on a hybrid host it is "
                    "bound to a v1 hierarchy, or the mount root does not delegate it")
        return f"{filename} does not exist in {self!r} (not a v2 file name?)"

    def child(self, name: str) -> CgroupV2:
        return CgroupV2(self.fs, f"{self.name}/{name}", mount=self.mount, root=self.root,
                        controllers=self.wanted)

    def procs_files(self) -> list[str]:
        return [f"{self.directory}/cgroup.procs"]

    def controllers(self) -> list[str]:
        """Controllers this group may use (its ``cgroup.controllers``)."""
        try:
            return self.fs.read(f"{self.directory}/cgroup.controllers").split()
        except OSError:
            return []

    def _after_create(self) -> None:
        # delegation: hand each wanted controller down through our own ancestors
        for relative in self.ancestors():
            parent = f"{self.mount}/{relative}"
            available = self.fs.read(f"{parent}/cgroup.controllers").split()
            enabled = self.fs.read(f"{parent}/cgroup.subtree_control").split()
            for controller in self.wanted:
                if controller in available and controller not in enabled:
                    try:
                        self.fs.write(f"{parent}/cgroup.subtree_control", f"+{controller}")
                    except OSError as err:
                        if err.errno == errno.EBUSY:
                            raise CgroupError(
                                f"cannot enable {controller} below {parent}: it holds processes "
                                "(v2's no-internal-processes rule)") from None
                        raise

    def enable(self, *controllers: str) -> None:
        """Hand ``controllers`` down to this group's children (``+ctl`` in subtree_control)."""
        for controller in controllers:
            controller_of(f"{controller}.x")  # UnknownController for nonsense
            if controller not in self.controllers():
                raise ControllerUnavailable(
                    f"cannot delegate {controller}: {self!r} has only "
                    f"{' '.join(self.controllers()) or 'no controllers'}")
            self.write("cgroup.subtree_control", f"+{controller}")

    def kill_all(self) -> None:
        """``cgroup.kill`` where the kernel has it (5.14+), else SIGKILL one by one."""
        if self.fs.exists(f"{self.directory}/cgroup.kill"):
            try:
                self.fs.write(f"{self.directory}/cgroup.kill", "1")
                return
            except OSError:
                pass
        super().kill_all()

    # -- limits
    def set_cpu_limit(self, quota_us: int | None, period_us: int = 100_000) -> None:
        CgroupLimits(cpu_quota_us=quota_us, cpu_period_us=period_us)
        self.write("cpu.max", f"{'max' if quota_us is None else quota_us} {period_us}")

    def set_cpu_shares(self, shares: int) -> None:
        self.write("cpu.weight", cpu_shares_to_weight(shares))

    def set_memory_max(self, limit: int | None) -> None:
        CgroupLimits(memory_max=limit)
        self.write("memory.max", "max" if limit is None else limit)

    def set_pids_max(self, limit: int | None) -> None:
        CgroupLimits(pids_max=limit)
        self.write("pids.max", "max" if limit is None else limit)

    def limit_files(self) -> dict[str, str]:
        enabled = set(self.controllers())
        names = ["cpu.max", "cpu.weight", "memory.max", "pids.max"]
        return {n: self.read(n) for n in names if controller_of(n) in enabled}

    # -- accounting
    def cpu_stat(self) -> CpuStat:
        # usage_usec is always there (core accounting); the rest only with the cpu controller
        stat = parse_flat_keyed(self.read("cpu.stat"))
        return CpuStat(
            usage_usec=stat.get("usage_usec", 0),
            nr_periods=stat.get("nr_periods", 0),
            nr_throttled=stat.get("nr_throttled", 0),
            throttled_usec=stat.get("throttled_usec", 0),
        )

    def memory_current(self) -> int:
        return int(self.read("memory.current"))

    def memory_working_set(self) -> int:
        inactive = parse_flat_keyed(self.read("memory.stat")).get("inactive_file", 0)
        return max(0, self.memory_current() - inactive)

    def memory_events(self) -> MemoryEvents:
        events = parse_flat_keyed(self.read("memory.events"))
        return MemoryEvents(max=events.get("max", 0), oom=events.get("oom", 0),
                            oom_kill=events.get("oom_kill", 0))

    def pids_current(self) -> int:
        return int(self.read("pids.current"))

    def pids_refused(self) -> int:
        return parse_flat_keyed(self.read("pids.events")).get("max", 0)

"""Control groups: one interface over cgroup v1, cgroup v2 and the simulated kernel.

A cgroup is "a subsystem directory plus a set of resource-limit files": a
runtime creates a directory for each container under each controller's
hierarchy, writes limits into files such as ``cpu.max`` or
``memory.limit_in_bytes``, then writes the container's PID into
``cgroup.procs``.  That is all runc's ``libcontainer/cgroups`` does, and all
:class:`Cgroup` does:

- :meth:`Cgroup.create` makes the directory (one per v1 hierarchy, one on v2),
- :meth:`Cgroup.write` / :meth:`Cgroup.read` touch one file by its kernel name,
- :meth:`Cgroup.run` starts a process *already inside* the group,
- typed helpers (:meth:`Cgroup.set_cpu_limit`, :meth:`Cgroup.cpu_stat` …) speak
  the file names of the group's version, so callers need not,
- :meth:`Cgroup.remove` kills what is left and removes the directories.

Where the files live is a :class:`CgroupFS`: the real ``/sys/fs/cgroup``
(``cgroups_fs.RealCgroupFS``) or the simulated kernel
(``fromscratch.sim.cgroups.SimKernel``), which models the same files.

Safety: every group lives under a subtree of our own (``fromscratch/`` by
default); we never write into a group we did not create.
Left out: cpuset, io/blkio, hugetlb, devices and freezer limits; threaded
cgroups; systemd's cgroup driver (kubelet's default on systemd hosts).
"""

from __future__ import annotations

import errno
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from fromscratch.exercises import pluggable
from fromscratch.linux.cgroups_detect import CgroupLayout
from fromscratch.linux.cgroups_workloads import Workload

Version = Literal[1, 2]
DEFAULT_ROOT = "fromscratch"
# every controller name a cgroup file can start with ("cgroup." is the core)
KNOWN_CONTROLLERS = frozenset({
    "cgroup", "cpu", "cpuacct", "cpuset", "memory", "pids", "io", "blkio", "hugetlb",
    "freezer", "devices", "net_cls", "net_prio", "perf_event", "rdma", "misc",
})
_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_FILE = re.compile(r"^[a-z_]+(\.[A-Za-z0-9_.]+)?$")


# ---------------------------------------------------------------- errors

class CgroupError(Exception):
    """Something about a cgroup went wrong; the message names the group and file."""


class InvalidLimit(CgroupError, ValueError):
    """A limit that makes no sense (negative, malformed), or that the kernel rejected."""


class UnknownController(CgroupError, ValueError):
    """A file name whose controller prefix is not a cgroup controller at all."""


class ControllerUnavailable(CgroupError):
    """The controller exists in Linux but is not available for this group here."""


class CgroupBusy(CgroupError):
    """The group still has processes or children (EBUSY), or the kernel refused a move."""


# ---------------------------------------------------------------- plain data

@dataclass(frozen=True)
class CpuStat:
    """CPU accounting: v2 ``cpu.stat``; on v1 ``cpuacct.usage`` + the cpu ``cpu.stat``."""

    usage_usec: int
    nr_periods: int = 0
    nr_throttled: int = 0
    throttled_usec: int = 0


@dataclass(frozen=True)
class MemoryEvents:
    """How often the limit was hit: v2 ``memory.events``; v1 ``memory.failcnt`` + ``oom_control``.

    ``max`` counts charges that hit the limit (v1 ``failcnt``); ``oom`` counts times
    the group ran out of memory, ``oom_kill`` the processes the OOM killer took.
    v1 has no separate ``oom`` counter, so there ``oom`` repeats ``oom_kill``.
    """

    max: int
    oom: int
    oom_kill: int


def _check_int(name: str, value: int | None, minimum: int, maximum: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidLimit(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise InvalidLimit(f"{name} must be between {minimum}{upper}, got {value}")


@dataclass(frozen=True)
class CgroupLimits:
    """What a runtime asks of a group. ``None`` means: leave that setting alone.

    The numbers are those of the OCI runtime spec (``linux.resources``): CFS quota and
    period in microseconds, v1-style CPU shares (converted to ``cpu.weight`` on v2),
    memory in bytes, a maximum number of tasks.
    """

    cpu_quota_us: int | None = None
    cpu_period_us: int = 100_000
    cpu_shares: int | None = None
    memory_max: int | None = None
    pids_max: int | None = None

    def __post_init__(self) -> None:
        # the kernel's own bounds: quota >= 1 ms, 1 ms <= period <= 1 s (sched-bwc.rst)
        _check_int("cpu_quota_us", self.cpu_quota_us, 1000)
        _check_int("cpu_period_us", self.cpu_period_us, 1000, 1_000_000)
        _check_int("cpu_shares", self.cpu_shares, 2, 262_144)
        _check_int("memory_max", self.memory_max, 0)
        _check_int("pids_max", self.pids_max, 0)


# ---------------------------------------------------------------- where files live

class Task(Protocol):
    """A process started inside a group (a ``subprocess.Popen`` or a simulated one)."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...

    def output(self) -> str: ...


class CgroupFS(Protocol):
    """The cgroup filesystem: real (``/sys/fs/cgroup``) or simulated."""

    mode: str

    def mkdir(self, path: str) -> None: ...

    def rmdir(self, path: str) -> None: ...

    def exists(self, path: str) -> bool: ...

    def listdir(self, path: str) -> list[str]: ...

    def read(self, path: str) -> str: ...

    def write(self, path: str, text: str) -> None: ...

    def run(self, workload: Workload, procs_files: list[str]) -> Task: ...

    def kill(self, pid: int) -> None: ...

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


def check_name(name: str) -> str:
    """A group name is one or more path segments of letters, digits, ``_ . -``."""
    if not isinstance(name, str) or not _NAME.match(name) or any(
        part in {".", ".."} for part in name.split("/")
    ):
        raise CgroupError(f"invalid cgroup name {name!r}: use letters, digits, '_', '.', '-' and '/'")
    return name


def controller_of(filename: str) -> str:
    """``"cpu.max"`` -> ``"cpu"``; ``"tasks"`` -> ``"cgroup"`` (a core file)."""
    if not isinstance(filename, str) or not _FILE.match(filename):
        raise CgroupError(f"invalid cgroup file name {filename!r}")
    if filename == "tasks" or filename == "notify_on_release" or filename == "release_agent":
        return "cgroup"
    controller = filename.split(".", 1)[0]
    if controller not in KNOWN_CONTROLLERS:
        raise UnknownController(
            f"{filename!r}: {controller!r} is not a cgroup controller "
            f"(known: {', '.join(sorted(KNOWN_CONTROLLERS - {'cgroup'}))})"
        )
    return controller


# ---------------------------------------------------------------- the group

class Cgroup(ABC):
    """One control group, named relative to our own subtree (``fromscratch/<name>``)."""

    version: ClassVar[Version]

    def __init__(self, fs: CgroupFS, name: str, *, root: str = DEFAULT_ROOT) -> None:
        self.fs = fs
        self.name = check_name(name)
        self.root = check_name(root) if root else ""
        self.relpath = f"{self.root}/{self.name}" if self.root else self.name
        self.tasks: list[Task] = []
        self.note = ""

    @property
    def mode(self) -> str:
        """``"real"`` or ``"simulated"``: which kernel holds this group."""
        return self.fs.mode

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.relpath} ({self.mode})>"

    # -- layout: where each file lives (per version)
    @abstractmethod
    def hierarchies(self) -> list[str]:
        """Mount points of the hierarchies the group lives in: one per v1 controller, or v2's."""

    def directories(self) -> list[str]:
        """The group's directories, one per hierarchy."""
        return [f"{mount}/{self.relpath}" for mount in self.hierarchies()]

    def ancestors(self) -> list[str]:
        """Our own directories above the group (``fromscratch``, ...), relative to a mount."""
        parts = self.relpath.split("/")
        return ["/".join(parts[:i]) for i in range(1, len(parts))]

    @abstractmethod
    def path_of(self, filename: str) -> str:
        """The full path of ``filename`` for this group."""

    @abstractmethod
    def child(self, name: str) -> Cgroup:
        """A handle on the sub-group ``name`` (not created yet)."""

    def _describe_missing(self, filename: str) -> str:
        return f"{filename} does not exist in {self!r}"

    # -- files
    def read(self, filename: str) -> str:
        """The text of one of the group's files, stripped."""
        path = self.path_of(filename)
        try:
            return self.fs.read(path).strip()
        except OSError as err:
            raise self._error(err, filename, None) from None

    def write(self, filename: str, value: str | int) -> None:
        """Write ``value`` to one of the group's files, as ``echo value > file`` would."""
        if controller_of(filename) == "cgroup" and filename in {"cgroup.procs", "tasks"}:
            self.add_process(int(value))
            return
        text = str(value)
        try:
            self.fs.write(self.path_of(filename), text)
        except OSError as err:
            raise self._error(err, filename, text) from None

    def _error(self, err: OSError, filename: str, value: str | None) -> CgroupError:
        what = f"writing {value!r} to {filename}" if value is not None else f"reading {filename}"
        code = err.errno
        if code == errno.ENOENT:
            return ControllerUnavailable(self._describe_missing(filename))
        if code in (errno.EINVAL, errno.ERANGE):
            return InvalidLimit(f"the kernel rejected {what} in {self!r}: {err.strerror}")
        if code == errno.EBUSY:
            return CgroupBusy(f"{what} in {self!r}: device or resource busy")
        if code == errno.ESRCH:
            return CgroupError(f"{what} in {self!r}: no such process")
        return CgroupError(f"{what} in {self!r}: {err.strerror or err}")

    # -- lifecycle
    def exists(self) -> bool:
        return all(self.fs.exists(d) for d in self.directories())

    def create(self) -> Cgroup:
        """Make the group's directories (idempotent); undo them all if one fails."""
        made: list[str] = []
        try:
            for mount in self.hierarchies():
                for relative in [*self.ancestors(), self.relpath]:
                    directory = f"{mount}/{relative}"
                    if not self.fs.exists(directory):
                        self.fs.mkdir(directory)
                        made.append(directory)
            self._after_create()
        except BaseException as err:
            for directory in reversed(made):
                try:
                    self.fs.rmdir(directory)
                except OSError:
                    pass
            if isinstance(err, OSError):
                raise CgroupError(f"cannot create {self!r}: {err.strerror or err}") from None
            raise
        return self

    def _after_create(self) -> None:  # noqa: B027 - a hook: v1 needs nothing here
        """Version-specific set-up once the directories exist (v2: delegation)."""

    def children(self) -> list[str]:
        """Names of sub-groups (relative to this group), from the first directory."""
        first = self.directories()[0]
        try:
            return sorted(e for e in self.fs.listdir(first) if self.fs.exists(f"{first}/{e}/cgroup.procs"))
        except OSError:
            return []

    def remove(self, *, timeout: float = 5.0) -> None:
        """Kill every process left in the group (and sub-groups), then remove the directories."""
        for name in self.children():
            self.child(name).remove(timeout=timeout)
        if not any(self.fs.exists(d) for d in self.directories()):
            return
        self.kill_all()
        deadline = self.fs.now() + timeout
        for task in self.tasks:
            try:
                task.wait(timeout=max(0.0, deadline - self.fs.now()))
            except Exception:
                pass
        self.tasks.clear()
        pending = [d for d in self.directories() if self.fs.exists(d)]
        while pending:
            directory = pending[0]
            try:
                self.fs.rmdir(directory)
                pending.pop(0)
            except FileNotFoundError:
                pending.pop(0)
            except OSError as err:
                # subtle: a killed process leaves the group only once it has fully exited
                if err.errno != errno.EBUSY or self.fs.now() > deadline:
                    raise CgroupBusy(f"cannot remove {self!r}: {err.strerror}; "
                                     f"processes left: {self.procs()}") from None
                self.kill_all()
                self.fs.sleep(0.01)

    def __enter__(self) -> Cgroup:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # -- processes
    @abstractmethod
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a new member's PID must be written to."""

    def add_process(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the group."""
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise CgroupError(f"a PID is a positive integer, got {pid!r}")
        for path in self.procs_files():
            try:
                self.fs.write(path, str(pid))
            except OSError as err:
                raise self._error(err, "cgroup.procs", str(pid)) from None

    def procs(self) -> list[int]:
        """PIDs of the processes in this group (not its sub-groups)."""
        text = self.read("cgroup.procs")
        return sorted(int(line) for line in text.split())

    def run(self, workload: Workload) -> Task:
        """Start ``workload`` as a new process that is inside the group from its first instruction."""
        task = self.fs.run(workload, self.procs_files())
        self.tasks.append(task)
        return task

    def kill_all(self) -> None:
        """SIGKILL every process in the group."""
        for pid in self.procs():
            try:
                self.fs.kill(pid)
            except ProcessLookupError:
                pass

    def sleep(self, seconds: float) -> None:
        """Let time pass (really, or in the simulated kernel's virtual clock)."""
        self.fs.sleep(seconds)

    def now(self) -> float:
        return self.fs.now()

    # -- typed helpers, in the file names of each version
    @abstractmethod
    def set_cpu_limit(self, quota_us: int | None, period_us: int = 100_000) -> None:
        """CFS bandwidth: at most ``quota_us`` of CPU time per ``period_us`` (None: no limit)."""

    @abstractmethod
    def set_cpu_shares(self, shares: int) -> None:
        """Relative CPU weight, in v1 shares (2..262144); v2 converts to ``cpu.weight``."""

    @abstractmethod
    def set_memory_max(self, limit: int | None) -> None:
        """Hard memory limit in bytes (None: no limit); the kernel rounds down to a page."""

    @abstractmethod
    def set_pids_max(self, limit: int | None) -> None:
        """Maximum number of tasks (processes and threads) in the group (None: no limit)."""

    @abstractmethod
    def cpu_stat(self) -> CpuStat: ...

    @abstractmethod
    def memory_current(self) -> int: ...

    @abstractmethod
    def memory_working_set(self) -> int:
        """Usage minus inactive file cache: what kubelet and cAdvisor call the working set."""

    @abstractmethod
    def memory_events(self) -> MemoryEvents: ...

    @abstractmethod
    def pids_current(self) -> int: ...

    @abstractmethod
    def pids_refused(self) -> int:
        """How many forks failed because of ``pids.max`` (``pids.events`` "max")."""

    @abstractmethod
    def limit_files(self) -> dict[str, str]:
        """The limit files of this version and what the kernel says they hold now."""

    def apply(self, limits: CgroupLimits) -> None:
        """Write ``limits`` with :func:`write_limits` (the learner's, once plugged in)."""
        write_limits(self, limits)

    def iter_files(self) -> Iterator[str]:
        """Every file name in the group's directories (for exploring)."""
        seen: set[str] = set()
        for directory in self.directories():
            for entry in sorted(self.fs.listdir(directory)):
                if entry not in seen and not self.fs.exists(f"{directory}/{entry}/cgroup.procs"):
                    seen.add(entry)
                    yield entry


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``"key value"`` lines (``cpu.stat``, ``memory.events``, ``memory.stat``) as a dict."""
    result: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


@pluggable("write_limits")
def write_limits(cgroup: Cgroup, limits: CgroupLimits) -> None:
    """Write ``limits`` into ``cgroup`` using the file names of its version.

    v2: ``cpu.max`` ("quota period"), ``cpu.weight``, ``memory.max``, ``pids.max``.
    v1: ``cpu.cfs_period_us`` then ``cpu.cfs_quota_us``, ``cpu.shares``,
    ``memory.limit_in_bytes``, ``pids.max``.  Fields left as ``None`` are not written.
    """
    from fromscratch.linux.cgroups_v2 import cpu_shares_to_weight

    if cgroup.version == 2:
        if limits.cpu_quota_us is not None:
            cgroup.write("cpu.max", f"{limits.cpu_quota_us} {limits.cpu_period_us}")
        if limits.cpu_shares is not None:
            cgroup.write("cpu.weight", cpu_shares_to_weight(limits.cpu_shares))
        if limits.memory_max is not None:
            cgroup.write("memory.max", limits.memory_max)
    else:
        if limits.cpu_quota_us is not None:
            cgroup.write("cpu.cfs_period_us", limits.cpu_period_us)
            cgroup.write("cpu.cfs_quota_us", limits.cpu_quota_us)
        if limits.cpu_shares is not None:
            cgroup.write("cpu.shares", limits.cpu_shares)
        if limits.memory_max is not None:
            cgroup.write("memory.limit_in_bytes", limits.memory_max)
    if limits.pids_max is not None:
        cgroup.write("pids.max", limits.pids_max)


# ---------------------------------------------------------------- choosing a backend

def pick_version(layout: CgroupLayout) -> Version | None:
    """The interface that owns cpu, memory and pids here (v1 on a hybrid host like systemd's)."""
    wanted = ("cpu", "memory", "pids")
    if all(layout.controller_version(c) == 1 for c in wanted):
        return 1
    if layout.v2_mount and all(c in layout.v2_controllers for c in wanted):
        return 2
    if layout.v1 and any(layout.controller_version(c) == 1 for c in wanted):
        return 1
    return 2 if layout.v2_mount else None


def open_cgroup(name: str, *, version: Version | None = None, mode: str | None = None,
                root: str = DEFAULT_ROOT, kernel: CgroupFS | None = None) -> Cgroup:
    """A handle on the group ``root/name`` (create it with ``with open_cgroup(...) as cg:``).

    ``mode``: ``"real"``, ``"rootless"`` or ``"simulated"`` (default: ``fromscratch.host.mode()``);
    rootless uses the real hierarchy only where it is writable (delegated), else the simulated
    kernel — ``cgroup.mode`` and ``cgroup.note`` say which, and why.
    ``version``: 1 or 2 (default: whichever interface owns cpu, memory and pids here).
    ``kernel``: a simulated kernel to use (``fromscratch.sim.cgroups.SimKernel``).
    """
    if version not in (None, 1, 2):
        raise CgroupError(f"cgroup version must be 1 or 2, got {version!r}")
    if kernel is None and mode is None:
        from fromscratch import host

        mode = host.mode()
    if mode not in (None, "real", "rootless", "simulated"):
        raise CgroupError(f"unknown mode {mode!r}: expected real, rootless or simulated")
    note = ""
    if kernel is None and mode != "simulated":
        from fromscratch.linux.cgroups_detect import detect

        real = _open_real(name, detect(), version, root)
        if isinstance(real, Cgroup):
            return real
        if mode == "real":
            raise ControllerUnavailable(real)
        note = f"simulated because {real}"
    from fromscratch.sim.cgroups import SimKernel, default_kernel

    sim = kernel if kernel is not None else default_kernel(version or 2)
    if not isinstance(sim, SimKernel):
        raise CgroupError(f"kernel must be a SimKernel, got {type(sim).__name__}")
    if version is not None and sim.version != version:
        raise CgroupError(f"this simulated kernel speaks cgroup v{sim.version}, not v{version}")
    group = sim.cgroup(name, root=root)
    group.note = note or "the simulated kernel: limits and accounting are modelled in Python"
    return group


def _open_real(name: str, layout: CgroupLayout, version: Version | None, root: str) -> Cgroup | str:
    """A real group, or the reason there cannot be one."""
    import os

    from fromscratch.linux.cgroups_fs import RealCgroupFS

    chosen = version or pick_version(layout)
    if chosen is None:
        return "this machine has no cgroup hierarchy mounted"
    group: Cgroup
    if chosen == 1:
        from fromscratch.linux.cgroups_v1 import CgroupV1

        if not layout.v1:
            return f"there is no cgroup v1 hierarchy here\n{layout.describe()}"
        group = CgroupV1(RealCgroupFS(), name, mounts=layout.v1, root=root)
    else:
        from fromscratch.linux.cgroups_v2 import CgroupV2

        if not layout.v2_mount:
            return f"there is no cgroup2 mount here\n{layout.describe()}"
        group = CgroupV2(RealCgroupFS(), name, mount=layout.v2_mount, root=root)
    base = [m for m in group.hierarchies()]
    if not all(os.access(m, os.W_OK) for m in base):
        return f"the cgroup hierarchy at {base[0]} is not writable (no delegation to this user)"
    group.note = f"real cgroup v{chosen} ({layout.version} host)"
    return group

"""A simulated cgroup filesystem: the same files as the kernel's, with the same rules.

:class:`SimKernel` answers the calls a :class:`~fromscratch.linux.cgroups.Cgroup`
makes on ``/sys/fs/cgroup`` — ``mkdir``, ``rmdir``, reading and writing files
— for either interface:

- ``version=2``: one tree at ``/sys/fs/cgroup`` whose root offers ``cpu``,
  ``memory`` and ``pids``; a child gets a controller's files only once its
  parent lists it in ``cgroup.subtree_control``;
- ``version=1``: hierarchies at ``/sys/fs/cgroup/{cpu,cpuacct,memory,pids}``.

Writes are checked as the kernel checks them (a quota under 1000 µs is EINVAL,
``cpu.weight`` outside 1..10000 is ERANGE, ``cpu.shares`` is clamped, memory
limits accept ``64M`` and are rounded down to a page, a PID that does not exist
is ESRCH, ``rmdir`` of a busy group is EBUSY), so errors look the same in
every mode.  Time is virtual: :meth:`SimKernel.sleep` advances the model in
``fromscratch.sim.cgroups_model`` instead of waiting.

Simplified: the v1 hierarchies share one tree (a process is at the same place
in all of them, which is how runtimes use them anyway); only the files this
course uses exist.
"""

from __future__ import annotations

import errno
import itertools
import os
import subprocess
from collections.abc import Callable

from fromscratch.linux.cgroups import DEFAULT_ROOT, Cgroup
from fromscratch.linux.cgroups_detect import CgroupLayout
from fromscratch.linux.cgroups_workloads import BurnCPU, Workload
from fromscratch.sim.cgroups_model import (
    TICK,
    SimGroup,
    SimProcess,
    end_process,
    fork,
    memory_of,
    pids_of,
    run_cpu,
    run_workloads,
)

MOUNT = "/sys/fs/cgroup"
V1_HIERARCHIES = ("cpu", "cpuacct", "memory", "pids")
V2_CONTROLLERS = ("cpu", "memory", "pids")
PID_MAX_LIMIT = 4_194_304
V1_UNLIMITED = 9223372036854771712  # what memory.limit_in_bytes reads as with no limit
_SUFFIXES = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


def _fail(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


def memparse(text: str, path: str) -> int:
    """The kernel's memparse: ``"64M"`` -> 67108864 (K, M, G, T, P, E; either case)."""
    number, shift = text, 0
    if text and text[-1].lower() in _SUFFIXES:
        number, shift = text[:-1], _SUFFIXES[text[-1].lower()]
    if not number.isdigit():
        raise _fail(errno.EINVAL, path)
    return int(number) << shift


def _integer(text: str, path: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise _fail(errno.EINVAL, path) from None


class SimTask:
    """A simulated process started in a group; ``wait`` advances virtual time."""

    def __init__(self, kernel: SimKernel, pid: int) -> None:
        self.kernel, self.pid = kernel, pid

    @property
    def process(self) -> SimProcess:
        return self.kernel.processes[self.pid]

    def poll(self) -> int | None:
        return self.process.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = self.kernel.now() + (timeout if timeout is not None else 3600.0)
        while self.process.returncode is None:
            if self.kernel.now() >= deadline:
                raise subprocess.TimeoutExpired(f"simulated pid {self.pid}", timeout or 0)
            self.kernel.sleep(TICK)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.alive:
            self.kernel.kill(self.pid)

    def output(self) -> str:
        self.wait()
        return "".join(line + "\n" for line in self.process.lines)

    def __repr__(self) -> str:
        return f"<SimTask pid={self.pid} returncode={self.process.returncode}>"


class SimKernel:
    """An in-process cgroup filesystem (``version`` 1 or 2) with ``cpus`` CPUs."""

    mode = "simulated"

    def __init__(self, version: int = 2, *, cpus: int = 2) -> None:
        if version not in (1, 2):
            raise ValueError(f"cgroup version must be 1 or 2, got {version!r}")
        self.version, self.cpus = version, cpus
        self.root = SimGroup(name="", present_in=set(V1_HIERARCHIES) | {""})
        if version == 2:
            # like a systemd host: the root hands cpu, memory and pids down
            self.root.subtree_control = set(V2_CONTROLLERS)
        self.processes: dict[int, SimProcess] = {}
        self._pids = itertools.count(1000)
        self.clock = 0.0

    def layout(self) -> CgroupLayout:
        if self.version == 1:
            return CgroupLayout(v1={c: f"{MOUNT}/{c}" for c in V1_HIERARCHIES})
        return CgroupLayout(v2_mount=MOUNT, v2_controllers=frozenset(V2_CONTROLLERS))

    def cgroup(self, name: str, *, root: str = DEFAULT_ROOT) -> Cgroup:
        """A :class:`Cgroup` handle on this kernel."""
        if self.version == 1:
            from fromscratch.linux.cgroups_v1 import CgroupV1

            return CgroupV1(self, name, mounts=self.layout().v1, root=root)
        from fromscratch.linux.cgroups_v2 import CgroupV2

        return CgroupV2(self, name, mount=MOUNT, root=root)

    # ---------------------------------------------------------- paths
    def _split(self, path: str) -> list[str]:
        if not path.startswith(MOUNT + "/") and path != MOUNT:
            raise _fail(errno.ENOENT, path)
        parts = [p for p in path[len(MOUNT):].split("/") if p]
        if self.version == 1:
            if not parts or parts[0] not in V1_HIERARCHIES:
                raise _fail(errno.ENOENT, path)
        return parts

    def _walk(self, parts: list[str], hierarchy: str, path: str) -> SimGroup:
        node = self.root
        for part in parts:
            child = node.children.get(part)
            if child is None or hierarchy not in child.present_in:
                raise _fail(errno.ENOENT, path)
            node = child
        return node

    def _locate(self, path: str) -> tuple[SimGroup, str | None, str]:
        """(group, file name or None for a directory, v1 hierarchy or "")."""
        parts = self._split(path)
        hierarchy = parts.pop(0) if self.version == 1 else ""
        try:
            return self._walk(parts, hierarchy, path), None, hierarchy
        except OSError:
            if not parts:
                raise
            return self._walk(parts[:-1], hierarchy, path), parts[-1], hierarchy

    # ---------------------------------------------------------- directories
    def exists(self, path: str) -> bool:
        try:
            group, filename, hierarchy = self._locate(path)
        except OSError:
            return False
        return filename is None or filename in self._files(group, hierarchy)

    def mkdir(self, path: str) -> None:
        group, name, hierarchy = self._locate(path)
        if name is None or name in self._files(group, hierarchy):
            raise _fail(errno.EEXIST, path)
        # v1: the same group may already have its directory in another hierarchy
        child = group.children.setdefault(name, SimGroup(name=name, parent=group))
        child.present_in.add(hierarchy)

    def rmdir(self, path: str) -> None:
        group, name, hierarchy = self._locate(path)
        if name is not None:
            raise _fail(errno.ENOTDIR if name in self._files(group, hierarchy) else errno.ENOENT, path)
        children = [c for c in group.children.values() if hierarchy in c.present_in]
        if group is self.root or children or group.procs:
            raise _fail(errno.EBUSY, path)
        group.present_in.discard(hierarchy)
        if not group.present_in:
            del group.parent.children[group.name]  # type: ignore[union-attr]

    def listdir(self, path: str) -> list[str]:
        group, name, hierarchy = self._locate(path)
        if name is not None:
            raise _fail(errno.ENOTDIR, path)
        return sorted(self._files(group, hierarchy)) + sorted(
            name for name, child in group.children.items() if hierarchy in child.present_in)

    # ---------------------------------------------------------- which files exist
    def _enabled(self, group: SimGroup) -> set[str]:
        if self.version == 1:
            return set(V1_HIERARCHIES)
        return set(group.parent.subtree_control) if group.parent else set()

    def _files(self, group: SimGroup, hierarchy: str) -> dict[str, Callable[[SimGroup], str]]:
        from fromscratch.sim.cgroups_files import readers

        return readers(self, group, hierarchy)

    # ---------------------------------------------------------- reading and writing
    def read(self, path: str) -> str:
        group, name, hierarchy = self._locate(path)
        if name is None:
            raise _fail(errno.EISDIR, path)
        files = self._files(group, hierarchy)
        if name not in files:
            raise _fail(errno.ENOENT, path)
        return files[name](group)

    def write(self, path: str, text: str) -> None:
        from fromscratch.sim.cgroups_files import write_file

        group, name, hierarchy = self._locate(path)
        if name is None:
            raise _fail(errno.EISDIR, path)
        if name not in self._files(group, hierarchy):
            raise _fail(errno.ENOENT, path)
        write_file(self, group, name, text.strip(), path)

    # ---------------------------------------------------------- processes
    def run(self, workload: Workload, procs_files: list[str]) -> SimTask:
        group, name, _ = self._locate(procs_files[0])
        if name != "cgroup.procs":
            raise _fail(errno.EINVAL, procs_files[0])
        self._check_may_hold_processes(group, procs_files[0])
        pid = next(self._pids)
        process = SimProcess(pid=pid, group=group, workload=workload, started=self.clock)
        self.processes[pid] = process
        group.procs.add(pid)
        if isinstance(workload, BurnCPU) and workload.processes > 1:
            # the real burner forks one copy per extra CPU it wants; so does this one
            single = BurnCPU(processes=1, seconds=workload.seconds)
            for _ in range(workload.processes - 1):
                child = fork(process, next(self._pids), self.clock, 0.0, self.processes)
                if child is not None:
                    child.workload = single
            process.workload = single
        return SimTask(self, pid)

    def _check_may_hold_processes(self, group: SimGroup, path: str) -> None:
        # v2's no-internal-processes rule: not in a non-root group that delegates controllers
        if self.version == 2 and group is not self.root and group.subtree_control:
            raise _fail(errno.EBUSY, path)

    def move(self, group: SimGroup, pid: int, path: str) -> None:
        process = self.processes.get(pid)
        if process is None or not process.alive:
            raise _fail(errno.ESRCH, path)
        self._check_may_hold_processes(group, path)
        process.group.procs.discard(pid)
        process.group = group
        group.procs.add(pid)

    def kill(self, pid: int) -> None:
        process = self.processes.get(pid)
        if process is None or not process.alive:
            raise ProcessLookupError(pid)
        end_process(process, -9)

    def memory_of(self, group: SimGroup) -> int:
        return memory_of(group, self.processes)

    def pids_of(self, group: SimGroup) -> int:
        return pids_of(group)

    # ---------------------------------------------------------- time
    def now(self) -> float:
        return self.clock

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` (rounded to whole 10 ms ticks)."""
        if seconds < 0:
            raise ValueError("cannot sleep a negative time")
        for _ in range(max(1, round(seconds / TICK)) if seconds > 0 else 0):
            self.clock = round(self.clock + TICK, 6)
            run_workloads(self.processes, self.clock, lambda: next(self._pids))
            run_cpu(self.root.subtree(), self.processes, self.cpus, self.version)


_DEFAULT: dict[int, SimKernel] = {}


def default_kernel(version: int = 2) -> SimKernel:
    """The process-wide simulated kernel for ``version`` (made on first use)."""
    if version not in _DEFAULT:
        _DEFAULT[version] = SimKernel(version)
    return _DEFAULT[version]

"""A simulated kernel's namespaces: processes, PID numbering, hostnames, mounts, ID maps.

The same interface as :mod:`fromscratch.linux.spawn` and
:mod:`fromscratch.linux.proc`, modelled in Python for hosts where real
namespaces are not allowed (macOS, Binder, a locked-down container).  What it
models, after namespaces(7), pid_namespaces(7) and user_namespaces(7):

- every namespace is an object with an inode number; a process holds one of
  each kind, and a child inherits its parent's unless a new one is asked for;
- PID namespaces nest: a process has a PID in its own namespace and in every
  ancestor (``NSpid``); the first process of a new one is PID 1, which ignores
  signals it has no handler for and takes the whole namespace down when it dies;
- the UTS namespace holds the hostname; the mount namespace a copy of the
  mount table, where a ``proc`` mount shows the PID namespace it was mounted
  for (so ``ps`` lies until ``/proc`` is remounted);
- user namespaces map IDs with the kernel's ``uid_map`` rules (via the same
  :func:`fromscratch.linux.userns.format_id_map`), and creating any other
  namespace needs root or a new user namespace.

Simplified: a simulated process runs its callable in a thread of this Python
process (see :mod:`fromscratch.sim.processes`), so it has no signal handlers
of its own and ``time.sleep`` cannot be interrupted — use ``pause``.  It never pretends to be real:
everything here says ``mode == "simulated"``.
"""

from __future__ import annotations

import itertools
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fromscratch.linux import namespaces as names
from fromscratch.linux import userns
from fromscratch.linux.proc import KINDS, ProcessNotFound
from fromscratch.sim.processes import COMMANDS, SimHandle, current, pause  # noqa: F401

# the inodes of the initial namespaces on a typical Linux host (lsns shows these)
ROOT_INODES = {"time": 4026531834, "cgroup": 4026531835, "pid": 4026531836,
               "user": 4026531837, "uts": 4026531838, "ipc": 4026531839,
               "net": 4026531840, "mnt": 4026531841}
ROOT_MOUNTS = (("/", "ext4"), ("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs"),
               ("/tmp", "tmpfs"))


@dataclass(eq=False)
class Namespace:
    """One namespace: its kind, inode, parent (pid/user nest) and the state it isolates."""

    kind: str
    inode: int
    parent: Namespace | None = None
    hostname: str = ""  # uts
    mounts: list[tuple[str, str, Namespace | None]] = field(default_factory=list)  # mnt
    uid_map: list[userns.IdRange] = field(default_factory=list)  # user
    gid_map: list[userns.IdRange] = field(default_factory=list)
    next_pid: int = 1  # pid

    @property
    def level(self) -> int:
        return 0 if self.parent is None else self.parent.level + 1


@dataclass(eq=False)
class SimProcess:
    """A simulated process: its PIDs per PID-namespace level, namespaces, and fate."""

    pids: list[int]  # NSpid: outermost first
    ns: dict[str, Namespace]
    command: str
    uid: int = 0  # in the initial user namespace
    parent: SimProcess | None = None
    init_mode: bool = False  # a tiny init runs as PID 1 and forwards signals
    returncode: int | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.pids[0]

    @property
    def alive(self) -> bool:
        return self.returncode is None


class SimKernel:
    """The simulated machine: a process table and the initial namespaces."""

    mode = "simulated"

    def __init__(self, *, hostname: str = "simhost", uid: int = 0) -> None:
        self._inodes = itertools.count(4026532200)
        self._lock = threading.RLock()
        root = {kind: Namespace(kind, inode) for kind, inode in ROOT_INODES.items()}
        root["uts"].hostname = hostname
        root["user"].uid_map = root["user"].gid_map = [(0, 0, 2**32 - 1)]
        root["mnt"].mounts = [(target, fstype, root["pid"] if fstype == "proc" else None)
                              for target, fstype in ROOT_MOUNTS]
        root["pid"].next_pid = 100  # the seed notes' example: PID 100 outside, 1 inside
        self.root = root
        self.processes: dict[int, SimProcess] = {}
        self.named_netns: dict[str, Any] = {}  # /run/netns/NAME -> sim.netns.SimNetworkNamespace
        self.init = self._add(SimProcess([1], dict(root), "/sbin/init"))
        # the process that drives the simulation: this notebook or test
        self.caller = self._add(SimProcess([42], dict(root), "python", uid=uid, parent=self.init))

    def _add(self, process: SimProcess) -> SimProcess:
        self.processes[process.pid] = process
        return process

    # -------------------------------------------------------------- lookups
    def process(self, pid: int | str) -> SimProcess:
        """The live process with host PID ``pid`` (or ``"self"``), else ProcessNotFound."""
        if pid == "self":
            return current(self)
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise TypeError(f"a PID should be an int, got {type(pid).__name__}")
        if pid <= 0:
            raise ValueError(f"a PID is a positive number, got {pid}")
        found = self.processes.get(pid)
        if found is None or not found.alive:
            raise ProcessNotFound(pid)
        return found

    def visible(self, pid_ns: Namespace) -> dict[int, SimProcess]:
        """Live processes visible in ``pid_ns``, by their PID there (what /proc lists)."""
        result = {}
        for process in self.processes.values():
            chain = process.ns["pid"]
            while chain is not None and chain is not pid_ns:
                chain = chain.parent
            if chain is pid_ns and process.alive:
                result[process.pids[pid_ns.level]] = process
        return result

    # -------------------------------------------------------------- namespaces
    def _new_namespace(self, kind: str, parent: SimProcess) -> Namespace:
        old = parent.ns[kind]
        fresh = Namespace(kind, next(self._inodes),
                          parent=old if kind in ("pid", "user") else None)
        if kind == "uts":
            fresh.hostname = old.hostname
        if kind == "mnt":
            fresh.mounts = list(old.mounts)  # a copy: later mounts are private
        return fresh

    def _uid_in(self, process: SimProcess, user_ns: Namespace) -> int:
        """``process``'s uid as seen from ``user_ns`` (65534 when unmapped)."""
        chain, outer = [], user_ns
        while outer is not None:
            chain.append(outer)
            outer = outer.parent
        uid = process.uid
        for space in reversed(chain[:-1]):  # from the initial namespace inwards
            uid = next((inside + uid - outside for inside, outside, count in space.uid_map
                        if outside <= uid < outside + count), userns.OVERFLOW_ID)
        return uid

    def kill(self, pid: int, sig: int = signal.SIGKILL) -> None:
        """Deliver ``sig`` the way the kernel treats a namespace's PID 1 and its members."""
        with self._lock:
            process = self.process(pid)
            is_ns_init = process.pids[-1] == 1 and process.ns["pid"] is not self.root["pid"]
            if sig == signal.SIGKILL:
                self._exit(process, -signal.SIGKILL)
            elif is_ns_init and process.init_mode:
                # the tiny init forwards it: the program dies of it, init exits 128+N
                for child in list(self.processes.values()):
                    if child.parent is process:
                        self._exit(child, -sig)
                self._exit(process, 128 + sig)
            elif is_ns_init:
                return  # no handler for it in PID 1: the kernel drops the signal
            else:
                self._exit(process, -sig)

    def _exit(self, process: SimProcess, code: int) -> None:
        with self._lock:
            if not process.alive:
                return
            process.returncode = code
            process.stopped.set()
            self.processes.pop(process.pid, None)  # reaped: gone from /proc
            if process.pids[-1] == 1 and process.ns["pid"] is not self.root["pid"]:
                # PID 1 is gone: the kernel SIGKILLs everything left in its namespace
                for other in self.visible(process.ns["pid"]).values():
                    self._exit(other, -signal.SIGKILL)

    # -------------------------------------------------------------- spawn
    def spawn(self, target: Callable[[], Any] | Sequence[str], *, namespaces: Iterable[str] = (),
              hostname: str | None = None, domainname: str | None = None,
              uid_map: Iterable[userns.IdRange] | None = None,
              gid_map: Iterable[userns.IdRange] | None = None,
              join: dict[str, int | str] | None = None, mount_proc: bool | None = None,
              init: bool = False, before_exec: Callable[[], None] | None = None,
              capture_output: bool = False, env: dict[str, str] | None = None,
              cwd: str | None = None, die_with_parent: bool = True,
              timeout: float = 30.0) -> SimHandle:
        """Like :func:`fromscratch.linux.spawn.spawn`, in the simulated kernel."""
        del domainname, env, cwd, die_with_parent, timeout, capture_output  # nothing to model
        wanted = names.check_names(namespaces)
        joined = dict(join or {})
        names.check_names(joined)
        if not callable(target):
            if isinstance(target, str | bytes) or not target:
                raise TypeError("a command is a non-empty list of strings, e.g. ['hostname']")
            if target[0] not in COMMANDS:
                raise FileNotFoundError(f"command not found: {target[0]!r} (the simulated "
                                        f"kernel knows {', '.join(sorted(COMMANDS))})")
        mount_proc = _validate_options(wanted, joined, hostname, mount_proc, init,
                                       uid_map is not None or gid_map is not None)
        with self._lock:
            parent = current(self)
            # the flags decide, as in the real kernel (and they may come from a learner)
            new = names.names_of(names.clone_flags(wanted))
            ns = dict(parent.ns)
            for kind, holder in joined.items():
                ns[kind] = self._namespace_to_join(kind, holder)
            caller_uid = self._uid_in(parent, parent.ns["user"])
            if new - {"user"} and "user" not in new and caller_uid != 0:
                raise PermissionError(1, f"in the new process: unshare({', '.join(sorted(new))}) "
                                      "was refused: creating namespaces needs root, or a new "
                                      "user namespace (add 'user')")
            if "user" in new:
                ns["user"] = Namespace("user", next(self._inodes), parent=ns["user"])
                default = userns.rootless_map(caller_uid)
                self._write_maps(ns["user"], list(uid_map or default), list(gid_map or default),
                                 privileged=caller_uid == 0)
            for kind in sorted(new - {"user"}):
                ns[kind] = self._new_namespace(kind, parent)
                if kind == "pid":
                    ns[kind].parent = ns["pid"] if "pid" in joined else parent.ns["pid"]
            if hostname is not None:
                ns["uts"].hostname = hostname
            if mount_proc:
                ns["mnt"].mounts = [m for m in ns["mnt"].mounts if m[0] != "/proc"]
                ns["mnt"].mounts.append(("/proc", "proc", ns["pid"]))
            command = target[0] if not callable(target) else getattr(target, "__name__", "python")
            first = self._new_process(ns, "tiny-init" if init else command, parent, init)
            program = self._new_process(ns, command, first, False) if init else first
        handle = SimHandle(self, first, program, parent)
        thread = threading.Thread(target=handle._run, args=(target, before_exec), daemon=True,
                                  name=f"sim-pid-{first.pid}")
        thread.start()
        return handle

    def _new_process(self, ns: dict[str, Namespace], command: str, parent: SimProcess,
                     init_mode: bool) -> SimProcess:
        chain, space = [], ns["pid"]
        while space is not None:
            chain.append(space)
            space = space.parent
        pids = []
        for space in reversed(chain):  # outermost first, like NSpid
            pids.append(space.next_pid)
            space.next_pid += 1
        return self._add(SimProcess(pids, ns, command, uid=parent.uid, parent=parent,
                                    init_mode=init_mode))

    def _namespace_to_join(self, kind: str, holder: int | str) -> Namespace:
        if isinstance(holder, str) and not holder.isdigit():
            from fromscratch.sim import netns  # named network namespaces live there

            return netns.namespace_at(self, holder, kind)
        return self.process(int(holder)).ns[kind]

    def _write_maps(self, space: Namespace, uid_map: list[userns.IdRange],
                    gid_map: list[userns.IdRange], *, privileged: bool) -> None:
        uid_text, gid_text = userns.format_id_map(uid_map), userns.format_id_map(gid_map)
        if not privileged:
            own = userns.rootless_map(self._uid_in(current(self), space.parent))  # type: ignore[arg-type]
            if [r[1:] for r in userns.parse_id_map(uid_text)] != [r[1:] for r in own]:
                raise PermissionError(1, f"not allowed to write the ID maps (uid_map "
                                      f"{uid_text.strip()!r}); without CAP_SETUID only one's "
                                      "own ID can be mapped")
        space.uid_map = userns.parse_id_map(uid_text)
        space.gid_map = userns.parse_id_map(gid_text)

    # -------------------------------------------------------------- /proc, as seen by the caller
    def lookup(self, pid: int | str) -> SimProcess:
        """A process by PID *as the current process sees it* (its PID namespace)."""
        if pid == "self":
            return current(self)
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise TypeError(f"a PID should be an int, got {type(pid).__name__}")
        if pid <= 0:
            raise ValueError(f"a PID is a positive number, got {pid}")
        found = self.visible(current(self).ns["pid"]).get(pid)
        if found is None:
            raise ProcessNotFound(pid)
        return found

    def namespace_ids(self, pid: int | str = "self") -> dict[str, int]:
        process = self.lookup(pid)
        return {kind: process.ns[kind].inode for kind in KINDS}

    def ns_inode(self, pid: int | str, kind: str) -> int:
        if kind not in KINDS:
            raise ValueError(f"unknown namespace kind {kind!r}; known: {', '.join(KINDS)}")
        return self.lookup(pid).ns[kind].inode

    def nspid(self, pid: int | str) -> list[int]:
        """``NSpid`` as the caller reads it: from the caller's PID namespace inwards."""
        level = current(self).ns["pid"].level
        return self.lookup(pid).pids[level:]

    def pids(self) -> list[int]:
        """What ``ps`` lists: the PID namespace the current ``/proc`` mount belongs to."""
        proc_ns = next(ns for target, _, ns in reversed(current(self).ns["mnt"].mounts)
                       if target == "/proc")
        return sorted(self.visible(proc_ns))  # type: ignore[arg-type]

    def command_of(self, pid: int) -> str:
        return self.lookup(pid).command

    def sharing(self, pids: Iterable[int], kinds: Iterable[str] = KINDS
                ) -> dict[tuple[str, int], list[int]]:
        groups: dict[tuple[str, int], list[int]] = {}
        wanted = list(kinds)
        for pid in pids:
            try:
                process = self.lookup(pid)
            except ProcessNotFound:
                continue
            for kind in wanted:
                groups.setdefault((kind, process.ns[kind].inode), []).append(pid)
        return groups

    def mount_points(self, pid: int | str = "self") -> list[str]:
        return [target for target, _, _ in self.lookup(pid).ns["mnt"].mounts]

    def hostname_of(self, pid: int | str = "self") -> str:
        return self.lookup(pid).ns["uts"].hostname

    def read_id_map(self, pid: int | str, kind: str = "uid") -> list[userns.IdRange]:
        if kind not in ("uid", "gid"):
            raise ValueError(f"kind must be 'uid' or 'gid', not {kind!r}")
        space = self.lookup(pid).ns["user"]
        return list(space.uid_map if kind == "uid" else space.gid_map)

    # -------------------------------------------------------------- inside a process
    def getpid(self) -> int:
        return current(self).pids[-1]

    def getuid(self) -> int:
        process = current(self)
        return self._uid_in(process, process.ns["user"])

    def gethostname(self) -> str:
        return current(self).ns["uts"].hostname

    def sethostname(self, name: str) -> None:
        if self.getuid() != 0:
            raise PermissionError(1, f"sethostname({name!r}) failed: Operation not permitted")
        current(self).ns["uts"].hostname = name

    def mount(self, source: str | None, target: str, fstype: str | None = None) -> None:
        """Add a mount to the current mount namespace's table (only it sees the change)."""
        if self.getuid() != 0:
            raise PermissionError(1, f"mount({source!r}, {target!r}) failed: not permitted")
        process = current(self)
        pid_ns = process.ns["pid"] if fstype == "proc" else None
        process.ns["mnt"].mounts.append((target, fstype or "none", pid_ns))

    def umount(self, target: str) -> None:
        table = current(self).ns["mnt"].mounts
        for index in range(len(table) - 1, -1, -1):
            if table[index][0] == target:
                del table[index]
                return
        raise OSError(22, f"umount2({target!r}) failed: Invalid argument (not a mount point)")


def _validate_options(new: frozenset[str], joined: dict[str, int | str], hostname: str | None,
                      mount_proc: bool | None, init: bool, has_maps: bool) -> bool:
    from fromscratch.linux.spawn import _validate  # the same rules as the real backend

    return _validate(lambda: None, new, joined, hostname, mount_proc, init, has_maps)

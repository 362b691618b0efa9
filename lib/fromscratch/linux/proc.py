"""Reading namespaces out of ``/proc``: who shares what, and which PID is which.

Every process has one symbolic link per namespace kind in ``/proc/PID/ns/``;
``readlink`` gives ``pid:[4026531836]``, where the number is the inode of the
namespace.  Two processes are in the same namespace exactly when the
inodes (and the device, always ``nsfs``) are equal — this is what ``lsns(8)``
reads.  ``/proc/PID/status`` has a line ``NSpid:`` listing the process's PID in
every PID namespace it belongs to, outermost first (see proc(5)).

Simplified: we compare inode numbers only (every namespace lives on the one
``nsfs`` device), and only look at processes we are allowed to read.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

# the kinds namespaces(7) lists, in the order /proc/PID/ns shows them
KINDS = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


class ProcessNotFound(LookupError):
    """There is no process with that PID (it never existed or has exited)."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.pid = pid

    def __str__(self) -> str:
        return f"no process with PID {self.pid} (it has exited, or never existed)"


def _proc_path(pid: int | str, *parts: str) -> str:
    if isinstance(pid, bool) or not isinstance(pid, int | str):
        raise TypeError(f"a PID should be an int, got {type(pid).__name__}")
    if isinstance(pid, int) and pid <= 0:
        raise ValueError(f"a PID is a positive number, got {pid}")
    return os.path.join("/proc", str(pid), *parts)


def _require_process(pid: int | str) -> None:
    if not os.path.exists(_proc_path(pid)):
        raise ProcessNotFound(int(pid) if str(pid).isdigit() else -1)


def ns_link(pid: int | str, kind: str) -> str:
    """``readlink /proc/PID/ns/KIND``, e.g. ``'uts:[4026531838]'``."""
    if kind not in KINDS:
        raise ValueError(f"unknown namespace kind {kind!r}; known: {', '.join(KINDS)}")
    _require_process(pid)
    try:
        return os.readlink(_proc_path(pid, "ns", kind))
    except FileNotFoundError:
        # the process exited between the two looks, or this kernel lacks the kind
        _require_process(pid)
        raise
    except PermissionError as err:
        raise PermissionError(err.errno, f"not allowed to read /proc/{pid}/ns/{kind}") from None


def ns_inode(pid: int | str, kind: str) -> int:
    """The inode number that identifies the process's namespace of this kind."""
    link = ns_link(pid, kind)
    return int(link[link.index("[") + 1 : -1])


def namespace_ids(pid: int | str = "self") -> dict[str, int]:
    """``{kind: inode}`` for every namespace kind this kernel has."""
    _require_process(pid)
    present = sorted(os.listdir(_proc_path(pid, "ns")))
    return {kind: ns_inode(pid, kind) for kind in present if kind in KINDS}


def status_field(pid: int | str, name: str) -> str:
    """One field of ``/proc/PID/status`` (e.g. ``'NSpid'``), as text."""
    _require_process(pid)
    try:
        with open(_proc_path(pid, "status")) as status:
            for line in status:
                key, _, value = line.partition(":")
                if key == name:
                    return value.strip()
    except FileNotFoundError:
        raise ProcessNotFound(int(pid) if str(pid).isdigit() else -1) from None
    raise KeyError(f"/proc/{pid}/status has no field {name!r}")


def nspid(pid: int | str) -> list[int]:
    """The process's PID in each PID namespace it is in, outermost first (``NSpid``)."""
    return [int(n) for n in status_field(pid, "NSpid").split()]


def pid_in_namespace_of(pid: int, holder: int) -> int:
    """Translate ``pid`` (as we see it) into the PID namespace of process ``holder``.

    ``NSpid`` lists one PID per level; the holder's level is ``len(NSpid) - 1``.
    Raises :class:`LookupError` when ``pid`` is not visible in that namespace
    (it lives in an outer or sibling one).
    """
    level = len(nspid(holder)) - 1
    mine = nspid(pid)
    if len(mine) <= level or ns_inode_of_level(pid, level) != ns_inode(holder, "pid"):
        raise LookupError(f"PID {pid} is not visible in the PID namespace of process {holder}")
    return mine[level]


def ns_inode_of_level(pid: int, level: int) -> int:
    """The PID namespace inode of ``pid``'s ancestor namespace at ``level`` (0 = ours).

    We can only read a process's *own* PID namespace; for an ancestor level we
    walk up the parent chain to a process whose NSpid is exactly that deep.
    """
    current = pid
    while len(nspid(current)) - 1 > level:
        parent = int(status_field(current, "PPid"))
        if parent == 0:
            break
        current = parent
    return ns_inode(current, "pid")


def pids() -> list[int]:
    """Every PID in ``/proc`` — what ``ps`` sees, in the PID namespace /proc was mounted for."""
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


def command_of(pid: int) -> str:
    """The process's command line (``/proc/PID/cmdline``), or its name for kernel threads."""
    _require_process(pid)
    try:
        with open(_proc_path(pid, "cmdline"), "rb") as handle:
            raw = handle.read().replace(b"\0", b" ").strip()
        if raw:
            return raw.decode(errors="replace")
        return f"[{status_field(pid, 'Name')}]"
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessNotFound(pid) from None


def sharing(pids_: Iterable[int], kinds: Iterable[str] = KINDS) -> dict[tuple[str, int], list[int]]:
    """Group processes by namespace: ``{(kind, inode): [pids...]}`` — ``lsns`` in one dict.

    Processes that exit while we look, or that we may not read, are skipped.
    """
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    wanted = list(kinds)
    for pid in pids_:
        for kind in wanted:
            try:
                groups[(kind, ns_inode(pid, kind))].append(pid)
            except (ProcessNotFound, FileNotFoundError, PermissionError):
                continue
    return dict(groups)


def mount_points(pid: int | str = "self") -> list[str]:
    """The mount points in ``pid``'s mount namespace (``/proc/PID/mountinfo`` field 5)."""
    _require_process(pid)
    with open(_proc_path(pid, "mountinfo")) as handle:
        return [line.split()[4] for line in handle]

"""Namespace names, clone flags, and ``unshare``/``setns`` by name.

A container is a process started with a set of namespace parameters: each
``CLONE_NEW*`` flag passed to ``clone(2)`` or ``unshare(2)`` gives the process
a private copy of one kind of kernel resource (namespaces(7)):

=========  ===============  ==========================================
name       flag             what the process gets its own copy of
=========  ===============  ==========================================
``mnt``    CLONE_NEWNS      the mount table
``uts``    CLONE_NEWUTS     hostname and NIS domain name
``ipc``    CLONE_NEWIPC     System V IPC objects, POSIX message queues
``pid``    CLONE_NEWPID     process IDs (its first child is PID 1)
``net``    CLONE_NEWNET     interfaces, addresses, routes, ports, firewall
``user``   CLONE_NEWUSER    user and group IDs, capabilities
``cgroup`` CLONE_NEWCGROUP  the view of the cgroup tree
``time``   CLONE_NEWTIME    CLOCK_MONOTONIC/BOOTTIME offsets (Linux 5.6+)
=========  ===============  ==========================================

The names are the ones ``/proc/PID/ns/`` and ``unshare(1)`` use.  Spawning a
process into namespaces lives in :mod:`fromscratch.linux.spawn`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from fromscratch import exercises
from fromscratch.linux import proc, syscalls

CLONE_FLAGS: dict[str, int] = {
    "mnt": syscalls.CLONE_NEWNS,
    "uts": syscalls.CLONE_NEWUTS,
    "ipc": syscalls.CLONE_NEWIPC,
    "pid": syscalls.CLONE_NEWPID,
    "net": syscalls.CLONE_NEWNET,
    "user": syscalls.CLONE_NEWUSER,
    "cgroup": syscalls.CLONE_NEWCGROUP,
    "time": syscalls.CLONE_NEWTIME,
}
NAMESPACES = tuple(CLONE_FLAGS)
# what `docker run` gives a container by default (user and cgroup are opt-in or newer)
CONTAINER_DEFAULT = frozenset({"mnt", "uts", "ipc", "pid", "net"})


class UnknownNamespace(ValueError):
    """A namespace name that is not one of :data:`NAMESPACES`."""

    def __init__(self, name: object) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown namespace {self.name!r}; known: {', '.join(NAMESPACES)}"


def check_names(names: Iterable[str]) -> frozenset[str]:
    """The names as a set, or :class:`UnknownNamespace` for the first one that is wrong."""
    if isinstance(names, str):
        # subtle: a bare string is iterable too — "pid" would become {"p", "i", "d"}
        names = [names]
    result = frozenset(names)
    for name in sorted(result, key=str):
        if name not in CLONE_FLAGS:
            raise UnknownNamespace(name)
    return result


@exercises.pluggable("clone_flags")
def clone_flags(names: Iterable[str]) -> int:
    """The ``CLONE_NEW*`` bits for a set of namespace names, OR-ed together.

    ``clone_flags({"pid", "uts"}) == CLONE_NEWPID | CLONE_NEWUTS``; an empty set
    gives 0; an unknown name raises :class:`UnknownNamespace` (a ValueError).
    """
    flags = 0
    for name in check_names(names):
        flags |= CLONE_FLAGS[name]
    return flags


def names_of(flags: int) -> frozenset[str]:
    """The inverse of :func:`clone_flags`: which namespace names a flag word holds."""
    unknown = flags & ~sum(CLONE_FLAGS.values())
    if unknown:
        raise ValueError(f"flags {flags:#x} hold bits that are not namespaces: {unknown:#x}")
    return frozenset(name for name, bit in CLONE_FLAGS.items() if flags & bit)


def unshare(names: Iterable[str]) -> None:
    """Move *this* process into new namespaces (like ``unshare(1)`` without ``--fork``).

    Prefer :func:`fromscratch.linux.spawn.spawn`, which does this in a child and
    leaves the caller untouched.  Errors name the namespaces that were refused.
    """
    flags = clone_flags(names)
    try:
        syscalls.unshare(flags)
    except PermissionError as err:
        raise PermissionError(
            err.errno, f"not allowed to create {', '.join(sorted(names_of(flags)))} namespaces "
            "(needs root, or a user namespace first)") from None


def ns_path(target: int | str, name: str) -> str:
    """The file to ``setns`` into: ``/proc/PID/ns/NAME`` for a PID, else the path as given."""
    check_names([name])
    if isinstance(target, int) and not isinstance(target, bool):
        path = f"/proc/{target}/ns/{name}"
        if not os.path.exists(f"/proc/{target}"):
            raise proc.ProcessNotFound(target)
        return path
    if not os.path.exists(target):
        raise FileNotFoundError(f"no namespace file {target!r} to join")
    return os.fspath(target)


def setns(target: int | str, name: str) -> None:
    """Join namespace ``name`` of process ``target`` (a PID) or a bind-mounted ns file.

    Joining ``mnt`` or ``user`` needs a single-threaded process, and joining
    ``pid`` only affects children created afterwards — do this in a child.
    """
    fd = os.open(ns_path(target, name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, CLONE_FLAGS[name])
    finally:
        os.close(fd)


def same_namespace(pid_a: int | str, pid_b: int | str, name: str) -> bool:
    """Are the two processes in the same ``name`` namespace? (compares ``/proc`` inodes)"""
    check_names([name])
    return proc.ns_inode(pid_a, name) == proc.ns_inode(pid_b, name)

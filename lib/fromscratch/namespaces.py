"""Namespaces, whichever kernel we have: the one API the chapter and the runtime use.

Two backends offer the same methods:

- :class:`RealBackend` — real system calls (:mod:`fromscratch.linux.spawn`,
  ``/proc`` via :mod:`fromscratch.linux.proc`, pyroute2 via
  :mod:`fromscratch.linux.netns`).  In *rootless* mode every spawn also gets a
  new user namespace first, as rootless Podman does, and network namespaces
  are simulated (naming one under ``/run/netns`` needs root);
- :class:`SimBackend` — the simulated kernel of :mod:`fromscratch.sim.namespaces`.

:func:`backend` picks one from :func:`fromscratch.host.mode`; the module-level
functions below forward to it, so notebook code reads the same in every mode::

    from fromscratch import namespaces as ns
    with ns.spawn(lambda: (ns.getpid(), ns.gethostname()),
                  namespaces={"pid", "uts"}, hostname="box") as p:
        print(p.result())          # (1, 'box')

Inside a spawned callable use :func:`getpid`, :func:`gethostname` … rather than
``os.getpid()``: they are the real calls in real mode, and ask the simulated
kernel otherwise.  Safety: :func:`sethostname` and :func:`mount` refuse to
touch the host's own UTS or mount namespace.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fromscratch import exercises, host
from fromscratch.linux import netns as real_netns
from fromscratch.linux import proc, syscalls, userns
from fromscratch.linux import spawn as linux_spawn
from fromscratch.linux.namespaces import (  # noqa: F401 - re-exported for the notebooks
    CLONE_FLAGS,
    CONTAINER_DEFAULT,
    NAMESPACES,
    UnknownNamespace,
    check_names,
    clone_flags,
    names_of,
)
from fromscratch.linux.netns import Link, NetworkError, connect  # noqa: F401
from fromscratch.linux.proc import KINDS, ProcessNotFound  # noqa: F401
from fromscratch.linux.spawn import ChildError  # noqa: F401
from fromscratch.linux.userns import format_id_map  # noqa: F401
from fromscratch.sim import netns as sim_netns
from fromscratch.sim.namespaces import SimKernel
from fromscratch.sim.namespaces import pause as sim_pause

try:  # the namespaces this Python process started in: never modified in place
    _STARTED_IN = proc.namespace_ids("self")
except OSError:  # not Linux: only the simulated backend is used
    _STARTED_IN = {}


class RealBackend:
    """The real kernel (as root, or rootless inside a user namespace)."""

    def __init__(self, *, rootless: bool = False) -> None:
        self.rootless = rootless
        self.mode = "rootless" if rootless else "real"
        self._sim_net = SimKernel() if rootless else None

    def spawn(self, target: linux_spawn.Target, **options: Any) -> linux_spawn.Process:
        wanted = set(check_names(options.pop("namespaces", ())))
        if self.rootless and wanted:
            wanted.add("user")  # a user namespace first: it grants the rest
        return linux_spawn.spawn(target, namespaces=wanted, **options)

    def run(self, target: linux_spawn.Target, **options: Any) -> Any:
        with self.spawn(target, **options) as process:
            return process.result() if callable(target) else process.wait()

    # /proc, as the caller sees it
    namespace_ids = staticmethod(proc.namespace_ids)
    ns_inode = staticmethod(proc.ns_inode)
    nspid = staticmethod(proc.nspid)
    pids = staticmethod(proc.pids)
    sharing = staticmethod(proc.sharing)
    command_of = staticmethod(proc.command_of)
    mount_points = staticmethod(proc.mount_points)
    read_id_map = staticmethod(userns.read_id_map)

    def hostname_of(self, pid: int | str = "self") -> str:
        if pid == "self":
            return socket.gethostname()
        return linux_spawn.run(socket.gethostname, join={"uts": pid})

    # inside a process
    getpid = staticmethod(os.getpid)
    getuid = staticmethod(os.getuid)
    gethostname = staticmethod(socket.gethostname)

    def _refuse_on_host(self, kind: str, what: str) -> None:
        here = proc.ns_inode("self", kind)
        # "the host's" = where this Python process started, or where PID 1 lives
        # (PID 1's links may be unreadable, e.g. under a hardened init)
        on_host = here == _STARTED_IN.get(kind)
        try:
            on_host = on_host or here == proc.ns_inode(1, kind)
        except (PermissionError, ProcessNotFound):
            pass
        if on_host:
            raise PermissionError(1, f"refusing to {what} in the host's own {kind} namespace; "
                                  f"do it inside spawn(..., namespaces={{'{kind}'}})")

    def sethostname(self, name: str) -> None:
        self._refuse_on_host("uts", f"set the hostname to {name!r}")
        syscalls.sethostname(name)

    def mount(self, source: str | None, target: str, fstype: str | None = None) -> None:
        self._refuse_on_host("mnt", f"mount {target}")
        syscalls.mount(source, target, fstype)

    def umount(self, target: str) -> None:
        self._refuse_on_host("mnt", f"unmount {target}")
        syscalls.umount2(target, syscalls.MNT_DETACH)

    def pause(self, seconds: float | None = None) -> None:
        time.sleep(3600 if seconds is None else seconds)

    # network namespaces
    def NetworkNamespace(self, name: str) -> Any:  # noqa: N802 - reads like the class it makes
        if self._sim_net is not None:
            return sim_netns.SimNetworkNamespace(name, kernel=self._sim_net)
        return real_netns.NetworkNamespace(name)

    def list_named(self) -> list[str]:
        if self._sim_net is not None:
            return sim_netns.list_named(self._sim_net)
        return real_netns.list_named()


class SimBackend:
    """The simulated kernel: same methods, nothing real is created."""

    mode = "simulated"

    def __init__(self, kernel: SimKernel | None = None) -> None:
        self.kernel = kernel or SimKernel()

    def __getattr__(self, name: str) -> Any:
        # spawn, namespace_ids, nspid, pids, getpid, gethostname ... live on the kernel
        return getattr(self.kernel, name)

    def run(self, target: Any, **options: Any) -> Any:
        with self.kernel.spawn(target, **options) as process:
            return process.result() if callable(target) else process.wait()

    def _refuse_on_host(self, kind: str, what: str) -> None:
        from fromscratch.sim.namespaces import current

        if current(self.kernel).ns[kind] is self.kernel.root[kind]:
            raise PermissionError(1, f"refusing to {what} in the host's own {kind} namespace; "
                                  f"do it inside spawn(..., namespaces={{'{kind}'}})")

    def sethostname(self, name: str) -> None:
        self._refuse_on_host("uts", f"set the hostname to {name!r}")
        self.kernel.sethostname(name)

    def mount(self, source: str | None, target: str, fstype: str | None = None) -> None:
        self._refuse_on_host("mnt", f"mount {target}")
        self.kernel.mount(source, target, fstype)

    def pause(self, seconds: float | None = None) -> None:
        sim_pause(self.kernel, seconds)

    def NetworkNamespace(self, name: str) -> sim_netns.SimNetworkNamespace:  # noqa: N802
        return sim_netns.SimNetworkNamespace(name, kernel=self.kernel)

    def list_named(self) -> list[str]:
        return sim_netns.list_named(self.kernel)


Backend = RealBackend | SimBackend


@functools.lru_cache(maxsize=4)
def _backend_for(mode: str) -> Backend:
    if mode == "simulated":
        return SimBackend()
    return RealBackend(rootless=mode == "rootless")


def backend() -> Backend:
    """The backend for this host's mode (``FROMSCRATCH_MODE`` chooses one yourself)."""
    return _backend_for(host.mode())


# ---------------------------------------------------------------- module-level API

def spawn_process(target: Any, **options: Any) -> Any:
    """Start ``target`` in namespaces (also named ``spawn``); see ``linux.spawn.spawn``."""
    return backend().spawn(target, **options)


def run(target: Any, **options: Any) -> Any:
    """Spawn, wait, return the callable's result (or a command's exit code)."""
    return backend().run(target, **options)


def _forward(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(backend(), name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"``{name}`` of the current backend (real or simulated)."
    return call


spawn = spawn_process
namespace_ids = _forward("namespace_ids")
ns_inode = _forward("ns_inode")
nspid = _forward("nspid")
pids = _forward("pids")
sharing = _forward("sharing")
command_of = _forward("command_of")
mount_points = _forward("mount_points")
hostname_of = _forward("hostname_of")
read_id_map = _forward("read_id_map")
getpid = _forward("getpid")
getuid = _forward("getuid")
gethostname = _forward("gethostname")
sethostname = _forward("sethostname")
mount = _forward("mount")
pause = _forward("pause")
NetworkNamespace = _forward("NetworkNamespace")
list_named = _forward("list_named")


@contextmanager
def switched_network(names: list[str], subnet: str = "10.250.0.0/24", *,
                     switch: str = "switch") -> Iterator[dict[str, Any]]:
    """Several network namespaces on one bridge (see :func:`linux.netns.switched_network`)."""
    with real_netns.switched_network(names, subnet, switch=switch,
                                     namespace=backend().NetworkNamespace) as made:
        yield made


@exercises.pluggable("start_container")
def start_container(target: Any, hostname: str) -> Any:
    """Start ``target`` as a tiny container: new PID, UTS, mount and IPC namespaces.

    Sets the hostname and mounts a fresh ``/proc``, so inside it is PID 1, sees
    its own hostname, and ``ps`` lists only itself.  Returns the running process.
    """
    return spawn(target, namespaces={"pid", "uts", "mnt", "ipc"}, hostname=hostname)


def who_shares(pids_: Iterable[int], kinds: Iterable[str] = ("pid", "uts", "mnt", "net")
               ) -> dict[str, dict[int, list[int]]]:
    """``{kind: {inode: [pids]}}`` — the data behind the "who shares what" picture."""
    table: dict[str, dict[int, list[int]]] = {kind: {} for kind in kinds}
    for (kind, inode), members in sharing(list(pids_), list(kinds)).items():
        table[kind][inode] = members
    return table

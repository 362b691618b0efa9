"""The filesystem a graded kernel sees: a fresh root built from bind mounts, like a container's.

Inside a new mount namespace (made by :func:`fromscratch.linux.spawn.spawn`) we build the
root the way runc prepares a container's ``rootfs`` before ``pivot_root(2)``:

- a ``tmpfs`` as the new ``/``;
- read-only bind mounts of only what Python needs (``/usr``, ``/etc``, the Python
  installation, the virtual environment, the ``fromscratch`` library);
- a private ``/tmp`` and working directory (``tmpfs``, size-capped), a fresh ``/proc`` for
  the new PID namespace, a ``/dev`` holding only ``null``, ``zero``, ``full``, ``random``,
  ``urandom`` and a ``shm`` tmpfs;
- read-write binds of the kernel's runtime directory (connection file and sockets);
- then ``pivot_root`` and a lazy unmount of the old root, so the host's files — the
  gradebook, the hidden tests, other students' submissions — are not hidden but *absent*.

Simplified compared with runc: no overlay image, no ``/sys``, no device cgroup (we create
the device nodes we want instead), no masked ``/proc`` paths (the kernel runs as an
unprivileged user, which is what keeps ``/proc/sys`` read-only for it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from fromscratch.linux import syscalls

DEVICES = ("null", "zero", "full", "random", "urandom")
READ_ONLY = syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY | syscalls.MS_NOSUID
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _inside(root: Path, path: str | os.PathLike[str]) -> Path:
    return root / os.fspath(path).lstrip("/")


def _bind(root: Path, source: str, *, read_only: bool) -> None:
    if os.path.islink(source):
        # /bin -> usr/bin on a merged-/usr system: recreate the link, the target is bound anyway
        link = _inside(root, source)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.readlink(source))
        return
    target = _inside(root, source)
    if os.path.isdir(source):
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    syscalls.mount(source, target, None, syscalls.MS_BIND | syscalls.MS_REC)
    if read_only:
        # subtle: MS_RDONLY is ignored on the first bind; it takes a remount to apply
        syscalls.mount(None, target, None, READ_ONLY)


def _tmpfs(target: Path, *, size: str, mode: str, owner: tuple[int, int] | None = None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode={mode}"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]}"
    syscalls.mount("tmpfs", target, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, options)


def _devices(root: Path) -> None:
    dev = root / "dev"
    _tmpfs(dev, size="64k", mode="755")
    for name in DEVICES:
        _bind(root, f"/dev/{name}", read_only=False)
    _tmpfs(dev / "shm", size="64m", mode="1777")
    (dev / "fd").symlink_to("/proc/self/fd")


def _copy_workdir(source: str, target: Path, owner: tuple[int, int]) -> None:
    """The submission's own files (data files it ships), never notebooks: those carry the tests."""
    if not os.path.isdir(source):
        return
    for entry in os.scandir(source):
        if entry.name.endswith(".ipynb") or entry.name.startswith("."):
            continue
        if entry.is_file(follow_symlinks=False):
            shutil.copy(entry.path, target / entry.name)
            os.chown(target / entry.name, *owner)


def build_root(root: Path, *, read_only: Iterable[str], writable: Iterable[str], workdir: str,
               owner: tuple[int, int], tmp_size: str = "256m") -> None:
    """Mount the sandbox's root at ``root`` (in our private mount namespace); see the module doc."""
    _tmpfs(root, size="16m", mode="755")
    # subtle: the private /tmp comes first, so that a venv or checkout that lives under /tmp is
    # bound on top of it rather than hidden beneath it
    _tmpfs(root / "tmp", size=tmp_size, mode="1777")
    for source in sorted(set(read_only), key=lambda p: p.count("/")):
        if os.path.lexists(source):
            _bind(root, source, read_only=True)
    for source in sorted(set(writable), key=lambda p: p.count("/")):
        _bind(root, source, read_only=False)
    work = _inside(root, workdir)
    _tmpfs(work, size=tmp_size, mode="700", owner=owner)
    _copy_workdir(workdir, work, owner)
    _devices(root)
    (root / "proc").mkdir(exist_ok=True)
    syscalls.mount("proc", root / "proc", "proc",
                   syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)


def enter_root(root: Path, workdir: str) -> None:
    """``pivot_root`` into ``root`` and forget the old one (runc's ``pivotRoot``)."""
    old = root / ".old-root"
    old.mkdir()
    syscalls.pivot_root(root, old)
    os.chdir("/")
    syscalls.umount2("/.old-root", syscalls.MNT_DETACH)
    os.rmdir("/.old-root")
    # the new root itself read-only: only /tmp, the workdir and the runtime dir are writable
    syscalls.mount(None, "/", None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY)
    os.chdir(workdir)


def loopback_up() -> None:
    """``ip link set lo up`` in our fresh network namespace (its own 127.0.0.1, nothing else)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def drop_privileges(uid: int, gid: int) -> None:
    """Become an unprivileged user: no capabilities left, so no mount, no ptrace of others."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # subtle: changing credentials clears the parent-death signal; set it again
    syscalls.prctl(syscalls.PR_SET_PDEATHSIG, 9)

"""The handful of Linux system calls a container runtime is made of, via ctypes.

Python 3.11 exposes ``os.fork`` and ``os.execvp`` but not ``unshare(2)``,
``setns(2)``, ``mount(2)``, ``umount2(2)``, ``pivot_root(2)`` or
``sethostname(2)`` (``os.unshare``/``os.setns`` arrived in 3.12).  This module
calls them straight from the C library with :mod:`ctypes`, the way runc's
``libcontainer`` calls them through Go's ``syscall`` package — no C extension
to compile.

Each wrapper raises :class:`OSError` with the right ``errno`` and a message
naming the call and its arguments, so ``EPERM`` reads as "unshare(CLONE_NEWPID)
was refused" rather than a bare number.

Simplified: only the flags the course uses are named here; ``clone3(2)`` is not
wrapped (we ``fork`` after ``unshare`` instead, as ``unshare --fork`` does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

# -- namespace flags, from <linux/sched.h> (see namespaces(7)) ----------------
CLONE_NEWNS = 0x00020000  # mount namespace (the first one, hence the vague name)
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# -- mount(2) flags, from <linux/mount.h> --------------------------------------
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20

# -- umount2(2) flags -----------------------------------------------------------
MNT_FORCE = 1
MNT_DETACH = 2

FLAG_NAMES: dict[int, str] = {
    CLONE_NEWNS: "CLONE_NEWNS",
    CLONE_NEWCGROUP: "CLONE_NEWCGROUP",
    CLONE_NEWUTS: "CLONE_NEWUTS",
    CLONE_NEWIPC: "CLONE_NEWIPC",
    CLONE_NEWUSER: "CLONE_NEWUSER",
    CLONE_NEWPID: "CLONE_NEWPID",
    CLONE_NEWNET: "CLONE_NEWNET",
    CLONE_NEWTIME: "CLONE_NEWTIME",
}

# glibc 2.36 has no pivot_root() wrapper; call it by number (asm/unistd.h).
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}


class _NotLinux:
    """Stands in for libc off Linux: the constants stay importable, every call fails."""

    def __getattr__(self, name: str) -> object:
        def unsupported(*_args: object) -> int:
            ctypes.set_errno(38)  # ENOSYS
            return -1

        return unsupported


_libc: ctypes.CDLL | _NotLinux
if sys.platform == "linux":
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    _libc.unshare.argtypes = [ctypes.c_int]
    _libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                            ctypes.c_char_p]
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    _libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                            ctypes.c_ulong]
else:
    _libc = _NotLinux()

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def describe_flags(flags: int) -> str:
    """``CLONE_NEWPID|CLONE_NEWUTS`` for the namespace bits in ``flags`` (for messages)."""
    names = [name for bit, name in FLAG_NAMES.items() if flags & bit]
    rest = flags & ~sum(FLAG_NAMES)
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"


def _check(result: int, call: str) -> int:
    """Turn a C ``-1`` return into an OSError that names the call."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{call} failed: {os.strerror(err)}")
    return result


def _bytes(value: str | os.PathLike[str] | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``).

    Note: after ``CLONE_NEWPID`` the *caller* stays in its PID namespace; only
    its next child becomes PID 1 of the new one.
    """
    _check(_libc.unshare(flags), f"unshare({describe_flags(flags)})")


def setns(fd: int, nstype: int = 0) -> None:
    """Join the namespace that ``fd`` (an open ``/proc/PID/ns/*`` file) refers to.

    ``nstype`` 0 accepts any kind; a ``CLONE_NEW*`` flag makes the kernel check
    the kind, as ``nsenter`` does.
    """
    _check(_libc.setns(fd, nstype), f"setns(fd={fd}, {describe_flags(nstype)})")


def mount(source: str | os.PathLike[str] | None, target: str | os.PathLike[str],
          fstype: str | None = None, flags: int = 0, data: str | None = None) -> None:
    """``mount(2)``: attach a filesystem (or bind, move, change propagation)."""
    call = f"mount({source!r}, {os.fspath(target)!r}, {fstype!r}, flags={flags:#x}, {data!r})"
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)), call)


def umount2(target: str | os.PathLike[str], flags: int = 0) -> None:
    """``umount2(2)``: detach a mount; ``MNT_DETACH`` makes it lazy."""
    _check(_libc.umount2(_bytes(target), flags), f"umount2({os.fspath(target)!r}, {flags})")


def pivot_root(new_root: str | os.PathLike[str], put_old: str | os.PathLike[str]) -> None:
    """``pivot_root(2)``: make ``new_root`` the root mount, moving the old one to ``put_old``."""
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: syscall number unknown on {platform.machine()}")
    call = f"pivot_root({os.fspath(new_root)!r}, {os.fspath(put_old)!r})"
    _check(_libc.syscall(number, _bytes(new_root), _bytes(put_old)), call)


def sethostname(name: str) -> None:
    """``sethostname(2)``: set the hostname of the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), f"sethostname({name!r})")


def setdomainname(name: str) -> None:
    """``setdomainname(2)``: the NIS domain name, the UTS namespace's other field."""
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), f"setdomainname({name!r})")


def prctl(option: int, arg: int = 0) -> int:
    """``prctl(2)`` with one argument, e.g. ``prctl(PR_SET_PDEATHSIG, SIGKILL)``."""
    return _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option}, {arg})")

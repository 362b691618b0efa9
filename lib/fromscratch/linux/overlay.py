"""Real overlayfs: stack read-only layer directories under one writable directory.

This is what Docker's ``overlay2`` storage driver and containerd's overlay
snapshotter do for every container: the image layers become ``lowerdir``s, a
fresh empty directory becomes ``upperdir``, and the kernel shows their union at
the mount point.  Writes go to the upper directory (copy-up); deletions of
lower files leave a *whiteout* there, a character device with device number
0/0; a directory that must hide everything below it is marked *opaque* with
the ``trusted.overlay.opaque=y`` extended attribute (``user.overlay.opaque``
when mounted with ``userxattr``).  See the kernel's
Documentation/filesystems/overlayfs.rst.

Two ways to mount:

- as root in the current mount namespace (:func:`mount_overlay`), and
- rootless (:func:`in_rootless_overlay`): a child process makes a user and a
  mount namespace, maps our uid to root inside, and mounts with ``userxattr``
  (Linux >= 5.11), the way rootless Podman does.

Layer order: everywhere in this library a stack is listed **bottom first**, the
order of an OCI manifest's ``layers``.  The kernel's ``lowerdir=`` option wants
the **top** layer first, so :func:`lowerdir_option` reverses it.

Simplified: no ``redirect_dir``/``metacopy``/``index`` features (we mount with
them off so the upper directory only ever holds plain files, whiteouts and
opaque markers), no volatile or data-only lower layers.
"""

from __future__ import annotations

import errno
import os
import pickle
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fromscratch.linux import syscalls

T = TypeVar("T")

OPAQUE_XATTR = {False: "trusted.overlay.opaque", True: "user.overlay.opaque"}
WHITEOUT_DEVICE = 0  # makedev(0, 0)



class OverlayError(OSError):
    """A mount or unmount failed; the message says which and why."""


def _mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    try:
        syscalls.mount(source, target, fstype, flags, data)
    except OSError as err:
        hint = ""
        if err.errno == errno.EINVAL and "userxattr" in data:
            hint = " (userxattr needs Linux >= 5.11)"
        raise OverlayError(err.errno, f"mount -t {fstype} -o {data} {target}: "
                                      f"{os.strerror(err.errno or 0)}{hint}") from None


_EMPTY_LOWERS: dict[Path, Path] = {}


def _drop_empty_lower(target: Path) -> None:
    empty = _EMPTY_LOWERS.pop(target, None)
    if empty is not None:
        empty.rmdir()


def unmount(target: str | os.PathLike[str], *, lazy: bool = False) -> None:
    """umount2(target): detach a mount (``lazy`` = MNT_DETACH, like ``umount -l``)."""
    syscalls.umount2(target, syscalls.MNT_DETACH if lazy else 0)
    _drop_empty_lower(Path(target))


# --- whiteouts and opaque directories -------------------------------------------------


def make_whiteout(path: str | os.PathLike[str]) -> None:
    """Create an overlay whiteout: a character device 0/0 (allowed unprivileged since 5.8)."""
    os.mknod(path, stat.S_IFCHR | 0o000, WHITEOUT_DEVICE)


def is_whiteout(st: os.stat_result) -> bool:
    """True for an overlay whiteout: a character device whose number is 0/0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == WHITEOUT_DEVICE


def set_opaque(directory: str | os.PathLike[str], *, userxattr: bool = False) -> None:
    """Mark ``directory`` opaque: the union shows none of the lower layers' entries in it."""
    os.setxattr(directory, OPAQUE_XATTR[userxattr], b"y", follow_symlinks=False)


def is_opaque(directory: str | os.PathLike[str], *, userxattr: bool = False) -> bool:
    """True if ``directory`` carries the overlay opaque marker (value ``y``)."""
    try:
        return os.getxattr(directory, OPAQUE_XATTR[userxattr], follow_symlinks=False) == b"y"
    except OSError as err:
        if err.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
            return False
        raise


# --- mounting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlayMount:
    """One overlay mount: its layers (bottom first), upper/work dirs and mount point."""

    lowers: tuple[Path, ...]
    upper: Path | None
    work: Path | None
    target: Path
    userxattr: bool = False

    @property
    def options(self) -> str:
        return overlay_options(self.lowers, self.upper, self.work, userxattr=self.userxattr)


def lowerdir_option(lowers: Sequence[str | os.PathLike[str]]) -> str:
    """``lowerdir=`` value: the kernel wants the top-most layer first, we list bottom first."""
    if not lowers:
        raise ValueError("overlay needs at least one lower layer")
    for layer in lowers:
        text = os.fspath(layer)
        # subtle: ':' separates layers and ',' separates options; the kernel would misparse.
        if ":" in text or "," in text:
            raise ValueError(f"layer path {text!r} contains ':' or ',' which overlay cannot parse")
    return ":".join(os.fspath(layer) for layer in reversed(lowers))


def overlay_options(
    lowers: Sequence[str | os.PathLike[str]],
    upper: str | os.PathLike[str] | None,
    work: str | os.PathLike[str] | None,
    *,
    userxattr: bool = False,
) -> str:
    """The mount data string, e.g. ``lowerdir=/l2:/l1,upperdir=/u,workdir=/w``."""
    options = [f"lowerdir={lowerdir_option(lowers)}"]
    if (upper is None) != (work is None):
        raise ValueError("upperdir and workdir go together: give both or neither")
    if upper is not None and work is not None:
        options += [f"upperdir={os.fspath(upper)}", f"workdir={os.fspath(work)}"]
    if userxattr:
        options.append("userxattr")
    elif upper is not None:
        # keep the upper dir in the plain format the layer differ understands
        options += ["redirect_dir=off", "index=off", "metacopy=off"]
    return ",".join(options)


def mount_overlay(
    *,
    lowers: Sequence[str | os.PathLike[str]],
    target: str | os.PathLike[str],
    upper: str | os.PathLike[str] | None = None,
    work: str | os.PathLike[str] | None = None,
    userxattr: bool = False,
) -> OverlayMount:
    """mount -t overlay overlay -o lowerdir=...,upperdir=...,workdir=... target.

    Without ``upper``/``work`` the mount is read-only (a pure union of lowers).
    Needs CAP_SYS_ADMIN in the user namespace owning the current mount namespace.
    """
    for layer in lowers:
        if not Path(layer).is_dir():
            raise FileNotFoundError(f"overlay layer {os.fspath(layer)!r} is not a directory")
    layers = list(lowers)
    if upper is None and len(layers) == 1:
        # subtle: without an upperdir the kernel wants two lowerdirs; add an empty one
        empty = Path(tempfile.mkdtemp(prefix="fromscratch-empty-lower-"))
        _EMPTY_LOWERS[Path(target)] = empty
        layers.insert(0, empty)
    data = overlay_options(layers, upper, work, userxattr=userxattr)
    flags = syscalls.MS_RDONLY if upper is None else 0
    try:
        _mount("overlay", os.fspath(target), "overlay", flags, data)
    except OverlayError:
        _drop_empty_lower(Path(target))
        raise
    return OverlayMount(
        lowers=tuple(Path(p) for p in lowers),
        upper=Path(upper) if upper is not None else None,
        work=Path(work) if work is not None else None,
        target=Path(target),
        userxattr=userxattr,
    )


def enter_rootless_namespaces() -> None:
    """unshare(CLONE_NEWUSER|CLONE_NEWNS) and map our uid/gid to root inside.

    Call only in a child process you are about to discard: the current process
    changes user namespace for good.
    """
    uid, gid = os.geteuid(), os.getegid()
    syscalls.unshare(syscalls.CLONE_NEWUSER | syscalls.CLONE_NEWNS)
    # a process may map only its own ids, and must deny setgroups before writing gid_map
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def run_in_child(function: Callable[[], T]) -> T:
    """Run ``function`` in a forked child and return its (picklable) result or raise its error."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        try:
            payload = pickle.dumps(("ok", function()))
        except BaseException as err:  # noqa: BLE001 - the parent re-raises it
            payload = pickle.dumps(("error", err))
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    if not data:
        raise OverlayError(errno.ECHILD, "child process died before reporting a result")
    status, value = pickle.loads(data)
    if status == "error":
        raise value
    return value


def in_rootless_overlay(
    *,
    lowers: Sequence[str | os.PathLike[str]],
    target: str | os.PathLike[str],
    upper: str | os.PathLike[str] | None = None,
    work: str | os.PathLike[str] | None = None,
    action: Callable[[Path], Any],
) -> Any:
    """Mount the overlay rootless (user namespace + ``userxattr``) and run ``action(target)``.

    The mount lives in a child's private mount namespace and vanishes with it,
    so nothing needs unmounting afterwards; ``action``'s result comes back pickled.
    """

    def child() -> Any:
        enter_rootless_namespaces()
        mount_overlay(lowers=layers, target=target, upper=upper, work=work, userxattr=True)
        return action(Path(target))

    with _two_lowers(lowers, upper) as layers:
        return run_in_child(child)


def in_private_overlay(
    *,
    lowers: Sequence[str | os.PathLike[str]],
    target: str | os.PathLike[str],
    upper: str | os.PathLike[str] | None = None,
    work: str | os.PathLike[str] | None = None,
    action: Callable[[Path], Any],
) -> Any:
    """As root: mount in a child's private mount namespace, run ``action(target)``, return."""

    def child() -> Any:
        syscalls.unshare(syscalls.CLONE_NEWNS)
        # subtle: make our copy of the mount tree private so nothing propagates to the host
        syscalls.mount(None, "/", None, syscalls.MS_PRIVATE | syscalls.MS_REC)
        mount_overlay(lowers=layers, target=target, upper=upper, work=work)
        return action(Path(target))

    with _two_lowers(lowers, upper) as layers:
        return run_in_child(child)


@contextmanager
def _two_lowers(lowers: Sequence[str | os.PathLike[str]],
                upper: str | os.PathLike[str] | None) -> Iterator[list[Any]]:
    """Give a read-only mount its second (empty) lower layer from the parent, and remove it."""
    if upper is not None or len(lowers) != 1:
        yield list(lowers)
        return
    empty = Path(tempfile.mkdtemp(prefix="fromscratch-empty-lower-"))
    try:
        yield [empty, *lowers]
    finally:
        empty.rmdir()

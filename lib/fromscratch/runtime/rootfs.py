"""Inside the new mount namespace: build the container's root filesystem, then ``pivot_root``.

This is runc's ``prepareRootfs`` (``libcontainer/rootfs_linux.go``), step by step:

1. the root: an overlay of the image layers (mounted *here*, inside the
   container's own mount namespace, so it vanishes with the container), or
   the bundle's directory bind-mounted onto itself — ``pivot_root`` needs a mount point;
2. the config's ``mounts``, in order: ``/proc``, a tmpfs ``/dev``, ``/dev/pts``,
   ``/dev/shm``, ``/dev/mqueue``, a read-only ``/sys``, then the **volumes** —
   bind mounts made after the rootfs is ready and *before* ``pivot_root``, so the
   host never sees them and ``commit`` finds only an empty mount point;
3. the minimal ``/dev``: ``null zero full random urandom tty`` bound from the
   host, and the ``fd``/``stdin``/``stdout``/``stderr``/``ptmx`` symlinks;
4. ``pivot_root(".", ".")`` then ``umount2(".", MNT_DETACH)``: the old root is
   stacked under the new one and detached at once, so nothing of the host's
   tree stays reachable — unlike ``chroot``, which only changes how paths are
   resolved and can be escaped by a process that keeps a directory outside;
5. masked and read-only paths (:mod:`fromscratch.runtime.hardening`), then the
   root remounted read-only if ``root.readonly``.

Every destination is resolved *inside* the rootfs (a symlink in the image cannot
point a mount at the host).  Simplified: no mount propagation options, no idmapped
mounts; the ``cgroup`` mount type binds whole v1 hierarchies (see :func:`mount_cgroup_v1`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fromscratch.exercises import pluggable
from fromscratch.image.extract import resolve_in_root
from fromscratch.linux import overlay, syscalls
from fromscratch.runtime import hardening

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
# mount(8) option words -> (flags to set, flags to clear)
_FLAGS = {
    "ro": syscalls.MS_RDONLY, "nosuid": syscalls.MS_NOSUID, "nodev": syscalls.MS_NODEV,
    "noexec": syscalls.MS_NOEXEC, "bind": syscalls.MS_BIND,
    "rbind": syscalls.MS_BIND | syscalls.MS_REC,
}
_IGNORED = {"rw", "suid", "dev", "exec", "relatime", "strictatime", "private", "rprivate",
            "slave", "rslave", "shared", "rshared", "nosymfollow"}


def parse_options(options: Iterable[str]) -> tuple[int, str]:
    """``["nosuid", "mode=755"]`` -> (MS_NOSUID, ``"mode=755"``): flags and fs-specific data."""
    flags, data = 0, []
    for option in options:
        if option in _FLAGS:
            flags |= _FLAGS[option]
        elif option not in _IGNORED:
            data.append(option)
    return flags, ",".join(data)


def mount_depth(destination: str) -> int:
    """How many components a mount destination has: ``/`` 0, ``/data`` 1, ``/a/b`` 2."""
    return len([part for part in destination.split("/") if part])


@pluggable("order_mounts")
def order_mounts(mounts: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The order to mount volumes in: parents before children, else as given.

    Docker sorts a container's mounts by the number of components of their
    destination (``daemon/volumes.go``), a *stable* sort: ``/data`` must be
    mounted before ``/data/cache``, or the second would be hidden under the
    first.  Destinations must be absolute and must not contain ``..``.
    """
    for mount in mounts:
        destination = str(mount.get("destination", ""))
        if not destination.startswith("/"):
            raise ValueError(f"mount destination {destination!r} is not an absolute path")
        if ".." in destination.split("/"):
            raise ValueError(f"mount destination {destination!r} may not contain '..'")
    return sorted(mounts, key=lambda m: mount_depth(str(m["destination"])))


def _inside(root: Path, destination: str) -> Path:
    """The destination resolved inside ``root`` (symlinks cannot escape it)."""
    return resolve_in_root(root, destination, follow_last=True)


def _make_target(path: Path, *, is_file: bool) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_file:
        path.touch()
    else:
        path.mkdir()


def mount_one(root: Path, mount: Mapping[str, Any], own_cgroup: str | None = None) -> None:
    """Mount one entry of ``config.json``'s ``mounts`` under ``root``."""
    kind = mount.get("type") or "bind"
    source = mount.get("source")
    flags, data = parse_options(mount.get("options", []))
    target = _inside(root, mount["destination"])
    if kind == "bind" or flags & syscalls.MS_BIND:
        if not source or not os.path.exists(source):
            raise FileNotFoundError(f"bind mount source {source!r} does not exist")
        _make_target(target, is_file=not os.path.isdir(source))
        syscalls.mount(source, target, None, syscalls.MS_BIND | (flags & syscalls.MS_REC))
        if flags & ~(syscalls.MS_BIND | syscalls.MS_REC):
            # subtle: bind ignores other flags; they take effect only on a remount
            syscalls.mount(source, target, None,
                           syscalls.MS_BIND | syscalls.MS_REMOUNT | (flags & ~syscalls.MS_REC))
        return
    _make_target(target, is_file=False)
    if kind == "cgroup":
        mount_cgroup_v1(target, flags, own_cgroup)
        return
    if kind == "sysfs" and flags & syscalls.MS_RDONLY:
        try:
            syscalls.mount(source or kind, target, kind, flags, data or None)
        except PermissionError:
            # without a new network namespace sysfs cannot be mounted fresh: bind the host's
            syscalls.mount("/sys", target, None, syscalls.MS_BIND | syscalls.MS_REC)
            syscalls.mount(None, target, None,
                           syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY)
        return
    syscalls.mount(source or kind, target, kind, flags, data or None)


def mount_cgroup_v1(target: Path, flags: int, own: str | None = None) -> None:
    """A ``cgroup`` mount as runc makes it on a v1 host: a tmpfs holding one bind per hierarchy.

    Like runc, each hierarchy shows the container's *own* group (``own``, relative to
    the hierarchy's root), so ``memory.limit_in_bytes`` inside reads its own limit.
    Simplified: in a hierarchy where the container has no group of its own (we make
    groups only for cpu, cpuacct, memory and pids), the whole hierarchy is bound.
    """
    syscalls.mount("tmpfs", target, "tmpfs", flags & ~syscalls.MS_RDONLY, "mode=755")
    with open("/proc/self/mountinfo") as info:
        hierarchies = [line.split()[4] for line in info if " - cgroup " in line]
    for source in hierarchies:
        name = os.path.basename(source)
        (target / name).mkdir(exist_ok=True)
        mine = os.path.join(source, own) if own else source
        syscalls.mount(mine if os.path.isdir(mine) else source, target / name, None, syscalls.MS_BIND)
        syscalls.mount(None, target / name, None,
                       syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY | flags)
        for alias in name.split(",") if "," in name else []:
            if not os.path.lexists(target / alias):
                os.symlink(name, target / alias)
    if flags & syscalls.MS_RDONLY:
        syscalls.mount(None, target, None, syscalls.MS_REMOUNT | flags, "mode=755")


def populate_dev(root: Path) -> None:
    """The minimal /dev: bind the host's harmless devices, add the usual symlinks."""
    dev = root / "dev"
    for name in DEVICES:
        target = dev / name
        if not target.exists():
            target.touch()
        syscalls.mount(f"/dev/{name}", target, None, syscalls.MS_BIND)
    for name, link in DEV_LINKS.items():
        if not os.path.lexists(dev / name):
            os.symlink(link, dev / name)


def mount_root(config: Mapping[str, Any], rootfs: Path) -> None:
    """Step 1: the overlay of an image (from our annotation), or a bind of the directory."""
    layers = config.get("annotations", {}).get("org.fromscratch.overlay")
    if layers:
        spec = layers if isinstance(layers, dict) else {}
        overlay.mount_overlay(lowers=spec["lowers"], upper=spec["upper"], work=spec["work"],
                              target=rootfs, userxattr=bool(spec.get("userxattr")))
    else:
        syscalls.mount(rootfs, rootfs, None, syscalls.MS_BIND | syscalls.MS_REC)


def enter_root(rootfs: Path) -> None:
    """Step 4: ``pivot_root`` into ``rootfs`` and detach the old root."""
    os.chdir(rootfs)
    # the pivot_root(".", ".") trick (runc, lxc): the old root ends up stacked on top
    # of the new one at "/", and a lazy unmount of "." takes it away
    syscalls.pivot_root(".", ".")
    syscalls.mount(None, ".", None, syscalls.MS_SLAVE | syscalls.MS_REC)
    syscalls.umount2(".", syscalls.MNT_DETACH)
    os.chdir("/")


def prepare_rootfs(config: Mapping[str, Any], rootfs: Path) -> None:
    """All of the above, in the container's mount namespace (as PID 1, before exec)."""
    syscalls.mount(None, "/", None, syscalls.MS_SLAVE | syscalls.MS_REC)
    mount_root(config, rootfs)
    mounts = list(config.get("mounts", []))
    volumes = [m for m in mounts if (m.get("type") or "bind") == "bind"]
    own_cgroup = config.get("annotations", {}).get("org.fromscratch.cgroup")
    for mount in [m for m in mounts if m not in volumes]:
        mount_one(rootfs, mount, own_cgroup)
    if (rootfs / "dev").is_dir() and any(m["destination"] == "/dev" for m in mounts):
        populate_dev(rootfs)
    # volumes last: after the rootfs is ready, before pivot_root
    for mount in order_mounts(volumes):
        mount_one(rootfs, mount)
    enter_root(rootfs)
    linux = config.get("linux", {})
    hardening.mask_paths(linux.get("maskedPaths", []))
    hardening.readonly_paths(linux.get("readonlyPaths", []))
    if config.get("root", {}).get("readonly"):
        syscalls.mount(None, "/", None, syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY)

"""A simulated overlay mount: copy the union into a directory, diff it at unmount.

Without the privilege to mount overlayfs, this does what Docker's ``vfs``
storage driver does: *copy* the layers, bottom first, into the target
directory — applying whiteouts (delete) and opaque directories (empty the
directory first) exactly as overlayfs would show them — and, when the
"mount" ends, compare the directory with what was copied in and write the
differences into ``upper`` in overlay format (0/0 whiteouts, opaque markers).

It offers the interface of ``fromscratch.linux.overlay`` (``mount_overlay``,
``unmount``), so the rest of the library does not care which one it holds.
Honest differences from the kernel: writes are not copy-on-write (the whole
union is copied up front, which costs time and space), a deleted-then-recreated
directory is recorded as opaque only when its type changed, and nothing is
shared between two "mounts" of the same layers.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fromscratch.image.layers import Fingerprint, changes_between, fingerprint
from fromscratch.linux.overlay import is_opaque, is_whiteout, make_whiteout, set_opaque

mode = "simulated"


@dataclass
class SimulatedOverlayMount:
    """What :func:`mount_overlay` hands out; ``mode`` says it is not a kernel mount."""

    lowers: tuple[Path, ...]
    upper: Path | None
    target: Path
    userxattr: bool = False
    before: Fingerprint = field(default_factory=dict)
    mode: str = "simulated"


_MOUNTS: dict[Path, SimulatedOverlayMount] = {}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def copy_layer(layer: Path, target: Path, *, userxattr: bool = False) -> None:
    """Apply one overlay-format layer directory onto ``target`` (vfs-style)."""
    for dirpath, dirnames, filenames in os.walk(layer):
        source_dir = Path(dirpath)
        dest_dir = target / source_dir.relative_to(layer)
        if source_dir != layer and is_opaque(source_dir, userxattr=userxattr):
            for child in list(dest_dir.iterdir()) if dest_dir.is_dir() else []:
                _remove(child)  # opaque: nothing from the layers below shows through
        for name in sorted(dirnames + filenames):
            source, dest = source_dir / name, dest_dir / name
            st = source.lstat()
            if is_whiteout(st):
                _remove(dest)
            elif stat.S_ISDIR(st.st_mode):
                if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                    _remove(dest)
                dest.mkdir(exist_ok=True)
                shutil.copymode(source, dest)
            else:
                _remove(dest)
                shutil.copy2(source, dest, follow_symlinks=False)


def mount_overlay(*, lowers: Sequence[str | os.PathLike[str]], target: str | os.PathLike[str],
                  upper: str | os.PathLike[str] | None = None,
                  work: str | os.PathLike[str] | None = None,
                  userxattr: bool = False) -> SimulatedOverlayMount:
    """Simulate ``mount -t overlay``: ``target`` gets a copy of the union of ``lowers``."""
    root = Path(target)
    if root in _MOUNTS:
        raise OSError(16, f"{root}: already mounted (simulated)")  # EBUSY
    root.mkdir(parents=True, exist_ok=True)
    layers = tuple(Path(p) for p in lowers) + ((Path(upper),) if upper is not None else ())
    for layer in layers:
        copy_layer(layer, root, userxattr=userxattr)
    mount = SimulatedOverlayMount(tuple(Path(p) for p in lowers),
                                  Path(upper) if upper is not None else None, root, userxattr,
                                  fingerprint(root))
    _MOUNTS[root] = mount
    return mount


def unmount(target: str | os.PathLike[str], *, lazy: bool = False) -> None:
    """End the simulated mount: record the changes in ``upper``, then empty ``target``."""
    root = Path(target)
    mount = _MOUNTS.pop(root, None)
    if mount is None:
        raise OSError(22, f"{root}: not mounted (simulated)")  # EINVAL
    if mount.upper is not None:
        for change in changes_between(mount.before, root):
            dest, source = mount.upper / change.path, root / change.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            is_dir = source.is_dir() and not source.is_symlink()
            if not (is_dir and dest.is_dir() and not dest.is_symlink()):
                _remove(dest)  # subtle: keep an existing upper dir, it holds earlier changes
            if change.kind == "delete":
                make_whiteout(dest)
            elif is_dir:
                dest.mkdir(exist_ok=True)
                if change.opaque:
                    set_opaque(dest, userxattr=mount.userxattr)
            else:
                shutil.copy2(source, dest, follow_symlinks=False)
    for child in list(root.iterdir()):
        _remove(child)

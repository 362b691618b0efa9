"""Safe layer extraction: unpack a tar without ever writing outside the target.

A layer tar comes from someone else.  The classic attacks ("tar slip",
CVE-2018-15664-style symlink races aside) are members named ``../../etc/cron.d/x``
or ``/etc/passwd``, a symlink ``evil -> ../../..`` followed by ``evil/x``, a hard
link to a host file, or a device node that opens the host's disk.  Real unpackers
(umoci's ``oci/layer``, containerd's ``archive.Apply`` with ``securejoin``) defend
in two ways, and so do we:

1. :func:`check_member` rejects, before anything is written, absolute names,
   ``..`` components, relative symlinks or hard links that climb out of the
   root, and device nodes unless allowed;
2. every path is resolved *inside* the root (:func:`resolve_in_root`), the way
   the kernel resolves it after ``chroot``: an absolute symlink target starts
   at the layer root, ``..`` stops at it.  So even an allowed absolute symlink
   ``etc -> /etc`` leads to ``<root>/etc``, never to the host's.

Three ways to handle whiteouts (``whiteouts=``):

- ``"overlay"``: one directory per layer for overlayfs: ``.wh.x`` becomes a
  0/0 character device, ``.wh..wh..opq`` the opaque xattr;
- ``"apply"``: flatten onto a root filesystem that already holds the lower
  layers (``umoci unpack``): opaque dirs are emptied, whiteouts delete;
- ``"keep"``: write ``.wh.`` files as they are.

Simplified: no xattrs; ownership is restored only when running as root.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections import deque
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from fromscratch.exercises import pluggable
from fromscratch.image.union import OPAQUE_MARKER, WHITEOUT_PREFIX, normalize

WhiteoutMode = Literal["overlay", "apply", "keep"]
MAX_SYMLINKS = 40  # the kernel's limit for one path walk (MAXSYMLINKS)


class UnsafeLayer(ValueError):
    """A tar member would escape the target or is not allowed; nothing was written."""


def _escapes(start_parts: list[str], relative: str) -> bool:
    """Does walking ``relative`` from directory ``start_parts`` climb above the root?"""
    depth = len(start_parts)
    for part in relative.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


@pluggable("check_member")
def check_member(member: tarfile.TarInfo, *, allow_devices: bool = False) -> None:
    """Raise :class:`UnsafeLayer` if extracting ``member`` could reach outside the root."""
    name = member.name
    if name.startswith("/"):
        raise UnsafeLayer(f"{name!r}: absolute member name")
    if ".." in PurePosixPath(name).parts:
        raise UnsafeLayer(f"{name!r}: '..' in member name (path traversal)")
    directory = [p for p in PurePosixPath(name).parent.parts if p != "."]
    if member.issym() and not member.linkname.startswith("/"):
        # absolute targets are read inside the container's root; relative ones may climb
        if _escapes(directory, member.linkname):
            raise UnsafeLayer(f"{name!r}: symlink to {member.linkname!r} escapes the root")
    if member.islnk():
        # a hard link names another member, always relative to the archive root
        if member.linkname.startswith("/") or _escapes([], member.linkname):
            raise UnsafeLayer(f"{name!r}: hard link to {member.linkname!r} escapes the root")
    if (member.ischr() or member.isblk()) and not allow_devices:
        raise UnsafeLayer(f"{name!r}: device node {member.devmajor}:{member.devminor} "
                          "not permitted (allow_devices=False)")


def resolve_in_root(root: Path, path: str, *, follow_last: bool = False) -> Path:
    """Resolve ``path`` as if ``root`` were ``/`` (chroot semantics); never leaves ``root``."""
    resolved: list[str] = []
    queue = deque(path.split("/"))
    budget = MAX_SYMLINKS
    while queue:
        part = queue.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()  # subtle: '..' at the root stays at the root, as in chroot
            continue
        candidate = root.joinpath(*resolved, part)
        if (queue or follow_last) and candidate.is_symlink():
            budget -= 1
            if budget < 0:
                raise UnsafeLayer(f"{path!r}: too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            queue.extendleft(reversed(target.split("/")))
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def lower_path(root: Path, path: str) -> Path | None:
    """``root/path`` if every parent component is a real directory (no symlink), else None.

    Whiteouts and opaque markers refer to what the lower layers hold *at that
    path*; they never reach through a symlink, exactly as in an overlay stack.
    """
    current = root
    parts = [p for p in path.split("/") if p not in ("", ".")]
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink() or not current.is_dir():
            return None
    return current / parts[-1] if parts else current


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, root: Path, rel: str,
           *, as_root: bool) -> None:
    target = resolve_in_root(root, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    exists = target.exists() or target.is_symlink()
    if exists and not (member.isdir() and target.is_dir() and not target.is_symlink()):
        _remove(target)  # tar semantics: a new entry replaces what was there
    if member.isdir():
        target.mkdir(exist_ok=True)
    elif member.isreg():
        source = archive.extractfile(member)
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)  # type: ignore[arg-type]
    elif member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        os.link(resolve_in_root(root, normalize(member.linkname)), target, follow_symlinks=False)
    elif member.isfifo():
        os.mkfifo(target)
    elif member.ischr() or member.isblk():
        kind = 0o020000 if member.ischr() else 0o060000
        os.mknod(target, kind | member.mode, os.makedev(member.devmajor, member.devminor))
    if as_root:
        os.lchown(target, member.uid, member.gid)
    # subtle: a directory's own mode (maybe read-only) is set last, after its children
    if not member.issym() and not member.isdir():
        os.chmod(target, member.mode & 0o7777)
        os.utime(target, (member.mtime, member.mtime))


def extract_layer(
    source: str | os.PathLike[str] | BinaryIO,
    dest: str | os.PathLike[str],
    *,
    whiteouts: WhiteoutMode = "overlay",
    allow_devices: bool = False,
    userxattr: bool = False,
) -> int:
    """Safely extract a (possibly gzipped) layer tar into ``dest``; returns the member count.

    Every member is checked first: on an unsafe member nothing at all is written.
    """
    from fromscratch.linux.overlay import make_whiteout, set_opaque

    root = Path(dest)
    with (tarfile.open(fileobj=source, mode="r:*") if hasattr(source, "read")
          else tarfile.open(source, mode="r:*")) as archive:  # type: ignore[arg-type]
        members = archive.getmembers()
        for member in members:  # 1. check everything before writing anything
            check_member(member, allow_devices=allow_devices)
        root.mkdir(parents=True, exist_ok=True)
        as_root = os.geteuid() == 0
        entries, deletes, opaque = [], [], []
        for member in members:
            rel = normalize(member.name)
            name = rel.rpartition("/")[2]
            if whiteouts != "keep" and name == OPAQUE_MARKER:
                opaque.append(rel.rpartition("/")[0])
            elif whiteouts != "keep" and name.startswith(WHITEOUT_PREFIX):
                parent = rel.rpartition("/")[0]
                deletes.append(f"{parent}/{name[4:]}" if parent else name[4:])
            elif rel:
                entries.append((rel, member))
        if whiteouts == "apply":
            # 2. opaque dirs and whiteouts hide *lower* content: apply them before our entries
            for rel in opaque:
                directory = lower_path(root, rel)
                if directory and directory.is_dir() and not directory.is_symlink():
                    for child in directory.iterdir():
                        _remove(child)
            for rel in deletes:
                target = lower_path(root, rel)
                if target is not None:
                    _remove(target)
        directories = []
        for rel, member in entries:  # 3. the layer's own entries
            _write(archive, member, root, rel, as_root=as_root)
            if member.isdir():
                directories.append((rel, member))
        if whiteouts == "overlay":
            written = {rel: member for rel, member in entries}
            for rel in deletes:
                if rel in written:
                    if written[rel].isdir():  # whiteout + dir in one layer: replace, not merge
                        set_opaque(resolve_in_root(root, rel), userxattr=userxattr)
                    continue
                path = resolve_in_root(root, rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                make_whiteout(path)
            for rel in opaque:
                path = resolve_in_root(root, rel)
                path.mkdir(parents=True, exist_ok=True)
                set_opaque(path, userxattr=userxattr)
        for rel, member in reversed(directories):  # children are written: mode and mtime now
            path = resolve_in_root(root, rel)
            os.chmod(path, member.mode & 0o7777)
            os.utime(path, (member.mtime, member.mtime))
        return len(members)

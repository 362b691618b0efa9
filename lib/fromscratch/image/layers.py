"""Layer tars: make one from a container's changes, and name it by its digests.

An image layer is a tar of the *changes* a step made to the filesystem
(OCI image-spec, layer.md): added and modified paths as ordinary entries,
deleted paths as ``.wh.<name>`` whiteout files, directories that replace a
lower directory wholesale with a ``.wh..wh..opq`` entry inside.

Two sources of changes, as in Docker's ``pkg/archive``:

- :func:`changes_from_upper`: read an overlay upper directory, where the
  kernel already recorded the changes (character-device whiteouts, opaque
  xattrs) — Docker's ``overlay2`` driver;
- :func:`changes_between`: compare a directory with a fingerprint taken
  before the step ran — the naive differ of Docker's ``vfs`` driver, used
  when no overlay mount is possible (the simulated mode).

Names (image-spec config.md):

- DiffID = ``sha256:`` of the *uncompressed* tar;
- ChainID(L1) = DiffID(L1); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)),
  which names a whole stack (what a snapshotter caches by).

Simplified: entries are written with their real modes and mtimes but with
uid/gid 0 (a rootless build owns everything as one user); no xattrs, no
sparse files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from fromscratch.exercises import pluggable
from fromscratch.image.union import OPAQUE_MARKER, WHITEOUT_PREFIX

ChangeKind = Literal["add", "modify", "delete"]


@dataclass(frozen=True)
class Change:
    """One changed path, like Docker's ``archive.Change``; ``opaque`` for replaced dirs."""

    path: str
    kind: ChangeKind
    opaque: bool = False


# --- digests ----------------------------------------------------------------------------


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: str | os.PathLike[str], *, gunzip: bool = False) -> str:
    """sha256 of a file's bytes (of its decompressed bytes with ``gunzip``), streamed."""
    digest = hashlib.sha256()
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def diff_id(tar_path: str | os.PathLike[str]) -> str:
    """DiffID of a layer: sha256 of the uncompressed tar (gzip is detected)."""
    with open(tar_path, "rb") as source:
        gzipped = source.read(2) == b"\x1f\x8b"
    return file_digest(tar_path, gunzip=gzipped)


@pluggable("chain_ids")
def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """ChainID of every prefix of the stack: ``[ChainID(L1), ..., ChainID(Ln)]``."""
    chains: list[str] = []
    for index, layer_id in enumerate(diff_ids):
        if not layer_id.startswith("sha256:"):
            raise ValueError(f"diff id {layer_id!r} should look like 'sha256:<hex>'")
        if index == 0:
            chains.append(layer_id)
        else:
            chains.append(sha256_digest(f"{chains[-1]} {layer_id}".encode()))
    return chains


def chain_id(diff_ids: Sequence[str]) -> str:
    """ChainID of the whole stack (``""`` for no layers, as for ``FROM scratch``)."""
    return chain_ids(diff_ids)[-1] if diff_ids else ""


# --- changes ------------------------------------------------------------------------------


def changes_from_upper(upper: str | os.PathLike[str], *, userxattr: bool = False) -> list[Change]:
    """Changes recorded by overlayfs in an upper directory."""
    from fromscratch.linux.overlay import is_opaque, is_whiteout

    base = Path(upper)
    changes: list[Change] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = Path(dirpath, name)
            rel = full.relative_to(base).as_posix()
            st = full.lstat()
            if is_whiteout(st):
                changes.append(Change(rel, "delete"))
            elif stat.S_ISDIR(st.st_mode):
                changes.append(Change(rel, "modify", opaque=is_opaque(full, userxattr=userxattr)))
            else:
                changes.append(Change(rel, "modify"))
    return changes


Fingerprint = dict[str, tuple[int, int, int, str]]


def fingerprint(root: str | os.PathLike[str]) -> Fingerprint:
    """path -> (mode, size, mtime_ns, symlink target): what the vfs differ compares."""
    base = Path(root)
    prints: Fingerprint = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            st = full.lstat()
            target = os.readlink(full) if stat.S_ISLNK(st.st_mode) else ""
            size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
            mtime = 0 if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns
            prints[full.relative_to(base).as_posix()] = (st.st_mode, size, mtime, target)
    return prints


def changes_between(before: Fingerprint, root: str | os.PathLike[str]) -> list[Change]:
    """Changes from ``before`` to the directory now at ``root`` (Docker's ``ChangesDirs``)."""
    after = fingerprint(root)
    changes = [Change(p, "add") for p in after if p not in before]
    changes += [Change(p, "modify") for p in after if p in before and after[p] != before[p]]
    deleted = sorted(p for p in before if p not in after)
    # a deleted directory needs one whiteout, not one per child
    changes += [Change(p, "delete") for p in deleted
                if not any(p.startswith(d + "/") for d in deleted)]
    # directories whose type changed (file -> dir) hide nothing below: mark opaque
    return sorted(
        (Change(c.path, c.kind, opaque=c.kind == "modify" and stat.S_ISDIR(after[c.path][0])
                and not stat.S_ISDIR(before[c.path][0])) for c in changes),
        key=lambda c: c.path,
    )


# --- writing tars -----------------------------------------------------------------------------


def _parent_dirs(changes: Iterable[Change]) -> list[str]:
    paths = {c.path for c in changes}
    parents: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent and parent not in paths:
            parents.add(parent)
            parent = parent.rpartition("/")[0]
    return sorted(parents)


def write_changes_tar(
    root: str | os.PathLike[str], changes: Sequence[Change], out: BinaryIO,
    *, owner: tuple[int, int] | None = None,
) -> None:
    """Write ``changes`` of the tree at ``root`` as an OCI layer tar into ``out``.

    Parent directories are included so the tar extracts on its own (as Docker does).
    ``owner`` (uid, gid) is given to the changed entries (``COPY --chown``); others get 0:0.
    """
    changed = {c.path for c in changes}
    base = Path(root)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        entries = [Change(p, "modify") for p in _parent_dirs(changes)] + list(changes)
        for change in sorted(entries, key=lambda c: c.path):
            parent, name = change.path.rpartition("/")[::2]
            if change.kind == "delete":
                whiteout = f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else WHITEOUT_PREFIX + name
                archive.addfile(tarfile.TarInfo(whiteout))
                continue
            full = base / change.path
            info = archive.gettarinfo(str(full), arcname=change.path)
            info.uid, info.gid = owner if owner and change.path in changed else (0, 0)
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as content:
                    archive.addfile(info, content)
            else:
                archive.addfile(info)
            if change.opaque:
                archive.addfile(tarfile.TarInfo(f"{change.path}/{OPAQUE_MARKER}"))


@dataclass(frozen=True)
class LayerBlob:
    """A finished layer: its gzip file on disk and its three numbers."""

    path: Path
    digest: str  # sha256 of the gzip blob: how the manifest refers to it
    diff_id: str  # sha256 of the uncompressed tar: how the config refers to it
    size: int  # bytes of the gzip blob


def gzip_layer(tar_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> LayerBlob:
    """Compress a layer tar (no name, mtime 0: the same tar always gives the same blob)."""
    uncompressed = diff_id(tar_path)
    with open(tar_path, "rb") as source, open(out_path, "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=6) as packed:
            shutil.copyfileobj(source, packed, 1 << 20)
    return LayerBlob(Path(out_path), file_digest(out_path), uncompressed,
                     Path(out_path).stat().st_size)


def layer_from_changes(
    root: str | os.PathLike[str], changes: Sequence[Change], out_path: str | os.PathLike[str],
    *, owner: tuple[int, int] | None = None,
) -> LayerBlob:
    """Changes -> gzip layer blob at ``out_path`` (via an uncompressed tar next to it)."""
    tmp = Path(f"{os.fspath(out_path)}.tar")
    with open(tmp, "wb") as raw:
        write_changes_tar(root, changes, raw, owner=owner)
    try:
        return gzip_layer(tmp, out_path)
    finally:
        tmp.unlink()


def tar_bytes(entries: Iterable[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """Build a small tar in memory from (TarInfo, content) pairs (tests and notebooks)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()

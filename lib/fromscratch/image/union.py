"""The union view in pure Python: what overlayfs shows for a stack of layers.

A *layer* here is a plain dict ``{path: Node}`` with paths relative to the
layer root (``"etc/hosts"``).  A node is a file, a directory (possibly
*opaque*), a symlink, or a *whiteout*.  Layers come from two formats:

- an overlay layer directory (:func:`layer_from_dir`): whiteouts are
  character devices 0/0, opaque directories carry ``trusted.overlay.opaque=y``
  (``user.overlay.opaque`` with ``userxattr``) — what the kernel reads;
- an OCI layer tar (:func:`layer_from_tar`): ``.wh.<name>`` hides ``<name>``,
  ``.wh..wh..opq`` makes its directory opaque — what image registries ship.

:func:`merge_layers` computes the merged tree by the kernel's lookup rule
(``ovl_lookup`` in fs/overlayfs/namei.c), walking the stack from the top:

1. the first layer that has the name decides: a whiteout hides it, a
   non-directory is the answer and hides everything below;
2. a directory is merged with the same-named directories in the layers below
   it, stopping at the first whiteout or non-directory, and *after* the first
   opaque directory;
3. a layer takes part in ``a/b`` only if it took part in ``a``.

Simplified: ownership, timestamps, xattrs, hard-link identity and special
files other than whiteouts are not modelled; file modes are kept but not merged.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from fromscratch.exercises import pluggable

Kind = Literal["file", "dir", "symlink", "whiteout"]
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


@dataclass(frozen=True)
class Node:
    """One entry of a layer: content for files, target for symlinks, opacity for dirs."""

    kind: Kind
    data: bytes = b""
    target: str = ""
    opaque: bool = False


Layer = dict[str, Node]
Tree = dict[str, Node]

FILE, DIR, WHITEOUT = Node("file"), Node("dir"), Node("whiteout")
OPAQUE_DIR = Node("dir", opaque=True)


def file(data: bytes | str = b"") -> Node:
    return Node("file", data=data.encode() if isinstance(data, str) else data)


def symlink(target: str) -> Node:
    return Node("symlink", target=target)


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _name(path: str) -> str:
    return path.rpartition("/")[2]


@pluggable("merge_layers")
def merge_layers(layers: Sequence[Layer]) -> Tree:
    """Merge ``layers`` (bottom first) into the tree overlayfs would show.

    The result has no whiteouts and no opaque flags: it is what ``ls -R`` sees.
    """
    top_first = list(reversed(layers))
    merged: Tree = {}

    def children(directory: str, participants: list[Layer]) -> set[str]:
        names: set[str] = set()
        for layer in participants:
            names.update(_name(p) for p in layer if p and _parent(p) == directory)
        return names

    def visit(directory: str, participants: list[Layer]) -> None:
        for name in sorted(children(directory, participants)):
            path = f"{directory}/{name}" if directory else name
            below: list[Layer] = []
            for layer in participants:
                node = layer.get(path)
                if node is None:
                    continue
                if not below:
                    # step 1: the top-most layer holding the name decides
                    if node.kind == "whiteout":
                        break
                    if node.kind != "dir":
                        merged[path] = node
                        break
                    merged[path] = DIR
                # step 2: merge directories downwards; whiteouts and files stop it
                elif node.kind != "dir":
                    break
                below.append(layer)
                if node.opaque:
                    break  # subtle: the opaque dir itself still counts, nothing under it
            if below:
                visit(path, below)  # step 3: only these layers take part in the subtree

    visit("", top_first)
    return merged


# --- reading layers -------------------------------------------------------------------


def layer_from_dir(root: str | os.PathLike[str], *, userxattr: bool = False) -> Layer:
    """Read an overlay-format layer directory (whiteouts 0/0, opaque xattrs) into a Layer."""
    from fromscratch.linux.overlay import is_opaque, is_whiteout

    base = Path(root)
    layer: Layer = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            rel = full.relative_to(base).as_posix()
            try:
                st = full.lstat()
            except FileNotFoundError:
                # subtle: overlayfs lists a whiteout inside a directory that exists in only
                # one lower layer (it reads that directory straight through), yet looking the
                # name up says ENOENT.  What can be opened is what counts: skip it.
                continue
            if is_whiteout(st):
                layer[rel] = WHITEOUT
            elif stat.S_ISDIR(st.st_mode):
                layer[rel] = Node("dir", opaque=is_opaque(full, userxattr=userxattr))
            elif stat.S_ISLNK(st.st_mode):
                layer[rel] = symlink(os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                layer[rel] = file(full.read_bytes())
            # other special files (fifos, devices) are not modelled
    return layer


def layer_from_tar(source: str | os.PathLike[str] | tarfile.TarFile) -> Layer:
    """Read an OCI layer tar into a Layer, translating ``.wh.`` entries.

    OCI image-spec, layer.md: ``.wh..wh..opq`` applies to the lower layers
    whatever its position in the archive, and a whiteout never hides an entry
    of its own layer; a whiteout and a directory of the same name in one layer
    therefore mean "this directory replaces, not merges": an opaque directory.
    """
    archive = source if isinstance(source, tarfile.TarFile) else tarfile.open(source)
    entries: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        entries[normalize(member.name)] = member  # a later entry replaces an earlier one
    layer: Layer = {}
    whiteouts: set[str] = set()
    opaque: set[str] = set()
    for path, member in entries.items():
        name, parent = _name(path), _parent(path)
        if name == OPAQUE_MARKER:
            opaque.add(parent)
        elif name.startswith(WHITEOUT_PREFIX):
            whiteouts.add(f"{parent}/{name[4:]}" if parent else name[4:])
        elif member.isdir():
            layer[path] = DIR
        elif member.issym():
            layer[path] = symlink(member.linkname)
        elif member.isfile() or member.islnk():
            handle = archive.extractfile(member)
            layer[path] = file(handle.read() if handle else b"")
    for path in whiteouts:
        if path not in layer:
            layer[path] = WHITEOUT
        elif layer[path].kind == "dir":
            opaque.add(path)
    for path in opaque:
        layer[path] = OPAQUE_DIR
    # implicit parents: a tar may omit directory entries; extraction creates them
    for path in list(layer):
        parent = _parent(path)
        while parent and parent not in layer:
            layer[parent] = DIR
            parent = _parent(parent)
    if archive is not source:
        archive.close()
    return layer


def layer_from_tar_bytes(data: bytes) -> Layer:
    """:func:`layer_from_tar` for a tar held in memory."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return layer_from_tar(archive)


def normalize(name: str) -> str:
    """Tar member name -> layer path: ``./a/b/`` -> ``a/b``; ``.`` -> ``""``."""
    parts = [p for p in PurePosixPath(name).parts if p not in (".", "/")]
    return "/".join(parts)


def snapshot(root: str | os.PathLike[str]) -> Tree:
    """What a real (mounted) directory tree shows, in the same shape as :func:`merge_layers`."""
    return {path: Node(node.kind, node.data, node.target) for path, node in
            layer_from_dir(root).items() if node.kind != "whiteout"}


def render(tree: Tree | Layer, *, limit: int = 60) -> str:
    """A small ``ls -R``-like listing: one line per path, symbols for the node kind."""
    marks = {"dir": "/", "symlink": "@", "whiteout": " (whiteout)", "file": ""}
    lines = []
    for path in sorted(tree)[:limit]:
        node = tree[path]
        extra = f" -> {node.target}" if node.kind == "symlink" else ""
        extra += f"  {node.data[:30]!r}" if node.kind == "file" else ""
        extra += " (opaque)" if node.opaque else ""
        lines.append(f"{'  ' * path.count('/')}{_name(path)}{marks[node.kind]}{extra}")
    if len(tree) > limit:
        lines.append(f"... {len(tree) - limit} more")
    return "\n".join(lines)


def write_layer_dir(layer: Layer, root: str | os.PathLike[str], *, userxattr: bool = False) -> None:
    """Materialize a Layer as an overlay-format directory (used by tests and the notebook)."""
    from fromscratch.linux.overlay import make_whiteout, set_opaque

    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    for path in sorted(layer):
        node, full = layer[path], base / path
        full.parent.mkdir(parents=True, exist_ok=True)
        if node.kind == "dir":
            full.mkdir(exist_ok=True)
            if node.opaque:
                set_opaque(full, userxattr=userxattr)
        elif node.kind == "file":
            full.write_bytes(node.data)
        elif node.kind == "symlink":
            os.symlink(node.target, full)
        else:
            make_whiteout(full)


def tar_entries(layer: Layer) -> Iterable[tuple[tarfile.TarInfo, bytes]]:
    """A Layer as OCI tar entries (whiteouts become ``.wh.`` files), parents first."""
    for path in sorted(layer):
        node = layer[path]
        parent, name = _parent(path), _name(path)
        if node.kind == "whiteout":
            info = tarfile.TarInfo(f"{parent}/{WHITEOUT_PREFIX}{name}" if parent else
                                   f"{WHITEOUT_PREFIX}{name}")
            yield info, b""
            continue
        info = tarfile.TarInfo(path)
        if node.kind == "dir":
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            yield info, b""
            if node.opaque:
                yield tarfile.TarInfo(f"{path}/{OPAQUE_MARKER}"), b""
        elif node.kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, node.target
            yield info, b""
        else:
            info.size, info.mode = len(node.data), 0o644
            yield info, node.data

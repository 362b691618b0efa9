"""COPY and ADD: bring files from the build context into a new layer.

Follows the Dockerfile reference:

- sources are relative to the build context and may not leave it; ``*``/``?``
  wildcards are matched; a source *directory* contributes its contents;
- the destination is a directory if it ends with ``/`` or there are several
  sources; a relative destination is relative to ``WORKDIR``; missing parent
  directories are created;
- ``ADD`` also unpacks a local tar archive (plain, gzip, bzip2 or xz) into the
  destination — through the same safe extractor as image layers — and
  downloads ``http(s)://`` URLs (an offline machine gets a clear error);
- ``--chown=UID:GID`` (numeric, see :func:`parse_chown`) and ``--chmod=OCTAL`` set owner
  and mode.

The files are staged in a directory that mirrors the image root, and the
staged tree becomes the layer.  :func:`content_digest` fingerprints the
sources for the build cache, the way Docker checksums them for ``COPY``.
Simplified: no ``.dockerignore``, no ``COPY --from`` (no multi-stage builds),
no ``--link``/``--parents``; user *names* in ``--chown`` are not resolved.
"""

from __future__ import annotations

import glob
import hashlib
import os
import posixpath
import shutil
import tarfile
import urllib.request
from pathlib import Path

from fromscratch.image.extract import extract_layer


class ContextError(ValueError):
    """A COPY/ADD source is missing, outside the context, or cannot be fetched."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve_sources(context: Path, sources: list[str]) -> list[Path]:
    """Expand wildcards; refuse anything outside the context (Docker: 'forbidden path')."""
    root = context.resolve()
    paths: list[Path] = []
    for source in sources:
        if is_url(source):
            continue
        matches = sorted(glob.glob(str(root / source.lstrip("/")))) if any(
            c in source for c in "*?[") else [str(root / source.lstrip("/"))]
        if not matches or not all(os.path.lexists(m) for m in matches):
            raise ContextError(f"{source}: no such file or directory in the build context")
        for match in matches:
            real = Path(match).resolve()
            if real != root and root not in real.parents:
                raise ContextError(f"{source}: forbidden path outside the build context")
            paths.append(Path(match))
    return paths


def content_digest(context: Path, sources: list[str]) -> str:
    """sha256 over the names, modes and bytes of every source file (the cache key part)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.encode())
    for path in resolve_sources(context, sources):
        items = [path] if not path.is_dir() else sorted(p for p in path.rglob("*"))
        for item in items:
            digest.update(str(item.relative_to(context.resolve().parent)).encode())
            digest.update(oct(item.lstat().st_mode).encode())
            if item.is_file() and not item.is_symlink():
                with open(item, "rb") as content:
                    while chunk := content.read(1 << 20):
                        digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def destination(dest: str, workdir: str) -> tuple[str, bool]:
    """Absolute destination path and whether it names a directory."""
    is_dir = dest.endswith("/") or dest in (".", "..")
    return posixpath.normpath(posixpath.join(workdir or "/", dest)), is_dir


def _fetch(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        raise ContextError(f"ADD {url}: cannot download it ({err}); this course runs offline: "
                           "put the file in the build context and COPY it instead") from None


def stage(context: Path, staging: Path, sources: list[str], dest: str, *, workdir: str,
          add: bool, chmod: str = "") -> None:
    """Copy ``sources`` into ``staging`` (a tree mirroring the image root) at ``dest``."""
    target, dest_is_dir = destination(dest, workdir)
    if len(sources) > 1 and not dest_is_dir:
        raise ContextError(f"when using COPY/ADD with more than one source, the destination "
                           f"must be a directory and end with a /: {dest!r}")
    base = staging / target.lstrip("/")
    for source in sources:
        if is_url(source):
            if not add:
                raise ContextError(f"COPY cannot take a URL ({source}); use ADD")
            name = posixpath.basename(source.rstrip("/")) or "download"
            out = base / name if dest_is_dir else base
            out.parent.mkdir(parents=True, exist_ok=True)
            _fetch(source, out)
            continue
        for path in resolve_sources(context, [source]):
            if path.is_dir():
                shutil.copytree(path, base, symlinks=True, dirs_exist_ok=True)
            elif add and tarfile.is_tarfile(path):
                extract_layer(path, base, whiteouts="keep")  # ADD unpacks local archives
            else:
                out = base / path.name if dest_is_dir or len(sources) > 1 else base
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out, follow_symlinks=False)
    _apply_mode(base, chmod)


def _apply_mode(base: Path, chmod: str) -> None:
    if not chmod or (not base.exists() and not base.is_symlink()):
        return
    items = [base] + (sorted(base.rglob("*")) if base.is_dir() else [])
    try:
        mode = int(chmod, 8)
    except ValueError:
        raise ContextError(f"--chmod={chmod}: expected an octal mode like 755") from None
    for item in items:
        if not item.is_symlink():
            os.chmod(item, mode)


def parse_chown(chown: str) -> tuple[int, int] | None:
    """``--chown=UID[:GID]`` -> (uid, gid); names are not resolved in this builder."""
    if not chown:
        return None
    user, _, group = chown.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise ContextError(f"--chown={chown}: only numeric UID[:GID] is supported here")
    return int(user), int(group or user)

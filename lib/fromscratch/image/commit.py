"""A container's filesystem, and ``docker commit``: its writable layer becomes an image.

Docker stacks three kinds of layers for a container (overlay2 driver)::

    <id>        read-write layer   (upperdir: everything the container writes)
    <id>-init   init layer         (/etc/hosts, /etc/resolv.conf, /etc/hostname …)
    image layers                   (lowerdirs, read-only, shared by every container)

The *init* layer holds the files the engine writes for each container so that
they never end up in an image.  :func:`prepare_rootfs` lays out those
directories for an image; :func:`commit` turns the read-write layer alone
into one new layer on top of the image's layers — the init layer is excluded,
and so is any copy-up of an init file the container made.

Simplified: no pause of the running container (commit a stopped one), the
config changes of ``docker commit --change`` are given as a dict.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fromscratch.image.layers import changes_between, changes_from_upper, layer_from_changes
from fromscratch.image.layers import fingerprint as tree_fingerprint
from fromscratch.image.oci import Image, full_reference
from fromscratch.image.store import ImageStore

INIT_FILES = ("etc/hosts", "etc/resolv.conf", "etc/hostname")


@dataclass(frozen=True)
class ContainerRootfs:
    """The directories of one container's filesystem (lowers bottom first)."""

    image: Image
    lowers: tuple[Path, ...]  # image layers, then the init layer on top
    init: Path
    upper: Path
    work: Path
    merged: Path


def write_init_layer(init: Path, *, hostname: str) -> None:
    """The per-container files the runtime owns, as Docker's ``-init`` layer has them."""
    (init / "etc").mkdir(parents=True, exist_ok=True)
    (init / "etc" / "hostname").write_text(f"{hostname}\n")
    (init / "etc" / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"127.0.1.1\t{hostname}\n")
    (init / "etc" / "resolv.conf").write_text("# no network in this container\n")


def prepare_rootfs(store: ImageStore, reference: str, directory: Path, *, hostname: str,
                   userxattr: bool = False) -> ContainerRootfs:
    """Create init/upper/work/merged under ``directory`` for a container of ``reference``."""
    image = store.get(reference)
    init = directory / "init"
    write_init_layer(init, hostname=hostname)
    for name in ("upper", "work", "merged"):
        (directory / name).mkdir(parents=True, exist_ok=True)
    lowers = (*store.layer_dirs(image, userxattr=userxattr), init)
    return ContainerRootfs(image, lowers, init, directory / "upper", directory / "work",
                           directory / "merged")


def commit(store: ImageStore, rootfs: ContainerRootfs, reference: str, *,
           userxattr: bool = False, author: str = "", comment: str = "",
           config_changes: dict[str, Any] | None = None,
           before: dict[str, tuple[int, int, int, str]] | None = None) -> Image:
    """Make ``reference`` = the container's image + one layer from its read-write layer.

    ``before`` is for the simulated mode, where no overlay recorded the changes:
    the fingerprint of the merged tree when the container started (see
    ``fromscratch.image.layers.fingerprint``); the changes are then found by comparison.
    """
    if before is None:
        changes, root = changes_from_upper(rootfs.upper, userxattr=userxattr), rootfs.upper
    else:
        changes, root = changes_between(before, rootfs.merged), rootfs.merged
    # the init layer's files belong to the runtime, not to the image; so does a parent
    # directory that is only in the upper layer because one of them was copied up
    changes = [c for c in changes if c.path not in INIT_FILES]
    init_parents = {path.rpartition("/")[0] for path in INIT_FILES}
    changes = [c for c in changes if not (
        c.path in init_parents and c.kind == "modify" and not c.opaque
        and not any(other.path.startswith(c.path + "/") for other in changes))]
    blob = layer_from_changes(root, changes, store.scratch / f"commit-{time.monotonic_ns()}.tgz")
    layer = store.add_layer(blob)
    blob.path.unlink()
    doc = copy.deepcopy(rootfs.image.config)
    doc.setdefault("config", {}).update(config_changes or {})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    doc["created"] = now
    doc.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(blob.diff_id)
    entry = {"created": now, "created_by": "fromscratch commit", "comment": comment}
    if author:
        doc["author"] = entry["author"] = author
    doc.setdefault("history", []).append(entry)
    return store.layout.write_image(reference=full_reference(reference), config=doc,
                                    layers=[*rootfs.image.layers, layer])


def fingerprint(rootfs: ContainerRootfs) -> dict[str, tuple[int, int, int, str]]:
    """Fingerprint of the merged tree (simulated mode: call before the container runs)."""
    return tree_fingerprint(rootfs.merged)

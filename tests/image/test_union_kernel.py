"""The pure union view agrees with the real overlayfs mount: the kernel is the oracle.

Hypothesis generates stacks of layers (files, directories, opaque directories,
symlinks, whiteouts); each stack is written as overlay layer directories,
mounted by the kernel in a private mount namespace, and listed.  The listing
must equal ``merge_layers``.  The same stacks go through OCI tars too.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fromscratch.image import union as u
from fromscratch.image.extract import extract_layer
from fromscratch.image.layers import tar_bytes
from fromscratch.linux.overlay import in_private_overlay, in_rootless_overlay
from tests.image.conftest import needs_overlay, needs_rootless_overlay

NAMES = ["a", "b", "c"]
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def layers(draw, prefix: str = "", depth: int = 0) -> dict[str, u.Node]:
    """One layer: for each name, absent / file / dir / opaque dir / symlink / whiteout."""
    layer: dict[str, u.Node] = {}
    for name in NAMES:
        path = f"{prefix}{name}"
        kinds = ["absent", "file", "whiteout", "symlink"] + (["dir", "opaque"] if depth < 2 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "file":
            layer[path] = u.file(draw(st.sampled_from(["1", "2", "3"])))
        elif kind == "whiteout":
            layer[path] = u.WHITEOUT
        elif kind == "symlink":
            layer[path] = u.symlink(draw(st.sampled_from(["a", "./b", "/c"])))
        elif kind in ("dir", "opaque"):
            layer[path] = u.OPAQUE_DIR if kind == "opaque" else u.DIR
            layer.update(draw(layers(prefix=f"{path}/", depth=depth + 1)))
    return layer


stacks = st.lists(layers(), min_size=1, max_size=4)


def kernel_view(stack: list[dict[str, u.Node]], *, rootless: bool = False) -> u.Tree:
    base = Path(tempfile.mkdtemp(prefix="fromscratch-union-"))
    try:
        dirs = []
        for index, layer in enumerate(stack):
            u.write_layer_dir(layer, base / f"l{index}", userxattr=rootless)
            dirs.append(base / f"l{index}")
        (base / "merged").mkdir()
        mount = in_rootless_overlay if rootless else in_private_overlay
        return mount(lowers=dirs, target=base / "merged", action=u.snapshot)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_overlay
@PROPERTY
@given(stacks)
def test_pure_union_matches_kernel_overlay(stack):
    assert kernel_view(stack) == u.merge_layers(stack)


@needs_rootless_overlay
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks)
def test_pure_union_matches_rootless_overlay_with_userxattr(stack):
    assert kernel_view(stack, rootless=True) == u.merge_layers(stack)


@needs_overlay
@PROPERTY
@given(stacks)
def test_oci_tars_unpacked_for_overlay_match_the_pure_union(stack):
    # OCI whiteouts translated to overlay whiteouts at unpack time mean the same thing
    base = Path(tempfile.mkdtemp(prefix="fromscratch-union-"))
    try:
        dirs = []
        for index, layer in enumerate(stack):
            tar = base / f"l{index}.tar"
            tar.write_bytes(tar_bytes(u.tar_entries(layer)))
            extract_layer(tar, base / f"l{index}", whiteouts="overlay")
            dirs.append(base / f"l{index}")
        (base / "merged").mkdir()
        seen = in_private_overlay(lowers=dirs, target=base / "merged", action=u.snapshot)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert seen == u.merge_layers([u.layer_from_tar_bytes(tar_bytes(u.tar_entries(layer)))
                                   for layer in stack])


@PROPERTY
@given(stacks)
def test_flattened_unpack_matches_the_pure_union(stack):
    # umoci-style unpack (apply each tar onto one rootfs) shows the same tree, no mount needed
    base = Path(tempfile.mkdtemp(prefix="fromscratch-union-"))
    try:
        for layer in stack:
            tar = base / "layer.tar"
            tar.write_bytes(tar_bytes(u.tar_entries(layer)))
            extract_layer(tar, base / "rootfs", whiteouts="apply")
        seen = u.snapshot(base / "rootfs")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert seen == u.merge_layers(stack)


@PROPERTY
@given(stacks)
def test_simulated_overlay_copy_matches_the_pure_union(stack):
    from fromscratch.sim import filesystem

    base = Path(tempfile.mkdtemp(prefix="fromscratch-union-"))
    try:
        dirs = []
        for index, layer in enumerate(stack):
            u.write_layer_dir(layer, base / f"l{index}", userxattr=True)
            dirs.append(base / f"l{index}")
        filesystem.mount_overlay(lowers=dirs, target=base / "merged", userxattr=True)
        seen = u.snapshot(base / "merged")
        filesystem.unmount(base / "merged")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert seen == u.merge_layers(stack)

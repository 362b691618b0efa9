"""Commit: the read-write layer becomes an image layer; the init layer never does."""

from __future__ import annotations

import tarfile

from fromscratch.image import union as u
from fromscratch.image.base import ensure_base_image
from fromscratch.image.commit import commit, fingerprint, prepare_rootfs
from fromscratch.linux.overlay import in_private_overlay
from fromscratch.sim import filesystem
from tests.image.conftest import needs_overlay


def committed_layer(store, image) -> dict:
    with tarfile.open(store.layout.blob_path(image.layers[-1]["digest"])) as archive:
        return u.layer_from_tar(archive)


def change_things(root):
    (root / "etc" / "hosts").write_text("127.0.0.1 tampered\n")  # an init file: not committed
    (root / "etc" / "passwd").unlink()
    (root / "root" / "notes").write_text("kept")
    return sorted(p.name for p in (root / "etc").iterdir())


@needs_overlay
def test_commit_keeps_the_read_write_layer_and_skips_the_init_layer(store, tmp_path):
    base = ensure_base_image(store)
    rootfs = prepare_rootfs(store, "busybox", tmp_path / "c1", hostname="web-1")
    seen = in_private_overlay(lowers=rootfs.lowers, upper=rootfs.upper, work=rootfs.work,
                              target=rootfs.merged, action=change_things)
    assert "hostname" in seen and "hosts" in seen  # the container saw its init files
    image = commit(store, rootfs, "snap:1", comment="notes")
    assert image.layers[:-1] == base.layers
    layer = committed_layer(store, image)
    assert layer["root/notes"] == u.file("kept")
    assert layer["etc/passwd"] == u.WHITEOUT
    assert not {"etc/hosts", "etc/hostname", "etc/resolv.conf"} & set(layer)
    assert image.config["history"][-1]["comment"] == "notes"


def test_simulated_commit_finds_the_same_changes(store, tmp_path):
    ensure_base_image(store)
    rootfs = prepare_rootfs(store, "busybox", tmp_path / "c1", hostname="web-1",
                            userxattr=True)
    filesystem.mount_overlay(lowers=rootfs.lowers, target=rootfs.merged, userxattr=True)
    before = fingerprint(rootfs)
    change_things(rootfs.merged)
    image = commit(store, rootfs, "snap:2", before=before)
    filesystem.unmount(rootfs.merged)
    layer = committed_layer(store, image)
    assert layer["root/notes"] == u.file("kept") and layer["etc/passwd"] == u.WHITEOUT
    assert "etc/hosts" not in layer


def test_simulated_unmount_writes_overlay_format_changes_to_upper(tmp_path):
    lower = {"a": u.DIR, "a/x": u.file("x"), "b": u.file("b")}
    u.write_layer_dir(lower, tmp_path / "lower", userxattr=True)
    (tmp_path / "upper").mkdir()
    filesystem.mount_overlay(lowers=[tmp_path / "lower"], upper=tmp_path / "upper",
                             target=tmp_path / "merged", userxattr=True)
    (tmp_path / "merged" / "b").unlink()
    (tmp_path / "merged" / "a" / "y").write_text("y")
    filesystem.unmount(tmp_path / "merged")
    upper = u.layer_from_dir(tmp_path / "upper", userxattr=True)
    assert upper["b"] == u.WHITEOUT and upper["a/y"] == u.file("y")
    assert u.merge_layers([lower, upper]) == {"a": u.DIR, "a/x": u.file("x"), "a/y": u.file("y")}


@needs_overlay
def test_commit_leaves_out_etc_when_only_init_files_changed_there(store, tmp_path):
    ensure_base_image(store)
    rootfs = prepare_rootfs(store, "busybox", tmp_path / "c2", hostname="web-2")

    def write(root):
        (root / "etc" / "resolv.conf").write_text("nameserver 10.0.0.1\n")
        (root / "root" / "kept").write_text("k")

    in_private_overlay(lowers=rootfs.lowers, upper=rootfs.upper, work=rootfs.work,
                       target=rootfs.merged, action=write)
    layer = committed_layer(store, commit(store, rootfs, "snap:3"))
    assert set(layer) == {"root", "root/kept"}

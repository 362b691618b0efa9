"""Layer tars: DiffID and ChainID by the OCI image-spec, and changes captured from overlay."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest

from fromscratch.image import union as u
from fromscratch.image.layers import (
    Change,
    chain_id,
    chain_ids,
    changes_between,
    changes_from_upper,
    diff_id,
    fingerprint,
    gzip_layer,
    tar_bytes,
    write_changes_tar,
)
from fromscratch.linux.overlay import in_private_overlay
from tests.image.conftest import needs_overlay

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
D3 = "sha256:" + "c" * 64


def test_diff_id_is_sha256_of_the_uncompressed_tar(tmp_path):
    data = tar_bytes([(tarfile.TarInfo("f"), b"")])
    (tmp_path / "l.tar").write_bytes(data)
    (tmp_path / "l.tar.gz").write_bytes(gzip.compress(data))
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert diff_id(tmp_path / "l.tar") == expected
    assert diff_id(tmp_path / "l.tar.gz") == expected  # compression does not change the DiffID


def test_chain_id_follows_the_image_spec_formula():
    # config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = SHA256(ChainID(Ln-1) + " " + DiffID(Ln))
    c2 = "sha256:" + hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()
    c3 = "sha256:" + hashlib.sha256(f"{c2} {D3}".encode()).hexdigest()
    assert chain_ids([D1, D2, D3]) == [D1, c2, c3]
    assert chain_id([D1]) == D1
    assert chain_id([]) == ""


def test_chain_id_depends_on_layer_order():
    assert chain_id([D1, D2]) != chain_id([D2, D1])


def test_chain_id_rejects_a_malformed_diff_id():
    with pytest.raises(ValueError, match="sha256"):
        chain_ids([D1, "abc"])


def test_gzip_layer_is_reproducible(tmp_path):
    (tmp_path / "l.tar").write_bytes(tar_bytes([(tarfile.TarInfo("f"), b"")]))
    first = gzip_layer(tmp_path / "l.tar", tmp_path / "a.gz")
    second = gzip_layer(tmp_path / "l.tar", tmp_path / "b.gz")
    assert first.digest == second.digest and first.diff_id == diff_id(tmp_path / "l.tar")


@needs_overlay
def test_upper_directory_becomes_an_oci_layer_with_whiteouts(tmp_path):
    # a container deletes, replaces and adds files; the layer says exactly that
    lower = {"etc": u.DIR, "etc/motd": u.file("hi"), "etc/hosts": u.file("h"),
             "var": u.DIR, "var/cache": u.DIR, "var/cache/x": u.file("x")}
    u.write_layer_dir(lower, tmp_path / "lower")
    for name in ("upper", "work", "merged"):
        (tmp_path / name).mkdir()

    def container(root):
        (root / "etc" / "motd").unlink()
        (root / "etc" / "hosts").write_text("changed")
        for child in (root / "var" / "cache").iterdir():
            child.unlink()
        (root / "var" / "cache").rmdir()
        (root / "var" / "cache").mkdir()
        (root / "var" / "cache" / "fresh").write_text("f")

    in_private_overlay(lowers=[tmp_path / "lower"], upper=tmp_path / "upper",
                       work=tmp_path / "work", target=tmp_path / "merged", action=container)
    buffer = io.BytesIO()
    write_changes_tar(tmp_path / "upper", changes_from_upper(tmp_path / "upper"), buffer)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as archive:
        names = set(archive.getnames())
    assert {"etc/.wh.motd", "etc/hosts", "var/cache/.wh..wh..opq", "var/cache/fresh"} <= names
    layer = u.layer_from_tar_bytes(buffer.getvalue())
    assert u.merge_layers([lower, layer]) == {
        "etc": u.DIR, "etc/hosts": u.file("changed"), "var": u.DIR, "var/cache": u.DIR,
        "var/cache/fresh": u.file("f")}


def test_vfs_differ_finds_added_modified_and_deleted_paths(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "keep").write_text("1")
    (root / "d" / "edit").write_text("1")
    (root / "gone").mkdir()
    (root / "gone" / "child").write_text("1")
    before = fingerprint(root)
    (root / "d" / "edit").write_text("22")
    (root / "d" / "new").write_text("n")
    (root / "gone" / "child").unlink()
    (root / "gone").rmdir()
    changes = changes_between(before, root)
    assert Change("d/new", "add") in changes
    assert Change("d/edit", "modify") in changes
    assert Change("gone", "delete") in changes
    assert Change("gone/child", "delete") not in changes  # one whiteout for the whole dir
    assert not any(c.path == "d/keep" for c in changes)

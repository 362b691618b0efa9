"""The pure union view follows overlayfs's lookup rules (Documentation/filesystems/overlayfs.rst)."""

from __future__ import annotations

import tarfile

import pytest

from fromscratch.image import union as u
from fromscratch.image.layers import tar_bytes
from fromscratch.image.union import DIR, OPAQUE_DIR, WHITEOUT, file, merge_layers, symlink

BASE = {"etc": DIR, "etc/hosts": file("base hosts"), "etc/motd": file("hi"),
        "bin": DIR, "bin/sh": file("sh")}


def tar_layer(*entries: tuple[str, str, bytes]) -> bytes:
    """(name, type, data) triples -> an in-memory OCI layer tar, in the given order."""
    infos = []
    for name, kind, data in entries:
        info = tarfile.TarInfo(name)
        info.type = {"dir": tarfile.DIRTYPE, "file": tarfile.REGTYPE}[kind]
        infos.append((info, data))
    return tar_bytes(infos)


def test_upper_file_replaces_lower_file():
    # the top-most layer holding a name decides
    merged = merge_layers([BASE, {"etc": DIR, "etc/motd": file("new")}])
    assert merged["etc/motd"] == file("new")
    assert merged["etc/hosts"] == file("base hosts")


def test_whiteout_hides_lower_file():
    merged = merge_layers([BASE, {"etc": DIR, "etc/motd": WHITEOUT}])
    assert "etc/motd" not in merged
    assert "etc/hosts" in merged


def test_whiteout_of_directory_hides_its_whole_subtree():
    merged = merge_layers([BASE, {"etc": WHITEOUT}])
    assert not any(path.startswith("etc") for path in merged)


def test_opaque_directory_hides_lower_children_but_keeps_its_own():
    merged = merge_layers([BASE, {"etc": OPAQUE_DIR, "etc/new": file("n")}])
    assert {p for p in merged if p.startswith("etc/")} == {"etc/new"}


def test_file_replaces_directory_and_its_children():
    merged = merge_layers([BASE, {"etc": file("now a file")}])
    assert merged["etc"] == file("now a file")
    assert "etc/hosts" not in merged


def test_directory_replaces_file_without_merging():
    merged = merge_layers([{"data": file("x")}, {"data": DIR, "data/a": file("a")}])
    assert merged == {"data": DIR, "data/a": file("a")}


def test_lower_non_directory_stops_the_merge_below_it():
    # dir (top) over file (middle) over dir (bottom): the bottom dir's children stay hidden
    bottom = {"d": DIR, "d/old": file("old")}
    middle = {"d": file("f")}
    top = {"d": DIR, "d/new": file("new")}
    assert merge_layers([bottom, middle, top]) == {"d": DIR, "d/new": file("new")}


def test_whiteout_in_middle_layer_stops_the_merge():
    bottom = {"d": DIR, "d/old": file("old")}
    assert merge_layers([bottom, {"d": WHITEOUT}, {"d": DIR, "d/new": file("n")}]) == {
        "d": DIR, "d/new": file("n")}


def test_opaque_directory_in_lower_layer_is_honoured():
    bottom = {"d": DIR, "d/a": file("a")}
    middle = {"d": OPAQUE_DIR, "d/b": file("b")}
    top = {"d": DIR, "d/c": file("c")}
    assert set(merge_layers([bottom, middle, top])) == {"d", "d/b", "d/c"}


def test_whiteout_with_nothing_below_shows_nothing():
    assert merge_layers([{"ghost": WHITEOUT}]) == {}


def test_symlinks_are_entries_not_followed():
    merged = merge_layers([{"bin": DIR, "bin/sh": symlink("busybox")}])
    assert merged["bin/sh"] == symlink("busybox")


def test_merge_result_has_no_opaque_flags():
    merged = merge_layers([BASE, {"etc": OPAQUE_DIR}])
    assert merged["etc"] == DIR


# --- OCI tar layers ---------------------------------------------------------------------

def test_oci_whiteout_file_becomes_whiteout():
    layer = u.layer_from_tar_bytes(tar_layer(("etc/.wh.motd", "file", b"")))
    assert layer["etc/motd"] == WHITEOUT
    assert layer["etc"] == DIR  # implicit parent


@pytest.mark.parametrize("position", ["first", "last"])
def test_opaque_marker_applies_whatever_its_position_in_the_tar(position):
    entries = [("etc/", "dir", b""), ("etc/new", "file", b"n")]
    marker = ("etc/.wh..wh..opq", "file", b"")
    entries = [marker, *entries] if position == "first" else [*entries, marker]
    merged = merge_layers([BASE, u.layer_from_tar_bytes(tar_layer(*entries))])
    assert {p for p in merged if p.startswith("etc/")} == {"etc/new"}


def test_whiteout_never_hides_an_entry_of_its_own_layer():
    layer = u.layer_from_tar_bytes(tar_layer(("etc/motd", "file", b"mine"),
                                             ("etc/.wh.motd", "file", b"")))
    assert merge_layers([BASE, layer])["etc/motd"] == file("mine")


def test_whiteout_and_directory_in_one_layer_replace_the_lower_directory():
    layer = u.layer_from_tar_bytes(tar_layer((".wh.etc", "file", b""), ("etc/", "dir", b""),
                                             ("etc/only", "file", b"o")))
    merged = merge_layers([BASE, layer])
    assert {p for p in merged if p.startswith("etc/")} == {"etc/only"}


def test_tar_entries_round_trip_through_layer_from_tar():
    layer = {"a": OPAQUE_DIR, "a/f": file("x"), "b": WHITEOUT, "c": symlink("/a/f")}
    assert u.layer_from_tar_bytes(tar_bytes(u.tar_entries(layer))) == layer


def test_later_tar_entry_replaces_earlier_one():
    layer = u.layer_from_tar_bytes(tar_layer(("f", "file", b"one"), ("f", "file", b"two")))
    assert layer["f"] == file("two")

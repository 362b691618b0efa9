"""Safe extraction: a malicious layer is refused, and nothing lands outside the target."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from fromscratch.image.extract import UnsafeLayer, check_member, extract_layer, resolve_in_root
from fromscratch.image.layers import tar_bytes
from tests.image.conftest import IS_ROOT


def member(name: str, kind: bytes = tarfile.REGTYPE, *, link: str = "", data: bytes = b"",
           major: int = 0, minor: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    info.devmajor, info.devminor = major, minor
    return info, data


# name -> the members of a malicious tar; the last one is the attack
ATTACKS = {
    "dotdot": [member("../escaped", data=b"x")],
    "dotdot-deep": [member("a/../../escaped", data=b"x")],
    "absolute": [member("/tmp/escaped-absolute", data=b"x")],
    "symlink-relative-escape": [member("evil", tarfile.SYMTYPE, link="../../../../../tmp")],
    "symlink-nested-escape": [member("a/b/evil", tarfile.SYMTYPE, link="../../../outside")],
    "hardlink-absolute": [member("h", tarfile.LNKTYPE, link="/etc/passwd")],
    "hardlink-dotdot": [member("h", tarfile.LNKTYPE, link="../outside/secret")],
    "char-device": [member("dev/sda", tarfile.CHRTYPE, major=8, minor=0)],
    "block-device": [member("dev/sda", tarfile.BLKTYPE, major=8, minor=0)],
}


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """A target directory inside a sandbox; the sandbox's other files must stay untouched."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("do not touch")
    (tmp_path / "sandbox" / "target").mkdir(parents=True)
    return tmp_path, tmp_path / "sandbox" / "target"


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_malicious_member_is_rejected_and_nothing_is_written(box, attack):
    sandbox, target = box
    before = listing(sandbox)
    tar = sandbox / "layer.tar"
    tar.write_bytes(tar_bytes([member("innocent.txt", data=b"ok"), *ATTACKS[attack]]))
    before.add("layer.tar")
    with pytest.raises(UnsafeLayer) as raised:
        extract_layer(tar, target)
    assert ATTACKS[attack][-1][0].name in str(raised.value)  # the error names the member
    assert listing(sandbox) == before  # not even the innocent member was written
    assert (sandbox / "outside" / "secret").read_text() == "do not touch"


def test_absolute_symlink_is_kept_but_writes_through_it_stay_inside(box):
    # an absolute target means "from the container's root", so it leads inside the target
    sandbox, target = box
    outside = sandbox / "outside"
    tar = tar_bytes([member("evil", tarfile.SYMTYPE, link=str(outside)),
                     member("evil/secret", data=b"overwritten?")])
    extract_layer(io.BytesIO(tar), target)
    assert (outside / "secret").read_text() == "do not touch"
    inside = target / str(outside).lstrip("/") / "secret"
    assert inside.read_bytes() == b"overwritten?"
    assert os.readlink(target / "evil") == str(outside)


def test_hardlink_inside_the_layer_is_allowed(box):
    _, target = box
    extract_layer(io.BytesIO(tar_bytes([member("a", data=b"shared"),
                                        member("b", tarfile.LNKTYPE, link="a")])), target)
    assert (target / "a").stat().st_ino == (target / "b").stat().st_ino


def test_hardlink_through_symlink_stays_inside(box):
    sandbox, target = box
    tar = tar_bytes([member("etc", tarfile.SYMTYPE, link=str(sandbox / "outside")),
                     member("etc/secret", data=b"inside copy"),
                     member("h", tarfile.LNKTYPE, link="etc/secret")])
    extract_layer(io.BytesIO(tar), target)
    assert (target / "h").read_bytes() == b"inside copy"
    assert (sandbox / "outside" / "secret").stat().st_nlink == 1


@pytest.mark.skipif(not IS_ROOT, reason="creating device nodes needs root")
def test_device_nodes_are_created_when_allowed(box):
    _, target = box
    extract_layer(io.BytesIO(tar_bytes([member("dev/null", tarfile.CHRTYPE, major=1, minor=3)])),
                  target, allow_devices=True)
    assert os.major((target / "dev" / "null").stat().st_rdev) == 1


def test_fifo_is_allowed(box):
    _, target = box
    extract_layer(io.BytesIO(tar_bytes([member("pipe", tarfile.FIFOTYPE)])), target)
    assert (target / "pipe").is_fifo()


def test_symlink_climbing_but_staying_inside_is_allowed():
    check_member(member("a/b/link", tarfile.SYMTYPE, link="../../c")[0])


def test_gzip_layers_are_detected(box):
    _, target = box
    extract_layer(io.BytesIO(gzip.compress(tar_bytes([member("f", data=b"zipped")]))), target)
    assert (target / "f").read_bytes() == b"zipped"


def test_resolve_in_root_clamps_dotdot_at_the_root(tmp_path):
    assert resolve_in_root(tmp_path, "../../../etc/passwd") == tmp_path / "etc" / "passwd"


def test_symlink_loop_is_an_error_not_a_hang(tmp_path):
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(UnsafeLayer, match="too many levels"):
        resolve_in_root(tmp_path, "loop/x")


def test_apply_mode_whiteout_deletes_lower_file_and_never_follows_symlinks(box):
    sandbox, target = box
    (target / "link").symlink_to(sandbox / "outside")
    (target / "gone").write_text("lower")
    extract_layer(io.BytesIO(tar_bytes([member(".wh.gone"), member("link/.wh.secret")])),
                  target, whiteouts="apply")
    assert not (target / "gone").exists()
    assert (sandbox / "outside" / "secret").exists()


def test_overlay_mode_turns_whiteouts_into_character_devices(box):
    _, target = box
    extract_layer(io.BytesIO(tar_bytes([member("etc/.wh.motd")])), target, whiteouts="overlay",
                  userxattr=not IS_ROOT)
    st = (target / "etc" / "motd").lstat()
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0


def test_read_only_directory_still_receives_its_children(box):
    # the directory's mode is applied after its members, so 0555 does not block them
    _, target = box
    directory, _ = member("ro", tarfile.DIRTYPE)
    directory.mode = 0o555
    extract_layer(io.BytesIO(tar_bytes([(directory, b""), member("ro/f", data=b"x")])), target)
    assert (target / "ro" / "f").read_bytes() == b"x"
    assert (target / "ro").stat().st_mode & 0o777 == 0o555

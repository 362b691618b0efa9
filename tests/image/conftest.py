"""Fixtures for the image chapter: a private image store, and kernel capability checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from fromscratch.image.store import ImageStore

IS_ROOT = os.geteuid() == 0


def _overlay_works() -> bool:
    if not IS_ROOT:
        return False
    base = Path(tempfile.mkdtemp(prefix="fromscratch-ovl-probe-"))
    try:
        for name in ("lower", "merged"):
            (base / name).mkdir()
        from fromscratch.linux.overlay import in_private_overlay

        return bool(in_private_overlay(lowers=[base / "lower"], target=base / "merged",
                                       action=lambda p: True))
    except OSError:
        return False
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _rootless_overlay_works() -> bool:
    base = Path(tempfile.mkdtemp(prefix="fromscratch-ovl-probe-"))
    try:
        for name in ("lower", "merged"):
            (base / name).mkdir()
        from fromscratch.linux.overlay import in_rootless_overlay

        return bool(in_rootless_overlay(lowers=[base / "lower"], target=base / "merged",
                                        action=lambda p: True))
    except OSError:
        return False
    finally:
        shutil.rmtree(base, ignore_errors=True)


OVERLAY = _overlay_works()
ROOTLESS_OVERLAY = _rootless_overlay_works()
needs_overlay = pytest.mark.skipif(not OVERLAY, reason="needs root and overlayfs to mount")
needs_rootless_overlay = pytest.mark.skipif(
    not ROOTLESS_OVERLAY, reason="needs user namespaces and overlay 'userxattr' (Linux >= 5.11)")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian package '{name}')")
    return found


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} failed: {done.stderr}"
    return done.stdout


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ImageStore:
    """An empty image store in a temporary directory (never the user's real one)."""
    monkeypatch.setenv("FROMSCRATCH_HOME", str(tmp_path / "home"))
    return ImageStore(tmp_path / "home" / "images")

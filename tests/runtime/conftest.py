"""Fixtures for the runtime tests: a private image store, state directory and cgroup subtree.

Real containers' cgroups live under ``fromscratch-rt-test-<pid>`` in each hierarchy and the
subtree is removed at the end of the session, even after failures.  ``FROMSCRATCH_HOME``
points into a temporary directory so no test touches the user's containers or images.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fromscratch.image.base import ensure_base_image, find_busybox
from fromscratch.image.store import ImageStore
from fromscratch.runtime.state import StateDir

CGROUP_ROOT = f"fromscratch-rt-test-{os.getpid()}"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT or sys.platform != "linux",
                                reason="needs root on Linux: namespaces, mounts, cgroups")
needs_busybox = pytest.mark.skipif(find_busybox() is None,
                                   reason="needs a static busybox (Debian: busybox-static)")
needs_runc = pytest.mark.skipif(shutil.which("runc") is None, reason="needs runc (Debian: runc)")


def _remove_cgroup_root() -> None:
    """Remove our subtree bottom-up in every hierarchy (only directories we made)."""
    base = Path("/sys/fs/cgroup")
    if not base.is_dir():
        return
    for mount in [base, *[p for p in base.iterdir() if p.is_dir()]]:
        top = mount / CGROUP_ROOT
        if not top.is_dir():
            continue
        for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            directory.rmdir()
        top.rmdir()


@pytest.fixture(scope="session", autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("fromscratch-home")
    old = os.environ.get("FROMSCRATCH_HOME")
    os.environ["FROMSCRATCH_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("FROMSCRATCH_HOME", None)
    else:
        os.environ["FROMSCRATCH_HOME"] = old
    if IS_ROOT:
        _remove_cgroup_root()


@pytest.fixture(scope="session")
def store(_private_home: Path) -> ImageStore:
    images = ImageStore(_private_home / "images")
    ensure_base_image(images)
    return images


@pytest.fixture
def states(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "containers")


def host_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as info:
        return sorted(line.split()[4] for line in info)


def our_cgroup_dirs() -> list[str]:
    base = Path("/sys/fs/cgroup")
    return sorted(str(p) for p in base.glob(f"*/{CGROUP_ROOT}/**/") if p.is_dir()
                  and p.name != CGROUP_ROOT and p.name != "pods")

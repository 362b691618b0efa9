"""Fixtures for the cgroup tests: one group factory over every backend this host offers.

Real groups live under ``fromscratch-test-<pid>`` in each hierarchy, never elsewhere; the
whole subtree is removed at the end of the session even if tests failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from fromscratch.linux.cgroups import Cgroup, open_cgroup
from fromscratch.linux.cgroups_detect import detect
from fromscratch.sim.cgroups import SimKernel

TEST_ROOT = f"fromscratch-test-{os.getpid()}"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LAYOUT = detect()
HAS_V1 = IS_ROOT and all(LAYOUT.controller_version(c) == 1 for c in ("cpu", "cpuacct", "memory", "pids"))
HAS_V2 = IS_ROOT and LAYOUT.v2_mount is not None and os.access(LAYOUT.v2_mount, os.W_OK)
V2_CONTROLLERS = set(LAYOUT.v2_controllers) if HAS_V2 else set()
BACKENDS = ["sim-v1", "sim-v2", "real-v1", "real-v2"]

needs_v1 = pytest.mark.skipif(
    not HAS_V1, reason="needs root and cgroup v1 cpu/cpuacct/memory/pids hierarchies")
needs_v2 = pytest.mark.skipif(not HAS_V2, reason="needs root and a writable cgroup2 mount")


def skip_unless_backend(backend: str) -> None:
    if backend == "real-v1" and not HAS_V1:
        pytest.skip("no writable cgroup v1 hierarchies for cpu, cpuacct, memory and pids here")
    if backend == "real-v2" and not HAS_V2:
        pytest.skip("no writable cgroup2 mount here")


def skip_unless_controllers(group: Cgroup, *controllers: str) -> None:
    """Real v2 on a hybrid host has no cpu/memory/pids: the test cannot run there."""
    if group.mode == "real" and group.version == 2:
        missing = [c for c in controllers if c not in V2_CONTROLLERS]
        if missing:
            pytest.skip(f"cgroup v2 here has no {', '.join(missing)} controller "
                        f"(bound to v1 on this {LAYOUT.version} host)")


def open_group(backend: str, name: str, kernel: SimKernel | None = None) -> Cgroup:
    skip_unless_backend(backend)
    version = 1 if backend.endswith("v1") else 2
    if backend.startswith("sim"):
        return open_cgroup(name, kernel=kernel or SimKernel(version), root=TEST_ROOT)
    return open_cgroup(name, mode="real", version=version, root=TEST_ROOT)


def _remove_test_root() -> None:
    for version, present in ((1, HAS_V1), (2, HAS_V2)):
        if present:
            group = open_cgroup(TEST_ROOT, mode="real", version=version, root="")
            group.remove()


@pytest.fixture(scope="session", autouse=True)
def _clean_test_root() -> Iterator[None]:
    yield
    _remove_test_root()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    skip_unless_backend(request.param)
    if request.param.startswith("real"):
        request.applymarker(pytest.mark.real_kernel)
    return request.param


@pytest.fixture
def make_group(backend: str) -> Iterator[Callable[..., Cgroup]]:
    """``make_group("name")``: a created group on the test's backend, removed afterwards."""
    made: list[Cgroup] = []
    kernel = SimKernel(1 if backend.endswith("v1") else 2) if backend.startswith("sim") else None

    def make(name: str = "g") -> Cgroup:
        group = open_group(backend, name, kernel).create()
        made.append(group)
        return group

    yield make
    for group in reversed(made):
        group.remove()

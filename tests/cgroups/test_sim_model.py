"""The simulated kernel's model, with exact numbers (virtual time makes them deterministic)."""

from __future__ import annotations

import pytest

from fromscratch.linux.cgroups import open_cgroup
from fromscratch.linux.cgroups_workloads import BurnCPU, HogMemory, Sleep
from fromscratch.sim.cgroups import SimKernel, memparse

MiB = 2**20


def test_spare_cpu_is_shared_by_weight():
    # 2 CPUs, 4 busy processes in two groups, shares 2048 vs 1024: 2/3 and 1/3 of the machine
    kernel = SimKernel(1, cpus=2)
    heavy = open_cgroup("heavy", kernel=kernel, root="t").create()
    light = open_cgroup("light", kernel=kernel, root="t").create()
    heavy.set_cpu_shares(2048)
    light.set_cpu_shares(1024)
    heavy.run(BurnCPU(processes=2, seconds=10))
    light.run(BurnCPU(processes=2, seconds=10))
    kernel.sleep(3.0)
    assert heavy.cpu_stat().usage_usec == pytest.approx(4_000_000, rel=1e-6)
    assert light.cpu_stat().usage_usec == pytest.approx(2_000_000, rel=1e-6)


def test_a_parent_quota_caps_its_children_together():
    kernel = SimKernel(2)
    parent = open_cgroup("pod", kernel=kernel, root="t").create()
    parent.set_cpu_limit(50_000)
    for name in ("a", "b"):
        parent.child(name).create().run(BurnCPU(seconds=10))
    kernel.sleep(1.0)
    assert parent.cpu_stat().usage_usec == pytest.approx(500_000, rel=1e-6)
    assert parent.cpu_stat().nr_throttled == 10


def test_oom_killer_picks_the_largest_process_in_the_group():
    kernel = SimKernel(2)
    group = open_cgroup("mem", kernel=kernel, root="t").create()
    group.set_memory_max(64 * MiB)
    small = group.run(HogMemory(max_bytes=8 * MiB, step_bytes=8 * MiB, hold_seconds=5))
    kernel.sleep(0.05)
    big = group.run(HogMemory(max_bytes=100 * MiB, step_bytes=4 * MiB, interval=0.01))
    assert big.wait(timeout=5) == -9
    assert small.poll() is None
    assert group.memory_events().oom_kill == 1


def test_memory_events_count_in_the_group_and_its_ancestors():
    kernel = SimKernel(2)
    pod = open_cgroup("pod", kernel=kernel, root="t").create()
    container = pod.child("c").create()
    container.set_memory_max(16 * MiB)
    container.run(HogMemory(max_bytes=64 * MiB)).wait(timeout=5)
    assert container.memory_events().oom_kill == 1
    assert pod.memory_events().oom_kill == 1  # memory.events is hierarchical


def test_time_only_passes_when_asked():
    kernel = SimKernel(2)
    group = open_cgroup("clock", kernel=kernel, root="t").create()
    task = group.run(Sleep(1.0))
    assert kernel.now() == 0.0 and task.poll() is None
    kernel.sleep(1.0)
    assert kernel.now() == pytest.approx(1.0) and task.poll() == 0


def test_memparse_suffixes_like_the_kernel():
    assert memparse("64M", "x") == 64 * MiB
    assert memparse("1g", "x") == 2**30
    assert memparse("4096", "x") == 4096
    for junk in ("", "-1", "1.5M", "M"):
        with pytest.raises(OSError):
            memparse(junk, "x")


def test_only_version_1_or_2():
    with pytest.raises(ValueError):
        SimKernel(3)

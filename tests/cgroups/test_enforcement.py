"""The limits bite: CFS throttling, the OOM killer at the memory limit, pids.max against forks.

The same checks run on the real kernel and on the simulated one. Real runs are short and
bounded (a 64 MiB cap, a fork loop of at most 60, burners that stop on their own).
"""

from __future__ import annotations

import pytest

from fromscratch.linux.cgroups_workloads import BurnCPU, ForkBomb, HogMemory
from fromscratch.usage import UsageMeter

from .conftest import skip_unless_controllers

MiB = 2**20


def test_cpu_quota_caps_usage_and_counts_throttling(make_group):
    # 2 busy processes, quota 25 ms per 100 ms period: at most 250 millicores
    group = make_group()
    skip_unless_controllers(group, "cpu")
    group.set_cpu_limit(25_000, 100_000)
    group.run(BurnCPU(processes=2, seconds=5))
    group.sleep(0.2)
    meter, before = UsageMeter(group), group.cpu_stat()
    group.sleep(1.0)
    millicores, _ = meter.read()
    after = group.cpu_stat()
    # the ceiling is the kernel's promise; on a busy host the group may get less than it
    assert millicores <= 265, millicores
    assert after.nr_throttled > before.nr_throttled
    if group.mode == "simulated":
        assert millicores == 250
        assert (after.nr_periods - before.nr_periods, after.nr_throttled - before.nr_throttled) == (10, 10)
        # both CPUs wait out the rest of each period: 2 x 87.5 ms, 10 times
        assert after.throttled_usec - before.throttled_usec == 1_750_000


def test_without_a_quota_nothing_is_throttled(make_group):
    group = make_group()
    skip_unless_controllers(group, "cpu")
    group.run(BurnCPU(processes=1, seconds=5))
    meter = UsageMeter(group)
    group.sleep(0.5)
    millicores, _ = meter.read()
    assert millicores >= (1000 if group.mode == "simulated" else 300)
    assert group.cpu_stat().nr_throttled == 0


def test_memory_hog_is_oom_killed_at_the_limit(make_group):
    group = make_group()
    skip_unless_controllers(group, "memory")
    group.set_memory_max(64 * MiB)
    task = group.run(HogMemory(max_bytes=256 * MiB, step_bytes=4 * MiB, interval=0.005))
    assert task.wait(timeout=30) == -9  # SIGKILL from the OOM killer
    events = group.memory_events()
    assert events.oom_kill >= 1
    assert events.max >= 1
    assert group.memory_current() <= 64 * MiB


def test_memory_hog_under_a_bigger_limit_survives(make_group):
    group = make_group()
    skip_unless_controllers(group, "memory")
    group.set_memory_max(128 * MiB)
    task = group.run(HogMemory(max_bytes=32 * MiB, hold_seconds=0.1))
    assert task.wait(timeout=30) == 0
    assert group.memory_events().oom_kill == 0


def test_pids_max_refuses_forks_beyond_the_limit(make_group):
    group = make_group()
    skip_unless_controllers(group, "pids")
    group.set_pids_max(10)
    task = group.run(ForkBomb(max_forks=60, hold_seconds=1.0))
    words = task.output().split()
    forked, refused = int(words[1]), int(words[3])
    assert forked == 9  # the bomb itself is the tenth task
    assert refused == 51
    assert group.pids_refused() == 51
    assert task.wait(timeout=10) == 0


@pytest.mark.parametrize("backend", ["sim-v1", "real-v1"], indirect=True)
def test_v1_failcnt_and_oom_control_record_the_kill(make_group, backend):
    group = make_group()
    group.set_memory_max(32 * MiB)
    group.run(HogMemory(max_bytes=128 * MiB)).wait(timeout=30)
    assert int(group.read("memory.failcnt")) >= 1
    assert "oom_kill 1" in group.read("memory.oom_control")

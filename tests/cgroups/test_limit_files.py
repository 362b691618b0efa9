"""Writing limits: the values the kernel (or the simulated one) reads back, and bad input."""

from __future__ import annotations

import pytest

from fromscratch.linux.cgroups import (
    CgroupLimits,
    ControllerUnavailable,
    InvalidLimit,
    UnknownController,
)
from fromscratch.linux.cgroups_v2 import cpu_shares_to_weight

from .conftest import skip_unless_controllers

MiB = 2**20


def test_limits_read_back_in_each_versions_file_names(make_group):
    # 500m CPU, 64 MiB, 20 tasks: the numbers runc would write for that container
    group = make_group()
    skip_unless_controllers(group, "cpu", "memory", "pids")
    group.apply(CgroupLimits(cpu_quota_us=50_000, cpu_shares=512, memory_max=64 * MiB, pids_max=20))
    files = group.limit_files()
    if group.version == 1:
        assert files == {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
                         "cpu.shares": "512", "memory.limit_in_bytes": str(64 * MiB), "pids.max": "20"}
    else:
        assert files == {"cpu.max": "50000 100000", "cpu.weight": str(cpu_shares_to_weight(512)),
                         "memory.max": str(64 * MiB), "pids.max": "20"}


def test_memory_limit_is_rounded_down_to_a_page(make_group):
    # the kernel stores limits in pages: 100000000 bytes reads back as 24414 pages' worth
    group = make_group()
    skip_unless_controllers(group, "memory")
    group.set_memory_max(100_000_000)
    name = "memory.limit_in_bytes" if group.version == 1 else "memory.max"
    assert group.read(name) == "99999744"


def test_removing_limits_reads_back_as_unlimited(make_group):
    group = make_group()
    skip_unless_controllers(group, "cpu", "memory", "pids")
    group.set_cpu_limit(20_000)
    group.set_memory_max(32 * MiB)
    group.set_pids_max(5)
    group.set_cpu_limit(None)
    group.set_memory_max(None)
    group.set_pids_max(None)
    if group.version == 1:
        assert group.read("cpu.cfs_quota_us") == "-1"
        assert int(group.read("memory.limit_in_bytes")) > 2**62
    else:
        assert group.read("cpu.max") == "max 100000"
        assert group.read("memory.max") == "max"
    assert group.read("pids.max") == "max"


@pytest.mark.parametrize("backend", ["sim-v1", "real-v1"], indirect=True)
def test_v1_kernel_clamps_cpu_shares_instead_of_refusing(make_group, backend):
    group = make_group()
    group.write("cpu.shares", 1)
    assert group.read("cpu.shares") == "2"
    group.write("cpu.shares", 10**6)
    assert group.read("cpu.shares") == "262144"


@pytest.mark.parametrize("limits", [
    dict(cpu_quota_us=999), dict(cpu_quota_us=-5), dict(cpu_period_us=999),
    dict(cpu_period_us=1_000_001), dict(cpu_shares=1), dict(memory_max=-1),
    dict(pids_max=-1), dict(pids_max=2.5), dict(memory_max="64Mi"),
])
def test_nonsense_limits_are_refused_before_reaching_the_kernel(limits):
    with pytest.raises(InvalidLimit) as error:
        CgroupLimits(**limits)
    assert next(iter(limits)) in str(error.value)


def test_kernel_rejections_become_invalid_limit_naming_the_file(make_group):
    group = make_group()
    skip_unless_controllers(group, "cpu", "pids")
    quota_file = "cpu.cfs_quota_us" if group.version == 1 else "cpu.max"
    for value in ("abc", "500"):  # not a number; under the 1 ms minimum
        with pytest.raises(InvalidLimit, match=quota_file):
            group.write(quota_file, value)
    with pytest.raises(InvalidLimit, match="pids.max"):
        group.write("pids.max", "-1")
    with pytest.raises(InvalidLimit):
        group.write("pids.current", "5")  # read-only


@pytest.mark.parametrize("backend", ["sim-v2", "real-v2"], indirect=True)
def test_v2_weight_out_of_range_is_an_error(make_group, backend):
    group = make_group()
    skip_unless_controllers(group, "cpu")
    with pytest.raises(InvalidLimit):
        group.write("cpu.weight", 0)
    with pytest.raises(InvalidLimit):
        group.write("cpu.weight", 10_001)


def test_unknown_controller_is_named(make_group):
    group = make_group()
    with pytest.raises(UnknownController, match="gpu"):
        group.write("gpu.max", 1)
    with pytest.raises(UnknownController):
        group.read("bogus.stat")


def test_file_of_the_other_version_is_explained(make_group, backend):
    group = make_group()
    other = "cpu.max" if group.version == 1 else "cpuacct.usage"
    with pytest.raises(ControllerUnavailable, match=other):
        group.read(other)


def test_path_tricks_are_refused(make_group):
    group = make_group()
    for name in ("../cpu.max", "cpu.max/x", "", "CPU.MAX"):
        with pytest.raises(Exception, match="invalid cgroup file name"):
            group.read(name)


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (512, 20), (102, 4),
                                                 (262_144, 10_000)])
def test_shares_to_weight_matches_runc(shares, weight):
    # runc's ConvertCPUSharesToCgroupV2Value: 1 + ((shares - 2) * 9999) / 262142
    assert cpu_shares_to_weight(shares) == weight


def test_shares_outside_the_kernel_range_cannot_be_converted():
    for shares in (0, 1, 262_145):
        with pytest.raises(InvalidLimit):
            cpu_shares_to_weight(shares)

"""Usage sampling: millicores from two samples, cgroup and process sources."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fromscratch.linux.cgroups import open_cgroup
from fromscratch.linux.cgroups_workloads import BurnCPU
from fromscratch.sim.cgroups import SimKernel
from fromscratch.usage import UsageMeter, UsageSample, cpu_utilization, sample_process


def test_half_a_cpu_is_500_millicores():
    assert cpu_utilization(UsageSample(10.0, 1_000_000), UsageSample(13.0, 2_500_000)) == 500


def test_utilization_rounds_to_the_nearest_millicore():
    assert cpu_utilization(UsageSample(0.0, 0), UsageSample(1.0, 1_499)) == 1
    assert cpu_utilization(UsageSample(0.0, 0), UsageSample(1.0, 1_501)) == 2
    assert cpu_utilization(UsageSample(0.0, 0), UsageSample(0.5, 2_000_000)) == 4000


def test_samples_out_of_order_or_from_another_group_are_errors():
    with pytest.raises(ValueError, match="time order"):
        cpu_utilization(UsageSample(2.0, 0), UsageSample(2.0, 10))
    with pytest.raises(ValueError, match="backwards"):
        cpu_utilization(UsageSample(1.0, 500), UsageSample(2.0, 10))


def test_meter_on_a_simulated_group_reads_exactly_the_quota():
    kernel = SimKernel(2)
    with open_cgroup("meter", kernel=kernel, root="fromscratch-test") as group:
        group.set_cpu_limit(30_000)
        group.run(BurnCPU(processes=2, seconds=10))
        meter = UsageMeter(group)
        group.sleep(2.0)
        assert meter.read()[0] == 300


def test_process_accounting_sees_a_busy_process_when_there_is_no_cgroup():
    burner = subprocess.Popen([sys.executable, "-S", "-c", BurnCPU(seconds=3).script()])
    try:
        meter = UsageMeter(burner.pid)
        import time

        time.sleep(0.6)
        millicores, rss = meter.read()
        # one busy thread: never more than one CPU; well above idle even on a loaded host
        assert 150 <= millicores <= 1050
        assert rss > 1_000_000
    finally:
        burner.kill()
        burner.wait()


def test_process_that_does_not_exist():
    with pytest.raises(ProcessLookupError):
        sample_process(4_000_000)
    with pytest.raises(TypeError):
        UsageMeter("web")  # type: ignore[arg-type]

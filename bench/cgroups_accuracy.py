"""How exactly does a CFS quota hold a process to its CPU limit?  (accuracy, not speed)

A burner that wants 2 CPUs runs under limits of 250m, 500m and 1000m (the kubelet's
quota for each, period 100 ms) for 5 seconds each.  Usage is measured two ways in the
same run:

- the kernel's own counter for the group (``cpuacct.usage`` on v1, ``cpu.stat`` on v2) —
  the oracle;
- process accounting from ``/proc`` via psutil (user + system time of the burner and its
  children) — the peer, what a tool without cgroups would see.

Printed: measured millicores, the ratio measured / limit, and the ratio peer / kernel.
Run: ``.venv/bin/python bench/cgroups_accuracy.py [--seconds 5]``.  Needs root for the real
kernel; elsewhere it reports the simulated kernel (whose ratios are exact by construction).
"""

from __future__ import annotations

import argparse
import os
import time

from fromscratch.linux.cgroups import open_cgroup
from fromscratch.linux.cgroups_workloads import BurnCPU
from fromscratch.resources import milli_cpu_to_quota
from fromscratch.usage import UsageMeter

LIMITS = (250, 500, 1000)


def measure(millicores: int, seconds: float) -> tuple[int, int | None, int, int]:
    """(kernel millicores, psutil millicores, throttled periods, periods) for one limit."""
    with open_cgroup(f"bench-accuracy-{os.getpid()}") as group:
        group.set_cpu_limit(milli_cpu_to_quota(millicores), 100_000)
        burner = group.run(BurnCPU(processes=2, seconds=seconds + 2))
        group.sleep(0.3)  # let both processes start
        kernel, before = UsageMeter(group), group.cpu_stat()
        peer = UsageMeter(burner.pid) if group.mode == "real" else None
        group.sleep(seconds)
        measured, _ = kernel.read()
        seen = peer.read()[0] if peer is not None else None
        after = group.cpu_stat()
        return (measured, seen, after.nr_throttled - before.nr_throttled,
                after.nr_periods - before.nr_periods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    probe = open_cgroup("bench-probe")
    print(f"kernel: {probe.mode}, cgroup v{probe.version} ({probe.note}); "
          f"{os.cpu_count()} CPUs; {args.seconds:g} s per limit; "
          f"load average {os.getloadavg()[0]:.2f} (other work on the host takes CPU from the burner)")
    print(f"{'limit':>7} {'kernel':>8} {'ratio':>7} {'psutil':>8} {'psutil/kernel':>14} "
          f"{'throttled/periods':>18}")
    for millicores in LIMITS:
        started = time.monotonic()
        measured, seen, throttled, periods = measure(millicores, args.seconds)
        peer = f"{seen:>7}m {seen / measured:>14.3f}" if seen is not None and measured else \
            f"{'-':>8} {'-':>14}"
        print(f"{millicores:>6}m {measured:>7}m {measured / millicores:>7.3f} {peer} "
              f"{throttled:>9}/{periods:<8} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()

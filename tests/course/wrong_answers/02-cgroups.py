"""Plausible mistakes for chapter 2, and the graded tests each must fail."""

WRONG = {
    # forgets the kubelet's clamp: a 0m or 1m request gives 0 or 1 shares
    "ch02_milli_cpu_to_shares": '''
def milli_cpu_to_shares(millicores):
    if millicores < 0:
        raise ValueError("negative")
    return millicores * 1024 // 1000
''',
    # always speaks cgroup v2, even on a v1 group
    "ch02_write_limits": '''
def write_limits(cgroup, limits):
    if limits.cpu_quota_us is not None:
        cgroup.write("cpu.max", f"{limits.cpu_quota_us} {limits.cpu_period_us}")
    if limits.cpu_shares is not None:
        cgroup.write("cpu.weight", cpu_shares_to_weight(limits.cpu_shares))
    if limits.memory_max is not None:
        cgroup.write("memory.max", limits.memory_max)
    if limits.pids_max is not None:
        cgroup.write("pids.max", limits.pids_max)
''',
    # returns CPUs, not millicores
    "ch02_cpu_utilization": '''
def cpu_utilization(before, after):
    elapsed = after.timestamp - before.timestamp
    if elapsed <= 0:
        raise ValueError("samples must be in time order")
    return round((after.cpu_usage_usec - before.cpu_usage_usec) / 1_000_000 / elapsed)
''',
}

EXPECTED_FAILURES = {"ch02_test_milli_cpu_to_shares", "ch02_test_write_limits",
                     "ch02_test_cpu_utilization"}

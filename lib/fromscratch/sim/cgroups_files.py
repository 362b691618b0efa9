"""The files of a simulated cgroup: what each one reads as, and how a write is checked.

One function builds the read-side table (which files a group has depends on
the version, the v1 hierarchy and, on v2, the parent's ``subtree_control``);
one function applies a write with the kernel's validation rules, from
``kernel/sched/core.c`` (cpu), ``mm/memcontrol.c`` (memory),
``kernel/cgroup/pids.c`` and ``kernel/cgroup/cgroup.c`` (core files).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from fromscratch.sim.cgroups_model import PAGE, SimGroup

if TYPE_CHECKING:
    from fromscratch.sim.cgroups import SimKernel

Reader = Callable[[SimGroup], str]
MIN_QUOTA_US, MAX_PERIOD_US = 1000, 1_000_000
V2_CONTROLLERS = ("cpu", "memory", "pids")


def _fail(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


def _lines(pairs: dict[str, int]) -> str:
    return "".join(f"{key} {value}\n" for key, value in pairs.items())


def readers(kernel: SimKernel, group: SimGroup, hierarchy: str) -> dict[str, Reader]:
    """File name -> how to read it, for ``group`` (in v1 ``hierarchy``)."""
    from fromscratch.sim.cgroups import V1_UNLIMITED

    procs: Reader = lambda g: "".join(f"{p}\n" for p in sorted(g.procs))  # noqa: E731
    pids: dict[str, Reader] = {
        "pids.max": lambda g: "max\n" if g.pids_max is None else f"{g.pids_max}\n",
        "pids.current": lambda g: f"{kernel.pids_of(g)}\n",
        "pids.events": lambda g: f"max {g.pids_refused}\n",
    }
    if kernel.version == 1:
        files: dict[str, Reader] = {"cgroup.procs": procs, "tasks": procs,
                                    "notify_on_release": lambda g: "0\n"}
        if hierarchy == "cpu":
            files |= {
                "cpu.cfs_period_us": lambda g: f"{g.period_us}\n",
                "cpu.cfs_quota_us": lambda g: f"{-1 if g.quota_us is None else g.quota_us}\n",
                "cpu.shares": lambda g: f"{g.shares}\n",
                "cpu.stat": lambda g: _lines({
                    "nr_periods": g.nr_periods, "nr_throttled": g.nr_throttled,
                    "throttled_time": int(g.throttled_usec * 1000)}),
            }
        elif hierarchy == "cpuacct":
            files["cpuacct.usage"] = lambda g: f"{int(g.usage_usec * 1000)}\n"
        elif hierarchy == "memory":
            files |= {
                "memory.limit_in_bytes":
                    lambda g: f"{V1_UNLIMITED if g.memory_max is None else g.memory_max}\n",
                "memory.usage_in_bytes": lambda g: f"{kernel.memory_of(g)}\n",
                "memory.max_usage_in_bytes": lambda g: f"{g.memory_peak}\n",
                "memory.failcnt": lambda g: f"{g.events['max']}\n",
                "memory.oom_control": lambda g: _lines({
                    "oom_kill_disable": 0, "under_oom": 0, "oom_kill": g.events["oom_kill"]}),
                "memory.stat": lambda g: _lines({
                    "rss": kernel.memory_of(g), "cache": 0, "total_inactive_file": 0}),
            }
        elif hierarchy == "pids":
            files |= pids
        return files

    # v2: core files everywhere, controller files where the parent delegates them
    enabled = kernel._enabled(group)
    files = {
        "cgroup.procs": procs,
        "cgroup.controllers": lambda g: " ".join(
            c for c in V2_CONTROLLERS if g.parent is None or c in g.parent.subtree_control) + "\n",
        "cgroup.subtree_control": lambda g: " ".join(sorted(g.subtree_control)) + "\n",
        "cgroup.events": lambda g: _lines({"populated": int(kernel.pids_of(g) > 0), "frozen": 0}),
        "cpu.stat": lambda g: _lines({
            "usage_usec": int(g.usage_usec), "user_usec": int(g.usage_usec), "system_usec": 0,
            **({"nr_periods": g.nr_periods, "nr_throttled": g.nr_throttled,
                "throttled_usec": int(g.throttled_usec)} if "cpu" in enabled else {})}),
    }
    if group.parent is None:
        return files
    files["cgroup.kill"] = lambda g: ""
    if "cpu" in enabled:
        files["cpu.max"] = lambda g: f"{'max' if g.quota_us is None else g.quota_us} {g.period_us}\n"
        files["cpu.weight"] = lambda g: f"{g.weight}\n"
    if "memory" in enabled:
        files |= {
            "memory.max": lambda g: "max\n" if g.memory_max is None else f"{g.memory_max}\n",
            "memory.current": lambda g: f"{kernel.memory_of(g)}\n",
            "memory.peak": lambda g: f"{g.memory_peak}\n",
            "memory.events": lambda g: _lines({"low": 0, "high": 0, **g.events, "oom_group_kill": 0}),
            "memory.stat": lambda g: _lines({"anon": kernel.memory_of(g), "file": 0, "inactive_file": 0}),
        }
    if "pids" in enabled:
        files |= pids
    return files


def _memory_limit(text: str, path: str, *, unlimited: str) -> int | None:
    from fromscratch.sim.cgroups import memparse

    if text == unlimited:
        return None
    return memparse(text, path) // PAGE * PAGE  # page_counter_memparse rounds down to pages


def write_file(kernel: SimKernel, group: SimGroup, name: str, text: str, path: str) -> None:
    """Apply ``echo text > name`` to ``group``, or raise the kernel's error."""
    from fromscratch.sim.cgroups import PID_MAX_LIMIT, _integer

    is_root = group.parent is None
    if name in {"cgroup.procs", "tasks"}:
        kernel.move(group, _integer(text, path), path)
    elif name == "cgroup.subtree_control":
        _subtree_control(kernel, group, text, path)
    elif name == "cgroup.kill":
        if _integer(text, path) != 1:
            raise _fail(errno.ERANGE, path)
        for node in group.subtree():
            for pid in list(node.procs):
                kernel.kill(pid)
    elif is_root and name not in {"cgroup.procs"}:
        raise _fail(errno.EINVAL, path)  # limits cannot be set on the root group
    elif name == "cpu.max":
        quota_text, _, period_text = text.partition(" ")
        period = _integer(period_text, path) if period_text else group.period_us
        quota = None if quota_text == "max" else _integer(quota_text, path)
        _set_bandwidth(group, quota, period, path)
    elif name == "cpu.cfs_quota_us":
        quota = _integer(text, path)
        _set_bandwidth(group, None if quota < 0 else quota, group.period_us, path)
    elif name == "cpu.cfs_period_us":
        _set_bandwidth(group, group.quota_us, _integer(text, path), path)
    elif name == "cpu.weight":
        weight = _integer(text, path)
        if not 1 <= weight <= 10_000:
            raise _fail(errno.ERANGE, path)
        group.weight = weight
    elif name == "cpu.shares":
        shares = _integer(text, path)
        if shares < 0:
            raise _fail(errno.EINVAL, path)
        group.shares = min(max(shares, 2), 262_144)  # the kernel clamps, it does not refuse
    elif name in {"memory.max", "memory.limit_in_bytes"}:
        limit = _memory_limit(text, path, unlimited="max" if name == "memory.max" else "-1")
        group.memory_max = limit
    elif name == "pids.max":
        value = None if text == "max" else _integer(text, path)
        if value is not None and not 0 <= value <= PID_MAX_LIMIT:
            raise _fail(errno.EINVAL, path)
        group.pids_max = value
    else:
        raise _fail(errno.EINVAL, path)  # a read-only file


def _set_bandwidth(group: SimGroup, quota: int | None, period: int, path: str) -> None:
    if not MIN_QUOTA_US <= period <= MAX_PERIOD_US:
        raise _fail(errno.EINVAL, path)
    if quota is not None and quota < MIN_QUOTA_US:
        raise _fail(errno.EINVAL, path)
    group.quota_us, group.period_us = quota, period
    # a new bandwidth setting starts a fresh period with a full runtime
    group.runtime_left_us, group.period_pos_us = float(quota or 0), 0.0


def _subtree_control(kernel: SimKernel, group: SimGroup, text: str, path: str) -> None:
    available = V2_CONTROLLERS if group.parent is None else tuple(group.parent.subtree_control)
    for token in text.split():
        sign, controller = token[:1], token[1:]
        if sign not in "+-" or not controller:
            raise _fail(errno.EINVAL, path)
        if controller not in available:
            raise _fail(errno.ENOENT if controller in _KNOWN else errno.EINVAL, path)
        if sign == "+":
            if group.parent is not None and group.procs:
                raise _fail(errno.EBUSY, path)  # no internal processes
            group.subtree_control.add(controller)
        else:
            if any(controller in child.subtree_control for child in group.children.values()):
                raise _fail(errno.EBUSY, path)
            group.subtree_control.discard(controller)


_KNOWN = {"cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc", "perf_event"}

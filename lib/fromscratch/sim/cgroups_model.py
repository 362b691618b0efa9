"""The simulated kernel's cgroup accounting: CFS bandwidth, memory charging, pids.

What it models, tick by tick (10 ms of virtual time):

- **CPU** — each runnable process wants one CPU.  A group with a quota may run
  ``quota`` µs per ``period`` (summed over CPUs, like CFS bandwidth control);
  once the runtime is spent the group is *throttled* until the period ends.
  Spare CPU is shared among groups by weight (``cpu.shares`` / ``cpu.weight``).
  Per period we count ``nr_periods`` (the group was runnable), ``nr_throttled``
  (it hit the quota) and ``throttled`` time per throttled CPU, as the kernel's
  ``cpu.stat`` does (Documentation/scheduler/sched-bwc.rst).
- **memory** — allocations are charged to the group and its ancestors; a charge
  that would pass ``memory.max`` counts a ``max`` event (v1 ``failcnt``), and,
  since anonymous memory cannot be reclaimed without swap, the OOM killer then
  SIGKILLs the largest process below the group (``oom`` and ``oom_kill`` events).
- **pids** — a fork fails with EAGAIN when any ancestor would pass ``pids.max``
  (``pids.events`` "max" counts it).

Simplified: weights are compared across all groups (not per level of the tree);
no per-CPU runqueues, burst, or slack; memory charges move with a migrating
process (the kernel leaves them behind); no page cache, so working set = usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fromscratch.linux.cgroups_workloads import BurnCPU, ForkBomb, HogMemory, Sleep, Workload

TICK = 0.01  # seconds of virtual time per step
PAGE = 4096
BASE_MEMORY = 2 * 1024 * 1024  # what an idle simulated process occupies


@dataclass(eq=False)
class SimGroup:
    """One node of the simulated cgroup tree, with its limits and counters."""

    name: str
    parent: SimGroup | None = None
    children: dict[str, SimGroup] = field(default_factory=dict)
    procs: set[int] = field(default_factory=set)
    subtree_control: set[str] = field(default_factory=set)
    # v1: the hierarchies whose directory exists for this group ("" on v2)
    present_in: set[str] = field(default_factory=set)
    # limits
    quota_us: int | None = None
    period_us: int = 100_000
    shares: int = 1024  # v1 cpu.shares
    weight: int = 100  # v2 cpu.weight
    memory_max: int | None = None
    pids_max: int | None = None
    # accounting (hierarchical: a group's figures include its descendants')
    usage_usec: float = 0.0
    nr_periods: int = 0
    nr_throttled: int = 0
    throttled_usec: float = 0.0
    memory_peak: int = 0
    events: dict[str, int] = field(default_factory=lambda: {"max": 0, "oom": 0, "oom_kill": 0})
    pids_refused: int = 0
    # CFS bandwidth state for the current period
    runtime_left_us: float = 0.0
    period_pos_us: float = 0.0
    runnable_this_period: bool = False
    throttled_this_period: bool = False

    def lineage(self) -> list[SimGroup]:
        """This group and its ancestors, nearest first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def subtree(self) -> list[SimGroup]:
        result = [self]
        for child in self.children.values():
            result += child.subtree()
        return result

    @property
    def path(self) -> str:
        names = [g.name for g in reversed(self.lineage()) if g.parent is not None]
        return "/".join(names)


@dataclass(eq=False)
class SimProcess:
    """A simulated process: which group it is in, what it wants, what happened to it."""

    pid: int
    group: SimGroup
    workload: Workload
    started: float
    memory: int = BASE_MEMORY
    returncode: int | None = None
    lines: list[str] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    next_allocation: float = 0.0
    forked: bool = False

    @property
    def alive(self) -> bool:
        return self.returncode is None

    @property
    def wants_cpu(self) -> bool:
        return self.alive and isinstance(self.workload, BurnCPU)

    def deadline(self) -> float:
        work = self.workload
        if isinstance(work, BurnCPU | Sleep):
            return self.started + work.seconds
        if isinstance(work, HogMemory):
            steps = -(-work.max_bytes // work.step_bytes)
            return self.started + steps * work.interval + work.hold_seconds
        return float("inf")  # a fork loop ends when its children have


def memory_of(group: SimGroup, processes: dict[int, SimProcess]) -> int:
    """Hierarchical usage: every live process at or below ``group``."""
    return sum(processes[pid].memory for g in group.subtree() for pid in g.procs)


def pids_of(group: SimGroup) -> int:
    return sum(len(g.procs) for g in group.subtree())


def share_cpu(demands: dict[SimGroup, float], caps: dict[SimGroup, float],
              weights: dict[SimGroup, int], capacity: float) -> dict[SimGroup, float]:
    """Water-filling: split ``capacity`` by weight, nobody above their cap or demand."""
    grant = {g: 0.0 for g in demands}
    active = {g for g in demands if min(demands[g], caps[g]) > 0}
    left = capacity
    while active and left > 1e-9:
        total_weight = sum(weights[g] for g in active)
        # give each active group its weighted slice; those who need less are satisfied
        satisfied = set()
        for g in sorted(active, key=lambda x: x.path):
            slice_ = left * weights[g] / total_weight
            need = min(demands[g], caps[g]) - grant[g]
            if need <= slice_:
                satisfied.add(g)
        if not satisfied:
            for g in active:
                grant[g] += left * weights[g] / total_weight
            break
        for g in satisfied:
            need = min(demands[g], caps[g]) - grant[g]
            grant[g] += need
            left -= need
        active -= satisfied
    return grant


def fork(parent: SimProcess, child_pid: int, now: float, hold: float,
         processes: dict[int, SimProcess]) -> SimProcess | None:
    """fork(2) in the simulated kernel: None (EAGAIN) if a pids.max on the way says no."""
    for group in parent.group.lineage():
        if group.pids_max is not None and pids_of(group) + 1 > group.pids_max:
            group.pids_refused += 1
            return None
    child = SimProcess(pid=child_pid, group=parent.group, workload=Sleep(hold), started=now)
    parent.group.procs.add(child_pid)
    processes[child_pid] = child
    parent.children.append(child_pid)
    return child


def end_process(process: SimProcess, returncode: int) -> None:
    process.returncode = returncode
    process.group.procs.discard(process.pid)


def charge_memory(process: SimProcess, amount: int, processes: dict[int, SimProcess]) -> None:
    """Charge ``amount`` bytes; over a ``memory.max`` on the way, the OOM killer acts."""
    for group in process.group.lineage():
        if group.memory_max is None or memory_of(group, processes) + amount <= group.memory_max:
            continue
        # reclaim cannot free anonymous memory without swap: out of memory in this group
        for counted in group.lineage():
            counted.events["max"] += 1
            counted.events["oom"] += 1
        victims = [processes[pid] for g in group.subtree() for pid in g.procs]
        victim = max(victims, key=lambda p: (p.memory, p.pid))
        end_process(victim, -9)
        for counted in group.lineage():
            counted.events["oom_kill"] += 1
        if victim is process:
            return
    process.memory += amount
    for group in process.group.lineage():
        group.memory_peak = max(group.memory_peak, memory_of(group, processes))


def run_cpu(groups: list[SimGroup], processes: dict[int, SimProcess], cpus: int,
            version: int, tick: float = TICK) -> None:
    """One tick of CFS: quota, throttling, weighted sharing, accounting."""
    tick_us = tick * 1_000_000
    runners: dict[SimGroup, int] = {}
    for process in processes.values():
        if process.wants_cpu:
            runners[process.group] = runners.get(process.group, 0) + 1
    demands = {g: min(n, cpus) * tick_us for g, n in runners.items()}
    caps = {}
    for group in demands:
        # the tightest remaining runtime among the group and its ancestors
        limits = [a.runtime_left_us for a in group.lineage() if a.quota_us is not None]
        caps[group] = max(0.0, min(limits)) if limits else float("inf")
    weights = {g: (g.weight if version == 2 else g.shares) for g in demands}
    grants = share_cpu(demands, caps, weights, cpus * tick_us)
    # a quota covers the whole subtree: groups under one limited ancestor share its runtime
    limited = sorted({a for g in grants for a in g.lineage() if a.quota_us is not None},
                     key=lambda a: -len(a.lineage()))
    for ancestor in limited:
        below = [g for g in grants if ancestor in g.lineage()]
        total = sum(grants[g] for g in below)
        allowed = max(0.0, ancestor.runtime_left_us)
        if total > allowed:
            for g in below:
                grants[g] *= allowed / total
    for group, granted in grants.items():
        unmet = demands[group] - granted
        for node in group.lineage():
            node.usage_usec += granted
            node.runnable_this_period = True
            if node.quota_us is not None:
                node.runtime_left_us -= granted
        if unmet > 1e-6 and caps[group] < demands[group]:
            # throttled: the group's runnable CPUs sat idle for the unmet part of the tick
            for node in group.lineage():
                if node.quota_us is not None and node.runtime_left_us <= 1e-6:
                    node.throttled_this_period = True
                    node.throttled_usec += unmet
    # period boundaries: refill runtime, count periods
    for group in groups:
        group.period_pos_us += tick_us
        if group.period_pos_us + 1e-6 >= group.period_us:
            group.period_pos_us = 0.0
            if group.quota_us is not None and group.runnable_this_period:
                group.nr_periods += 1
                group.nr_throttled += int(group.throttled_this_period)
            group.runnable_this_period = group.throttled_this_period = False
            group.runtime_left_us = float(group.quota_us or 0)


def run_workloads(processes: dict[int, SimProcess], now: float, new_pid) -> None:  # noqa: ANN001
    """Advance each process's program by one tick: allocate, fork, exit."""
    for process in list(processes.values()):
        if not process.alive:
            continue
        work = process.workload
        if isinstance(work, HogMemory):
            allocated = process.memory - BASE_MEMORY
            while allocated < work.max_bytes and now >= process.next_allocation and process.alive:
                charge_memory(process, work.step_bytes, processes)
                allocated += work.step_bytes
                process.next_allocation = max(process.next_allocation, process.started) + work.interval
        elif isinstance(work, ForkBomb) and not process.forked:
            process.forked = True
            refused = 0
            for _ in range(work.max_forks):
                if fork(process, new_pid(), now, work.hold_seconds, processes) is None:
                    refused += 1
            process.lines.append(f"forked {len(process.children)} refused {refused}")
        if isinstance(work, ForkBomb):
            if all(not processes[c].alive for c in process.children):
                end_process(process, 0)
        elif now >= process.deadline():
            end_process(process, 0)

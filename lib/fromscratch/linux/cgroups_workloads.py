"""Small, bounded workloads to put inside a cgroup: burn CPU, eat memory, fork.

The chapter's experiments need processes that *want* more than their limit so
the kernel has to step in: a CPU burner under a CFS quota, a memory hog under
``memory.max``, a fork loop under ``pids.max``.  Each workload is plain data;
the real kernel runs it as a short Python program (:meth:`Workload.argv`), the
simulated kernel (``fromscratch.sim.cgroups``) models the same behaviour.

Every workload is bounded even without a limit — a deadline, a maximum amount
of memory, a maximum number of forks — so a mistake never takes the host down.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol

MiB = 1024 * 1024


class Workload(Protocol):
    """Something a cgroup can run: it knows the program that does it for real."""

    def script(self) -> str: ...

    def argv(self) -> list[str]: ...


class _Script:
    def script(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def argv(self) -> list[str]:
        return [sys.executable, "-S", "-c", self.script()]


@dataclass(frozen=True)
class BurnCPU(_Script):
    """``processes`` busy loops (one per CPU wanted) that stop after ``seconds``."""

    processes: int = 1
    seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.processes <= 64:
            raise ValueError(f"BurnCPU processes must be between 1 and 64, got {self.processes}")
        if self.seconds <= 0:
            raise ValueError(f"BurnCPU seconds must be positive, got {self.seconds}")

    def script(self) -> str:
        # forked copies share the cgroup: a child starts where its parent is
        return (
            "import os, time\n"
            f"deadline = time.monotonic() + {self.seconds!r}\n"
            f"children = [pid for pid in (os.fork() for _ in range({self.processes - 1})) if pid]\n"
            "while time.monotonic() < deadline:\n"
            "    pass\n"
            "for pid in children:\n"
            "    os.waitpid(pid, 0)\n"
        )


@dataclass(frozen=True)
class HogMemory(_Script):
    """Allocate and touch ``step_bytes`` every ``interval`` seconds, up to ``max_bytes``."""

    max_bytes: int = 256 * MiB
    step_bytes: int = 4 * MiB
    interval: float = 0.01
    hold_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.step_bytes <= self.max_bytes <= 2048 * MiB:
            raise ValueError("HogMemory needs 0 < step_bytes <= max_bytes <= 2 GiB")

    def script(self) -> str:
        # b"\x01" * n writes every page, so the memory is really charged (no zero page)
        return (
            "import time\n"
            "chunks, total = [], 0\n"
            f"while total < {self.max_bytes}:\n"
            f"    chunks.append(b'\\x01' * {self.step_bytes})\n"
            f"    total += {self.step_bytes}\n"
            f"    time.sleep({self.interval!r})\n"
            f"time.sleep({self.hold_seconds!r})\n"
        )


@dataclass(frozen=True)
class ForkBomb(_Script):
    """Try to fork ``max_forks`` children that each sleep ``hold_seconds``.

    Prints ``forked N refused M`` when done trying: a refused fork is one the
    kernel failed with EAGAIN because ``pids.max`` was reached.  Linear, not
    exponential like ``:(){ :|:& };:``, so it stays bounded — the limit is the same.
    """

    max_forks: int = 100
    hold_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_forks <= 1000:
            raise ValueError(f"ForkBomb max_forks must be between 1 and 1000, got {self.max_forks}")

    def script(self) -> str:
        return (
            "import os, time\n"
            "children, refused = [], 0\n"
            f"for _ in range({self.max_forks}):\n"
            "    try:\n"
            "        pid = os.fork()\n"
            "    except BlockingIOError:\n"
            "        refused += 1\n"
            "        continue\n"
            "    if pid == 0:\n"
            f"        time.sleep({self.hold_seconds!r})\n"
            "        os._exit(0)\n"
            "    children.append(pid)\n"
            "print('forked', len(children), 'refused', refused, flush=True)\n"
            "for pid in children:\n"
            "    os.waitpid(pid, 0)\n"
        )


@dataclass(frozen=True)
class Sleep(_Script):
    """Do nothing for ``seconds``: a process to move around between groups."""

    seconds: float = 30.0

    def script(self) -> str:
        return f"import time\ntime.sleep({self.seconds!r})\n"

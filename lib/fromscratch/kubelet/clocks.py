"""Wall-clock timestamps for what the kubelet writes to the API, in real or virtual time.

The kubelet measures intervals on its runtime's clock
(:class:`~fromscratch.runtime.clock.RealClock` or a virtual
:class:`~fromscratch.runtime.clock.FakeClock`), but the API wants wall-clock
timestamps: a Lease's ``renewTime`` (``MicroTime``, microseconds), a Node
condition's ``lastHeartbeatTime`` and a Pod's ``startTime`` (``Time``, seconds).
In virtual time those are a fixed origin plus the virtual clock's reading, so
every kubelet of a simulated cluster writes coherent times however fast the
simulation runs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

# the wall time that virtual time 0 stands for: when this module was imported
WALL_ORIGIN = float(int(time.time()))


def wall_time(clock: Any) -> float:
    """Seconds since the epoch on ``clock``: real time, or origin + virtual time."""
    if hasattr(clock, "wall"):
        return float(clock.wall())
    if getattr(clock, "virtual", False):
        return getattr(clock, "wall_origin", WALL_ORIGIN) + clock.now()
    return time.time()


def rfc3339(seconds: float) -> str:
    """A ``metav1.Time``: ``2024-01-02T03:04:05Z`` (whole seconds)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(seconds: float) -> str:
    """A ``metav1.MicroTime``: ``2024-01-02T03:04:05.123456Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WallClock:
    """Adapter giving ``now()``/``wall()`` for a runtime clock (for the event recorder)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now()

    def wall(self) -> float:
        return wall_time(self.clock)

    def wait(self, condition: Any, timeout: float | None) -> None:
        condition.wait(timeout)

    def on_advance(self, callback: Any) -> None:
        """Nothing to register: the recorder does not wait on this clock."""

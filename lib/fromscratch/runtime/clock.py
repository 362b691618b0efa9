"""A clock the pod machinery reads and sleeps on, replaceable by virtual time.

The kubelet's back-off, probe periods and grace periods are all about time.
Everything in ``fromscratch.runtime`` that waits asks a :class:`Clock`, so tests
and the simulated runtime can use :class:`FakeClock` and jump ten minutes
ahead in a microsecond, with exact asserts (kopf's and ``sched``'s trick:
inject ``timefunc``/``delayfunc``).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds as a float from an arbitrary origin, and a way to let them pass."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The monotonic clock of the machine (never jumps backwards with NTP)."""

    virtual = False

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class FakeClock:
    """Virtual time: ``sleep`` and ``advance`` move it forward instantly."""

    virtual = True

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward; got {seconds}")
        self._now += seconds

    def __repr__(self) -> str:
        return f"<FakeClock t={self._now:g}s>"

"""Clocks: real time for a running cluster, virtual time for tests and simulations.

Models client-go's ``k8s.io/utils/clock`` (``Clock`` and ``FakeClock``): every
piece of the control plane that waits — workqueue back-off, informer resync,
Deployment progress deadlines, the scheduler's back-off queue — asks an
injected clock instead of calling :func:`time.monotonic` itself, so a test can
say "ten minutes pass" and check the exact result at once.

A :class:`FakeClock` never moves on its own: :meth:`FakeClock.advance` moves
it, and wakes whoever registered an interest with :meth:`on_advance`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    """Real time: ``now()`` in seconds (monotonic) and ``wall()`` (seconds since the epoch)."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (held by the caller) for at most ``timeout`` seconds."""
        condition.wait(timeout)

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Real time advances by itself; nobody needs to be told."""


class FakeClock(Clock):
    """Virtual time that only moves when :meth:`advance` is called."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def wall(self) -> float:
        return self.now()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        # subtle: in virtual time a timed wait must not sleep for real; advance() wakes us.
        condition.wait(None if timeout is None else min(timeout, 0.05))

    def on_advance(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def advance(self, seconds: float) -> None:
        """Move time forward and tell every listener (delayed queues release due items)."""
        if seconds < 0:
            raise ValueError(f"time only moves forward, not by {seconds}")
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for callback in listeners:
            callback()


REAL_CLOCK = Clock()

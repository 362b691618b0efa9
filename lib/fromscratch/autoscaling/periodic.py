"""A background thread that does one thing every ``interval`` seconds, until stopped.

Both "agents" of this chapter that are not controllers work this way: the
metrics pipeline scrapes every ``resolution`` seconds (metrics-server's
``--metric-resolution``) and the load generator sends a batch of requests every
tick.  Subclasses write :meth:`Periodic.tick`; an exception in one tick is
logged and the next tick tries again, as a scrape loop does.
"""

from __future__ import annotations

import logging
import threading
from typing import Self

log = logging.getLogger("fromscratch.autoscaling")


class Periodic:
    """Call :meth:`tick` every ``interval`` seconds on a daemon thread."""

    name = "periodic"

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"the interval must be positive, not {interval}")
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a failed tick is retried at the next one
                log.debug("%s: tick failed", self.name, exc_info=True)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Self:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (safe to call twice, or without a start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

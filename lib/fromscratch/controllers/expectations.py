"""Expectations: "I created 3 Pods; don't act again until the cache has seen them".

Models ``ControllerExpectations`` (``pkg/controller/controller_utils.go``).
A controller's cache lags behind its own writes: right after creating 3 Pods,
the informer may still show the old count, and a second reconcile would create
3 more.  So before writing, the controller *expects* N creations (or
deletions); the informer's handlers *observe* them as the events arrive; and
reconcile only manages replicas once the expectations are *satisfied* — or
have expired (5 minutes), in case an event was lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fromscratch.controllers.clock import REAL_CLOCK, Clock

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    adds: int
    deletes: int
    since: float


class Expectations:
    """Pending creations and deletions per controller key."""

    def __init__(self, clock: Clock = REAL_CLOCK, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock, self.timeout = clock, timeout
        self._items: dict[str, _Expected] = {}
        self._lock = threading.Lock()

    def expect(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        with self._lock:
            self._items[key] = _Expected(adds, deletes, self.clock.now())

    def creation_observed(self, key: str) -> None:
        self._lower(key, adds=1)

    def deletion_observed(self, key: str) -> None:
        self._lower(key, deletes=1)

    def _lower(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                item.adds -= adds
                item.deletes -= deletes

    def satisfied(self, key: str) -> bool:
        """Nothing pending (or the wait expired): the cache can be trusted for ``key``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return True
            if item.adds <= 0 and item.deletes <= 0:
                return True
            return self.clock.now() - item.since > self.timeout

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

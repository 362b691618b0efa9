"""The scheduling queue: which unscheduled Pod to try next, and when to retry a failure.

Models kube-scheduler's ``PriorityQueue`` (``pkg/scheduler/backend/queue``):

- **activeQ**: Pods ready to be tried, highest ``spec.priority`` first, then the
  oldest (the ``PrioritySort`` plugin);
- **backoffQ**: Pods that failed recently wait ``1 s * 2^(attempts-1)``, at most
  10 s (``podInitialBackoffDuration``, ``podMaxBackoffDuration``);
- **unschedulable**: Pods no node could take wait for the cluster to change —
  :meth:`SchedulingQueue.move_all_to_active` (a node was added or changed, a Pod
  left) sends them back through the back-off, and after 5 minutes they are
  retried anyway.

Keys are ``namespace/name``; times come from the injected clock.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass

from fromscratch.controllers.clock import REAL_CLOCK, Clock

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_IN_UNSCHEDULABLE = 300.0


@dataclass
class QueuedPod:
    key: str
    priority: int = 0
    added: float = 0.0
    attempts: int = 0
    unschedulable_since: float | None = None
    popped_in_cycle: int = 0


class SchedulingQueue:
    def __init__(self, clock: Clock = REAL_CLOCK) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._active: list[tuple[int, float, int, str]] = []  # (-priority, added, seq, key)
        self._backoff: list[tuple[float, int, str]] = []  # (ready at, seq, key)
        self._info: dict[str, QueuedPod] = {}
        self._where: dict[str, str] = {}  # key -> "active" | "backoff" | "unschedulable" | "in-flight"
        self._seq = itertools.count()
        self._closed = False
        self._move_cycle = 0  # counts move_all_to_active calls
        clock.on_advance(self._wake)

    def add(self, key: str, priority: int = 0) -> None:
        """A new (or changed) unscheduled Pod."""
        with self._cond:
            if self._where.get(key) in ("active", "in-flight"):
                return
            info = self._info.setdefault(key, QueuedPod(key, priority, self.clock.now()))
            info.priority = priority
            self._push_active(info)

    def _push_active(self, info: QueuedPod) -> None:
        self._where[info.key] = "active"
        heapq.heappush(self._active, (-info.priority, info.added, next(self._seq), info.key))
        self._cond.notify()

    def delete(self, key: str) -> None:
        """The Pod was bound or deleted: forget it."""
        with self._cond:
            self._where.pop(key, None)
            self._info.pop(key, None)

    def pop(self, timeout: float | None = None) -> QueuedPod | None:
        """The next Pod to try (marked in flight); None on timeout or once closed."""
        with self._cond:
            deadline = None if timeout is None else self.clock.now() + timeout
            while True:
                self._flush_locked()
                while self._active:
                    _, _, _, key = heapq.heappop(self._active)
                    if self._where.get(key) == "active":
                        self._where[key] = "in-flight"
                        info = self._info[key]
                        info.attempts += 1
                        info.popped_in_cycle = self._move_cycle
                        return info
                if self._closed:
                    return None
                now = self.clock.now()
                if deadline is not None and now >= deadline:
                    return None
                waits = [t - now for t in (deadline, self._next_wake()) if t is not None]
                self.clock.wait(self._cond, max(min(waits), 0.0) if waits else None)

    def _next_wake(self) -> float | None:
        times = [t for t, _, _ in self._backoff[:1]]
        times += [i.unschedulable_since + MAX_IN_UNSCHEDULABLE for k, i in self._info.items()
                  if self._where.get(k) == "unschedulable" and i.unschedulable_since is not None]
        return min(times, default=None)

    def backoff_for(self, attempts: int) -> float:
        return min(INITIAL_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)

    def requeue_unschedulable(self, info: QueuedPod) -> None:
        """No node fits: wait for a cluster event (or five minutes)."""
        with self._cond:
            if self._where.get(info.key) != "in-flight":
                return
            if self._move_cycle > info.popped_in_cycle:
                # subtle: the cluster changed while we were deciding; that event may be the
                # one that makes the Pod fit, so do not park it (upstream's moveRequestCycle)
                self._to_backoff(info)
                return
            info.unschedulable_since = self.clock.now()
            self._where[info.key] = "unschedulable"

    def requeue_error(self, info: QueuedPod) -> None:
        """Binding failed (a conflict, a lost connection): retry after the back-off."""
        with self._cond:
            if self._where.get(info.key) == "in-flight":
                self._to_backoff(info)

    def _to_backoff(self, info: QueuedPod) -> None:
        self._where[info.key] = "backoff"
        ready = self.clock.now() + self.backoff_for(info.attempts)
        heapq.heappush(self._backoff, (ready, next(self._seq), info.key))
        self._cond.notify()

    def move_all_to_active(self) -> int:
        """The cluster changed (a node joined, resources were freed): retry the unschedulable."""
        with self._cond:
            self._move_cycle += 1
            moved = [self._info[k] for k, where in self._where.items() if where == "unschedulable"]
            for info in moved:
                self._to_backoff(info)
            return len(moved)

    def _flush_locked(self) -> None:
        now = self.clock.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if self._where.get(key) == "backoff":
                self._push_active(self._info[key])
        for key, where in list(self._where.items()):
            info = self._info[key]
            if where == "unschedulable" and info.unschedulable_since is not None \
                    and now - info.unschedulable_since >= MAX_IN_UNSCHEDULABLE:
                self._push_active(info)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def counts(self) -> dict[str, int]:
        with self._cond:
            result = {"active": 0, "backoff": 0, "unschedulable": 0, "in-flight": 0}
            for where in self._where.values():
                result[where] += 1
            return result

"""The rate-limited workqueue every controller pulls its keys from.

Models client-go's ``util/workqueue`` (``Type``, ``delaying_queue.go``,
``rate_limiting_queue.go`` and ``default_rate_limiters.go``):

- a key is queued at most once: adding a key that is already waiting does nothing
  (the *dirty* set), so a burst of 100 events for one Deployment is one reconcile;
- a key is never handed to two workers at once: while a worker holds it (the
  *processing* set), a new ``add`` only marks it dirty, and ``done`` puts it back;
- ``add_after`` delays a key (a heap ordered by ready time, on an injectable clock);
- ``add_rate_limited`` delays it by its own exponential back-off: 5 ms, 10 ms,
  20 ms ... capped at 1000 s, together with an overall token bucket (10 qps,
  burst 100) — client-go's ``DefaultControllerRateLimiter``; ``forget`` resets
  the key's failure count after a successful reconcile;
- ``shutdown`` wakes every waiting worker; ``get`` then answers ``(None, True)``.

Simplified: no metrics provider and no ``ShutDownWithDrain``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Hashable
from typing import Protocol

from fromscratch.controllers.clock import REAL_CLOCK, Clock


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float: ...
    def forget(self, item: Hashable) -> None: ...
    def retries(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """Per-key back-off: ``base * 2**failures``, capped at ``maximum`` seconds."""

    def __init__(self, base: float = 0.005, maximum: float = 1000.0) -> None:
        self.base, self.maximum = base, maximum
        self._failures: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        with self._lock:
            exponent = self._failures.get(item, 0)
            self._failures[item] = exponent + 1
        # subtle: cap the exponent first, 2**1000 is still a float but 2**2000 overflows
        return min(self.base * 2.0 ** min(exponent, 1000), self.maximum)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def retries(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class BucketRateLimiter:
    """An overall token bucket: ``qps`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock = REAL_CLOCK) -> None:
        self.qps, self.burst, self.clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock.now()
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        with self._lock:
            now = self.clock.now()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            # take a token now; a negative balance is a reservation in the future
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def retries(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of the limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def retries(self, item: Hashable) -> int:
        return max(limiter.retries(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock = REAL_CLOCK) -> RateLimiter:
    """client-go's DefaultControllerRateLimiter: per-key exponential, overall 10 qps / 100."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(10.0, 100, clock=clock))


class WorkQueue:
    """A deduplicating, delaying, rate-limited FIFO of keys (``namespace/name``)."""

    def __init__(self, name: str = "", *, rate_limiter: RateLimiter | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self.name = name
        self.clock = clock
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiting: list[tuple[float, int, Hashable]] = []  # heap of (ready at, seq, key)
        self._waiting_ready: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._shutting_down = False
        self.adds = 0  # keys accepted so far (a key already dirty is not counted)
        clock.on_advance(self._wake)

    # --- the basic queue (workqueue.Type) --------------------------------------------------
    def add(self, item: Hashable) -> None:
        with self._cond:
            self._add_locked(item)

    def _add_locked(self, item: Hashable) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self.adds += 1
        self._dirty.add(item)
        # subtle: a key a worker is holding waits until done(); it must not run twice at once
        if item in self._processing:
            return
        self._queue.append(item)
        self._cond.notify()

    def get(self, timeout: float | None = None) -> tuple[Hashable | None, bool]:
        """Block until a key is ready: ``(key, False)``; ``(None, True)`` once shut down.

        With ``timeout``, gives up after that many seconds of the clock: ``(None, False)``.
        """
        with self._cond:
            deadline = None if timeout is None else self.clock.now() + timeout
            while True:
                self._release_due_locked()
                if self._queue:
                    item = self._queue.popleft()
                    self._processing.add(item)
                    self._dirty.discard(item)
                    return item, False
                if self._shutting_down:
                    return None, True
                now = self.clock.now()
                if deadline is not None and now >= deadline:
                    return None, False
                waits = [t - now for t in (deadline, self._next_ready_locked()) if t is not None]
                self.clock.wait(self._cond, min(waits) if waits else None)

    def done(self, item: Hashable) -> None:
        """The worker finished ``item``; if it was added meanwhile, queue it again."""
        with self._cond:
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def shutdown(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # --- delaying ---------------------------------------------------------------------------
    def add_after(self, item: Hashable, delay: float) -> None:
        """Add ``item`` once ``delay`` seconds have passed on the clock."""
        if delay <= 0:
            self.add(item)
            return
        with self._cond:
            if self._shutting_down:
                return
            ready = self.clock.now() + delay
            # a key already waiting keeps the earlier of its two ready times
            if item in self._waiting_ready and self._waiting_ready[item] <= ready:
                return
            self._waiting_ready[item] = ready
            heapq.heappush(self._waiting, (ready, next(self._seq), item))
            self._cond.notify_all()  # a sleeping get() must recompute how long to sleep

    def _next_ready_locked(self) -> float | None:
        while self._waiting and self._waiting_ready.get(self._waiting[0][2]) != self._waiting[0][0]:
            heapq.heappop(self._waiting)  # stale entry: the key was rescheduled earlier
        return self._waiting[0][0] if self._waiting else None

    def _release_due_locked(self) -> None:
        now = self.clock.now()
        while (ready := self._next_ready_locked()) is not None and ready <= now:
            _, _, item = heapq.heappop(self._waiting)
            del self._waiting_ready[item]
            self._add_locked(item)

    def _wake(self) -> None:
        with self._cond:
            self._release_due_locked()
            self._cond.notify_all()

    def waiting(self) -> int:
        """How many keys wait for their delay to pass."""
        with self._cond:
            return len(self._waiting_ready)

    # --- rate limiting ----------------------------------------------------------------------
    def add_rate_limited(self, item: Hashable) -> float:
        """Requeue ``item`` after its back-off; returns the delay chosen."""
        delay = self.rate_limiter.when(item)
        self.add_after(item, delay)
        return delay

    def forget(self, item: Hashable) -> None:
        """Success: reset ``item``'s back-off (it does not remove a queued key)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return self.rate_limiter.retries(item)

"""Watch: a bounded history of changes, and one queue per watcher.

Models two pieces of kube-apiserver's watch machinery:

- the *watch cache* keeps the most recent changes in a fixed-size window
  (``--watch-cache-sizes``; etcd's compaction plays the same role).  A client
  may resume a watch from any resourceVersion still inside the window; one
  that fell out of it gets ``410 Gone`` (reason ``Expired``) and must list
  again — the "relist" every informer knows how to do;
- each watcher has its own queue, filled by the writer while it holds the
  store lock, so every watcher sees every change in resourceVersion order.
  A watcher that falls ``max_pending`` events behind is closed (the API server
  drops slow watchers too); its client then resumes or relists.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fromscratch.api.store.interface import StoreEvent


class WatchHistory:
    """The last ``capacity`` events; knows the oldest resourceVersion it can resume from."""

    def __init__(self, capacity: int, *, start_rv: int) -> None:
        self._events: deque[StoreEvent] = deque()
        self._capacity = capacity
        # every event with rv > horizon is still in the window
        self.horizon = start_rv

    def append(self, event: StoreEvent) -> None:
        self._events.append(event)
        if len(self._events) > self._capacity:
            evicted = self._events.popleft()
            self.horizon = evicted.rv

    def since(self, rv: int) -> list[StoreEvent]:
        """Events with resourceVersion greater than ``rv``."""
        from fromscratch.api.store.interface import TooOldResourceVersion

        if rv < self.horizon:
            # 410 Gone: that resourceVersion was compacted away; the client must relist
            raise TooOldResourceVersion(rv, self.horizon + 1)
        return [e for e in self._events if e.rv > rv]


class Watcher:
    """One open watch: events under ``prefix``, delivered in order until stopped."""

    def __init__(self, prefix: str, on_stop: Callable[[Watcher], None], *,
                 max_pending: int) -> None:
        self.prefix = prefix
        self._on_stop = on_stop
        self._max_pending = max_pending
        self._queue: deque[StoreEvent] = deque()
        self._ready = threading.Condition()
        self.stopped = False
        self.overflowed = False
        self.initial_events = 0  # synthetic ADDED events queued first (watch from "now")

    def deliver(self, event: StoreEvent) -> None:
        if not event.key.startswith(self.prefix):
            return
        with self._ready:
            if self.stopped:
                return
            if len(self._queue) >= self._max_pending:
                # too slow: close this watch rather than grow without bound
                self.overflowed = True
                self.stopped = True
            else:
                self._queue.append(event)
            self._ready.notify_all()

    def next(self, timeout: float | None = None) -> StoreEvent | None:
        """The next event, or None on timeout or once stopped and drained."""
        with self._ready:
            if not self._queue and not self.stopped:
                self._ready.wait(timeout)
            if self._queue:
                return self._queue.popleft()
            return None

    def wait_pending(self, timeout: float) -> int:
        """Wait up to ``timeout`` for something to be queued; how many events are queued."""
        with self._ready:
            if not self._queue and not self.stopped:
                self._ready.wait(timeout)
            return len(self._queue)

    def pending(self) -> int:
        with self._ready:
            return len(self._queue)

    def stop(self) -> None:
        with self._ready:
            self.stopped = True
            self._ready.notify_all()
        self._on_stop(self)

    def __iter__(self) -> Iterator[StoreEvent]:
        """Events until the watch is stopped (handy in a notebook)."""
        while True:
            event = self.next(timeout=0.5)
            if event is None:
                if self.stopped:
                    return
                continue
            yield event

"""The Delta FIFO: what happened to each object, in order, between reflector and cache.

Models client-go's ``tools/cache/delta_fifo.go``.  The reflector pushes what it
hears from the API server; the informer pops it and updates its cache:

- the queue is keyed by object (``namespace/name``): each key holds the list
  of *deltas* (``Added``, ``Updated``, ``Deleted``, ``Replaced``, ``Sync``) that
  arrived since it was last popped, and a key is queued once however many
  deltas pile up — so handlers see every change, in order, without duplicates
  in the queue;
- ``replace`` (after a relist) emits ``Replaced`` for each listed object and a
  ``Deleted`` carrying :class:`DeletedFinalStateUnknown` for each object the
  cache knows but the list no longer holds (a delete missed while the watch was down);
- ``resync`` emits ``Sync`` for every object in the cache that has no pending
  delta: the periodic "reconcile everything again" of an informer;
- two consecutive ``Deleted`` deltas collapse into one (``dedupDeltas``).

Simplified: ``pop`` hands the deltas to the caller rather than calling a
process function under the queue's lock, and there is no ``AddIfNotPresent``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.controllers.cache import Store, meta_namespace_key

Obj = dict[str, Any]
DeltaType = Literal["Added", "Updated", "Deleted", "Replaced", "Sync"]


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """An object deleted while we were not watching: this is the last state we saw."""

    key: str
    obj: Obj


@dataclass(frozen=True)
class Delta:
    type: DeltaType
    object: Obj | DeletedFinalStateUnknown


def _key_of(obj: Obj | DeletedFinalStateUnknown) -> str:
    return obj.key if isinstance(obj, DeletedFinalStateUnknown) else meta_namespace_key(obj)


class DeltaFIFO:
    """A queue of keys, each with the ordered deltas that happened to its object."""

    def __init__(self, known_objects: Store | None = None) -> None:
        self.known_objects = known_objects  # the informer's cache: what we already told handlers
        self._items: dict[str, list[Delta]] = {}
        self._queue: deque[str] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.populated = False  # has the first list (or any add) arrived?
        self.initial_population = 0  # items of the first replace not yet popped

    def _queue_action(self, kind: DeltaType, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = _key_of(obj)
        deltas = self._items.get(key, [])
        deltas = deltas + [Delta(kind, obj)]
        # subtle: two deletes in a row (a watch DELETED, then a relist's DeletedFinalStateUnknown)
        # are one delete; keep the one carrying the most information (the first)
        if len(deltas) >= 2 and deltas[-1].type == deltas[-2].type == "Deleted":
            deltas = deltas[:-1]
        if key not in self._items:
            self._queue.append(key)
        self._items[key] = deltas
        self._cond.notify()

    def add(self, obj: Obj) -> None:
        with self._cond:
            self.populated = True
            self._queue_action("Added", obj)

    def update(self, obj: Obj) -> None:
        with self._cond:
            self.populated = True
            self._queue_action("Updated", obj)

    def delete(self, obj: Obj) -> None:
        key = meta_namespace_key(obj)
        with self._cond:
            self.populated = True
            known = self.known_objects is not None and self.known_objects.get(key) is not None
            # a delete for something we never knew and have no deltas for: nothing to say
            if not known and key not in self._items:
                return
            self._queue_action("Deleted", obj)

    def replace(self, objects: Iterable[Obj]) -> None:
        """The result of a (re)list: everything that exists now."""
        with self._cond:
            listed = set()
            for obj in objects:
                listed.add(meta_namespace_key(obj))
                self._queue_action("Replaced", obj)
            stale: list[tuple[str, Obj]] = []
            if self.known_objects is not None:
                for key in self.known_objects.keys():
                    if key not in listed and (old := self.known_objects.get(key)) is not None:
                        stale.append((key, old))
            # objects only in the queue (added, never popped) that vanished meanwhile
            for key, deltas in self._items.items():
                last = deltas[-1]
                if key not in listed and last.type != "Deleted" and isinstance(last.object, dict):
                    if not any(k == key for k, _ in stale):
                        stale.append((key, last.object))
            for key, old in stale:
                self._queue_action("Deleted", DeletedFinalStateUnknown(key, old))
            if not self.populated:
                self.populated = True
                self.initial_population = len(self._queue)

    def resync(self) -> int:
        """Queue a ``Sync`` for each known object without pending deltas; returns how many."""
        if self.known_objects is None:
            return 0
        count = 0
        with self._cond:
            for key in self.known_objects.keys():
                obj = self.known_objects.get(key)
                if obj is not None and key not in self._items:
                    self._queue_action("Sync", obj)
                    count += 1
        return count

    def pop(self, timeout: float | None = None) -> tuple[str, list[Delta]] | None:
        """The oldest key and all its deltas; ``None`` on timeout or once closed and empty."""
        with self._cond:
            if not self._queue and not self._closed:
                self._cond.wait(timeout)
            if not self._queue:
                return None
            key = self._queue.popleft()
            if self.initial_population > 0:
                self.initial_population -= 1
            return key, self._items.pop(key)

    def has_synced(self) -> bool:
        """The first list has arrived and every item of it has been popped."""
        with self._cond:
            return self.populated and self.initial_population == 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

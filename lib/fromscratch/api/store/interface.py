"""The store interface: keys, resourceVersions, compare-and-swap, watch.

Models the contract kube-apiserver has with etcd (``k8s.io/apiserver/pkg/storage.Interface``):

- objects live under keys such as ``/registry/apps/deployments/default/web``;
- every write gets the next value of one global, monotonically increasing
  counter — the *resourceVersion* (etcd's revision) — written into
  ``metadata.resourceVersion``;
- an update or delete may name the resourceVersion it expects; if the object
  moved on meanwhile, the write fails (:class:`ResourceVersionConflict`): this
  is the optimistic concurrency behind ``409 Conflict``;
- a watch receives every change under a key prefix after a given
  resourceVersion, in order, from a bounded history; older than the history is
  :class:`TooOldResourceVersion` (``410 Gone`` upstairs).

:class:`Store` implements all of that once, over four storage primitives a
back-end provides (``_load``, ``_save``, ``_remove``, ``_scan``).

Simplified: one lock serialises writes (etcd is a replicated log); lists are
served from the latest state only (no reads "as of" an older resourceVersion).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

from fromscratch.api.store.watch import Watcher, WatchHistory

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]


class KeyExists(Exception):
    """create: something already lives under that key."""


class KeyNotFound(Exception):
    """get/update/delete: nothing lives under that key."""


class ResourceVersionConflict(Exception):
    """update/delete: the object's resourceVersion is not the one the caller expected."""


class TooOldResourceVersion(Exception):
    """watch: the requested resourceVersion fell out of the watch history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True)
class StoreEvent:
    """One change.  ``object`` is shared by every watcher: never mutate it."""

    type: ChangeType
    key: str
    object: dict[str, Any]
    previous: dict[str, Any] | None
    rv: int


def _with_rv(obj: dict[str, Any], rv: int) -> dict[str, Any]:
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return obj


class Store(ABC):
    """A versioned key-value store of JSON objects with watch."""

    def __init__(self, *, history: int = 10_000) -> None:
        if history < 1:
            raise ValueError(f"watch history must hold at least one event, got {history}")
        self._lock = threading.RLock()
        self._rv = self._load_rv()
        self._history = WatchHistory(history, start_rv=self._rv)
        self._watchers: set[Watcher] = set()

    # --- storage primitives, provided by each back-end -------------------------------------
    @abstractmethod
    def _load_rv(self) -> int: ...

    @abstractmethod
    def _load(self, key: str) -> str | None: ...

    @abstractmethod
    def _save(self, key: str, text: str, rv: int) -> None: ...

    @abstractmethod
    def _remove(self, key: str, rv: int) -> None: ...

    @abstractmethod
    def _scan(self, prefix: str) -> list[tuple[str, str]]:
        """Every (key, stored text) under ``prefix``, in key order."""

    def close(self) -> None:
        with self._lock:
            for watcher in list(self._watchers):
                watcher.stop()

    # --- the interface ----------------------------------------------------------------------
    def current_rv(self) -> int:
        with self._lock:
            return self._rv

    def create(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._load(key) is not None:
                raise KeyExists(key)
            rv = self._rv + 1
            text = json.dumps(_with_rv(obj, rv), separators=(",", ":"))
            self._save(key, text, rv)
            self._rv = rv  # subtle: only after the write is durable
            stored = json.loads(text)
            self._publish(StoreEvent("ADDED", key, stored, None, rv))
            return json.loads(text)

    def get(self, key: str) -> dict[str, Any]:
        with self._lock:
            text = self._load(key)
        if text is None:
            raise KeyNotFound(key)
        return json.loads(text)

    def update(self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None
               ) -> dict[str, Any]:
        """Replace the object at ``key``; with ``expected_rv``, only if it is still that version."""
        with self._lock:
            old = self._current(key, expected_rv)
            rv = self._rv + 1
            text = json.dumps(_with_rv(obj, rv), separators=(",", ":"))
            self._save(key, text, rv)
            self._rv = rv
            self._publish(StoreEvent("MODIFIED", key, json.loads(text), old, rv))
            return json.loads(text)

    def delete(self, key: str, *, expected_rv: int | None = None) -> dict[str, Any]:
        """Remove the object; returns its last state, stamped with the deletion's resourceVersion."""
        with self._lock:
            old = self._current(key, expected_rv)
            rv = self._rv + 1
            self._remove(key, rv)
            self._rv = rv
            # a DELETED event carries the last state with the revision of the deletion (like etcd)
            gone = _with_rv(json.loads(json.dumps(old)), rv)
            self._publish(StoreEvent("DELETED", key, gone, old, rv))
            return json.loads(json.dumps(gone))

    def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        """Every object under ``prefix`` and the resourceVersion the list is consistent with."""
        with self._lock:
            texts = self._scan(prefix)
            rv = self._rv
        return [json.loads(text) for _, text in texts], rv

    def watch(self, prefix: str, since_rv: int | None = None, *, max_pending: int = 200_000
              ) -> Watcher:
        """Changes under ``prefix`` after ``since_rv``.

        ``since_rv=None`` is "start from now, but first tell me what exists":
        one synthetic ADDED event per current object, as kube-apiserver does
        for a watch without a resourceVersion.
        """
        with self._lock:
            watcher = Watcher(prefix, self._forget, max_pending=max_pending)
            if since_rv is None:
                current = self._scan(prefix)
                watcher.initial_events = len(current)
                for key, text in current:
                    obj = json.loads(text)
                    rv = int(obj["metadata"]["resourceVersion"])
                    watcher.deliver(StoreEvent("ADDED", key, obj, None, rv))
            else:
                for event in self._history.since(since_rv):  # raises TooOldResourceVersion
                    watcher.deliver(event)
            self._watchers.add(watcher)
            return watcher

    # --- helpers ----------------------------------------------------------------------------
    def _current(self, key: str, expected_rv: int | None) -> dict[str, Any]:
        text = self._load(key)
        if text is None:
            raise KeyNotFound(key)
        old = json.loads(text)
        if expected_rv is not None and int(old["metadata"]["resourceVersion"]) != expected_rv:
            raise ResourceVersionConflict(key)
        return old

    def _publish(self, event: StoreEvent) -> None:
        # called with the lock held, so every watcher sees events in resourceVersion order
        self._history.append(event)
        for watcher in list(self._watchers):
            watcher.deliver(event)

    def _forget(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def watcher_count(self) -> int:
        with self._lock:
            return len(self._watchers)

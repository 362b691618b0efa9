"""The versioned object store behind the API server (what etcd is to kube-apiserver).

- ``interface``: the :class:`Store` every back-end offers (create/get/update/delete/list/watch)
- ``watch``: the bounded watch history and the per-watcher queues
- ``memory``: an in-memory back-end (the default)
- ``sqlite``: a durable back-end: an acknowledged write survives ``kill -9``

``open_store("memory")`` or ``open_store("sqlite:/path/to/db")`` picks one.
"""

from __future__ import annotations

from fromscratch.api.store.interface import (
    KeyExists,
    KeyNotFound,
    ResourceVersionConflict,
    Store,
    StoreEvent,
    TooOldResourceVersion,
)
from fromscratch.api.store.watch import Watcher


def open_store(spec: str = "memory", *, history: int = 10_000) -> Store:
    """Open a store from a spec: ``memory`` or ``sqlite:PATH``."""
    if spec == "memory":
        from fromscratch.api.store.memory import MemoryStore

        return MemoryStore(history=history)
    if spec.startswith("sqlite:") and len(spec) > len("sqlite:"):
        from fromscratch.api.store.sqlite import SQLiteStore

        return SQLiteStore(spec[len("sqlite:"):], history=history)
    raise ValueError(f"unknown store {spec!r}: expected 'memory' or 'sqlite:PATH'")


__all__ = [
    "KeyExists", "KeyNotFound", "ResourceVersionConflict", "Store", "StoreEvent",
    "TooOldResourceVersion", "Watcher", "open_store",
]

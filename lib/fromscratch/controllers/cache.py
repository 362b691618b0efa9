"""The informer's local cache: a thread-safe Store with indexes.

Models client-go's ``tools/cache`` ``Store``/``Indexer`` (``store.go``,
``thread_safe_store.go``, ``index.go``): objects are kept by their key
(``namespace/name``, or ``name`` for cluster-scoped kinds) and every
*indexer* — a function from an object to a list of index values — keeps a
reverse map ``value -> keys``.  Controllers ask the cache, not the API server:
"all Pods in namespace ``web``" (the ``namespace`` index), "all objects owned by
uid ``1234``" (the ``owner`` index), "all Pods on node ``n1``" (a custom one).

Objects in the cache are shared with every reader: never mutate them,
copy first (``copy.deepcopy``), as client-go's comments insist.

Simplified: no ``ByIndex`` on multiple indexes at once, no transformers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"
OWNER_INDEX = "owner"
CONTROLLER_INDEX = "controller"


def meta_namespace_key(obj: Obj) -> str:
    """``namespace/name`` (or ``name`` for a cluster-scoped object): client-go's key func."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise ValueError("an object without metadata.name has no cache key")
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """``namespace/name`` -> ``(namespace, name)``; ``name`` -> ``("", name)``."""
    parts = key.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2 and parts[1]:
        return parts[0], parts[1]
    raise ValueError(f"unexpected key format: {key!r}")


def namespace_index(obj: Obj) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


def owner_index(obj: Obj) -> list[str]:
    """The uid of every owner in ``metadata.ownerReferences``."""
    return [ref["uid"] for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
            if ref.get("uid")]


def controller_index(obj: Obj) -> list[str]:
    """The uid of the controlling owner, or ``orphan:<namespace>`` for an object without one.

    A controller finds the objects it controls, and the orphans it could adopt,
    without scanning the whole namespace.
    """
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid"):
            return [ref["uid"]]
    return [f"orphan:{meta.get('namespace', '')}"]


DEFAULT_INDEXERS: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index, OWNER_INDEX: owner_index,
                                          CONTROLLER_INDEX: controller_index}


class Store:
    """Objects by key, plus one reverse index per indexer; safe to share between threads."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None,
                 key_func: Callable[[Obj], str] = meta_namespace_key) -> None:
        self.key_func = key_func
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(DEFAULT_INDEXERS if indexers is None else indexers)
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._lock = threading.RLock()

    # --- indexes ----------------------------------------------------------------------------
    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        """Add indexers, indexing what is already stored."""
        with self._lock:
            for name, func in indexers.items():
                if name in self._indexers:
                    raise ValueError(f"indexer {name!r} already exists")
                self._indexers[name] = func
                self._indices[name] = {}
                for key, obj in self._items.items():
                    self._index_one(name, key, None, obj)

    def _index_one(self, name: str, key: str, old: Obj | None, new: Obj | None) -> None:
        func, index = self._indexers[name], self._indices[name]
        for value in func(old) if old is not None else []:
            keys = index.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[value]  # keep the index from growing with dead values
        for value in func(new) if new is not None else []:
            index.setdefault(value, set()).add(key)

    def _reindex(self, key: str, old: Obj | None, new: Obj | None) -> None:
        for name in self._indexers:
            self._index_one(name, key, old, new)

    def by_index(self, name: str, value: str) -> list[Obj]:
        """Every object whose indexer ``name`` yields ``value``."""
        with self._lock:
            if name not in self._indexers:
                raise KeyError(f"no indexer named {name!r}")
            return [self._items[k] for k in sorted(self._indices[name].get(value, ()))]

    def index_keys(self, name: str, value: str) -> list[str]:
        with self._lock:
            if name not in self._indexers:
                raise KeyError(f"no indexer named {name!r}")
            return sorted(self._indices[name].get(value, ()))

    # --- the store ---------------------------------------------------------------------------
    def add(self, obj: Obj) -> None:
        key = self.key_func(obj)
        with self._lock:
            old = self._items.get(key)
            self._items[key] = obj
            self._reindex(key, old, obj)

    update = add

    def delete(self, obj: Obj) -> None:
        self.delete_key(self.key_func(obj))

    def delete_key(self, key: str) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._reindex(key, old, None)

    def replace(self, objects: Iterable[Obj]) -> None:
        """Swap the whole content for ``objects`` (after a relist)."""
        with self._lock:
            self._items = {self.key_func(obj): obj for obj in objects}
            self._indices = {name: {} for name in self._indexers}
            for key, obj in self._items.items():
                self._reindex(key, None, obj)

    def get(self, key: str) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def get_by_name(self, namespace: str, name: str) -> Obj | None:
        return self.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None) -> list[Obj]:
        with self._lock:
            if namespace is None:
                return list(self._items.values())
            return self.by_index(NAMESPACE_INDEX, namespace)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

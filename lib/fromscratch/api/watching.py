"""Watch over HTTP: a stream of ADDED / MODIFIED / DELETED / BOOKMARK / ERROR events.

Models kube-apiserver's watch handler (``endpoints/handlers/watch.go``) and
the watch cache's filtering:

- ``?watch=true&resourceVersion=N`` streams every change after ``N``; without
  a resourceVersion (or with ``0``) it first sends one ``ADDED`` per existing
  object;
- with a label or field selector, an object that *starts* matching arrives as
  ``ADDED`` and one that *stops* matching as ``DELETED``, so a client's cache
  of "objects matching my selector" stays right;
- a resourceVersion older than the watch history gets a single ``ERROR`` event
  carrying a ``410 Expired`` Status (the HTTP status is still 200: the error
  is in the stream);
- ``allowWatchBookmarks=true`` adds ``BOOKMARK`` events while the watch is
  idle: "you have seen everything up to resourceVersion N";
- ``timeoutSeconds`` ends the stream; the client then resumes from the last
  resourceVersion it saw.

``sendInitialEvents=true`` (the "watch list" protocol) sends the initial
``ADDED`` events followed by a bookmark annotated
``k8s.io/initial-events-end: "true"``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from fromscratch.api import errors
from fromscratch.api.handlers import _flag, _int_param, matcher
from fromscratch.api.kinds import Kind
from fromscratch.api.registry import Registry, key_prefix
from fromscratch.api.store import StoreEvent, TooOldResourceVersion

Obj = dict[str, Any]
DEFAULT_TIMEOUT = 1800  # kube-apiserver's --min-request-timeout


class WatchSession:
    """One watch request, validated up front so errors can still be a plain 4xx."""

    def __init__(self, registry: Registry, kind: Kind, namespace: str, query: Mapping[str, str],
                 *, stop: threading.Event, bookmark_interval: float = 60.0) -> None:
        self.registry, self.kind, self.namespace = registry, kind, namespace
        self.matches = matcher(kind, query)
        text = query.get("resourceVersion", "")
        try:
            self.since = None if text in ("", "0") else int(text)
        except ValueError:
            raise errors.bad_request(f"invalid resourceVersion {text!r}") from None
        if self.since is not None and self.since < 0:
            raise errors.bad_request(f"invalid resourceVersion {text!r}")
        self.timeout = _int_param(query, "timeoutSeconds", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
        self.bookmarks = _flag(query, "allowWatchBookmarks")
        self.initial_events_end = _flag(query, "sendInitialEvents") and self.since is None
        self.stop = stop
        self.bookmark_interval = bookmark_interval

    def _bookmark(self, rv: int, *, initial_end: bool = False) -> Obj:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"type": "BOOKMARK", "object": {"kind": self.kind.kind,
                                              "apiVersion": self.kind.api_version,
                                              "metadata": meta}}

    def _translate(self, event: StoreEvent) -> Obj | None:
        """The event this client sees, given its selectors (None: nothing to send)."""
        obj = self.registry.to_served(self.kind, event.object)
        if event.type == "ADDED":
            return {"type": "ADDED", "object": obj} if self.matches(obj) else None
        before = self.registry.to_served(self.kind, event.previous or event.object)
        was, now = self.matches(before), self.matches(obj)
        if event.type == "DELETED":
            return {"type": "DELETED", "object": obj} if was else None
        if was and now:
            return {"type": "MODIFIED", "object": obj}
        if now:
            return {"type": "ADDED", "object": obj}  # started matching the selector
        if was:
            return {"type": "DELETED", "object": obj}  # stopped matching the selector
        return None

    def events(self) -> Iterator[Obj]:
        """The stream, one event dict at a time, until timeout, client stop or server stop."""
        store = self.registry.store
        try:
            watcher = store.watch(key_prefix(self.kind, self.namespace), self.since)
        except TooOldResourceVersion as err:
            # 410 Gone: that resourceVersion was compacted away; the client must relist
            yield {"type": "ERROR", "object": errors.gone(str(err)).status()}
            return
        try:
            yield from self._loop(watcher)
        finally:
            watcher.stop()

    def _loop(self, watcher) -> Iterator[Obj]:
        store = self.registry.store
        deadline = time.monotonic() + self.timeout
        last_sent = time.monotonic()
        initial_left = watcher.initial_events if self.initial_events_end else -1
        last_rv = self.since or 0
        while not self.stop.is_set():
            if initial_left == 0:
                yield self._bookmark(store.current_rv(), initial_end=True)
                initial_left = -1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            event = watcher.next(timeout=min(remaining, 0.25))
            if event is None:
                if watcher.stopped:
                    return  # too slow (or the store closed): the client resumes or relists
                idle = time.monotonic() - last_sent
                if self.bookmarks and idle >= self.bookmark_interval:
                    rv = store.current_rv()
                    # subtle: only if nothing up to rv is still queued for us
                    if watcher.pending() == 0:
                        yield self._bookmark(max(rv, last_rv))
                        last_sent = time.monotonic()
                continue
            if initial_left > 0:
                initial_left -= 1
            last_rv = max(last_rv, event.rv)
            translated = self._translate(event)
            if translated is not None:
                yield translated
                last_sent = time.monotonic()

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

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from fromscratch.api import errors
from fromscratch.api.handlers import _flag, _int_param, matcher
from fromscratch.api.kinds import Kind
from fromscratch.api.registry import Registry, key_prefix
from fromscratch.api.store import StoreEvent, TooOldResourceVersion

Obj = dict[str, Any]
DEFAULT_TIMEOUT = 1800  # kube-apiserver's --min-request-timeout
COALESCE = 0.002  # seconds: events closer together than this are sent in one chunk
# not an event: "send what you hold now" (yielded when the stream goes quiet or the last
# queued event was filtered out by the client's selectors)
FLUSH: Obj = {"type": "FLUSH"}


class EncodedEvents:
    """JSON lines for watch events, encoded once however many watchers send them.

    Fifty watchers of the same resource receive the same stored object; encoding
    it fifty times would dominate the server's time.  Entries keep a reference
    to their object, so an ``id()`` is never reused while its entry lives.
    """

    def __init__(self, size: int = 4096) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, str], tuple[Obj, bytes]] = OrderedDict()
        self._size = size

    def encode(self, event: Obj) -> bytes:
        obj = event["object"]
        key = (id(obj), event["type"])
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is obj:
                self._entries.move_to_end(key)
                return entry[1]
        line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            self._entries[key] = (obj, line)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return line


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
        self._last_event = 0.0

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
        self._watcher = watcher
        try:
            yield from self._loop(watcher)
        finally:
            watcher.stop()

    def more_ready(self) -> bool:
        """Is another event queued?  If so, the transport batches it before flushing.

        Like Nagle's algorithm for watch streams: while events arrive less than
        ``COALESCE`` apart (a burst of writes), wait that long for the next one
        so fifty watchers write one chunk per burst instead of one per event.
        A lone event is flushed at once.
        """
        watcher = getattr(self, "_watcher", None)
        if watcher is None:
            return False
        now = time.monotonic()
        burst = now - self._last_event < COALESCE
        self._last_event = now
        if watcher.pending() > 0:
            return True
        return burst and watcher.wait_pending(COALESCE) > 0

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
                yield FLUSH  # quiet now: whatever the transport holds back goes out
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
            elif watcher.pending() == 0:
                # subtle: the transport held the last event back because this one was queued;
                # now that the selector dropped it, nothing follows to push that one out
                yield FLUSH

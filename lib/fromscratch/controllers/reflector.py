"""The Reflector: list, then watch from the list's resourceVersion; relist on 410 Gone.

Models client-go's ``tools/cache/reflector.go`` (``ListAndWatch``):

1. **list** every object (in pages of ``page_size``), remember the list's
   ``metadata.resourceVersion``, and ``replace`` the Delta FIFO's content;
2. **watch** from that resourceVersion: ``ADDED``/``MODIFIED``/``DELETED`` go
   to the FIFO, each event (and each ``BOOKMARK``) moves our resourceVersion on;
3. when a watch ends (its ``timeoutSeconds`` ran out, the connection dropped),
   watch again **from the last resourceVersion seen** — nothing is lost;
4. when the server answers ``410 Gone`` / ``Expired`` (our resourceVersion was
   compacted out of its history), **relist**: the FIFO's ``replace`` works out
   what was deleted meanwhile.

Failures back off exponentially (0.8 s doubling to 30 s in client-go; here
``backoff`` and ``max_backoff``) on the injected clock.

Simplified: no "watch list" streaming mode and no consistent-read-from-cache
options; the watch timeout is fixed instead of randomised between 5 and 10 minutes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException

from fromscratch.controllers.client import ResourceClient, WatchStream
from fromscratch.controllers.fifo import DeltaFIFO

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.reflector")


class Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): a relist is needed."""


class Reflector:
    """Keeps a Delta FIFO in step with one resource on the API server."""

    def __init__(self, client: ResourceClient, fifo: DeltaFIFO, *, namespace: str = "",
                 label_selector: str | None = None, field_selector: str | None = None,
                 page_size: int = 500, watch_timeout: int = 300,
                 backoff: float = 0.1, max_backoff: float = 5.0,
                 wait: Callable[[threading.Event, float], bool] | None = None) -> None:
        self.client, self.fifo = client, fifo
        self.namespace = namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.page_size, self.watch_timeout = page_size, watch_timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        self._wait = wait or (lambda stop, seconds: stop.wait(seconds))
        self.last_sync_resource_version = ""
        self._stream: WatchStream | None = None
        # counters a test or a notebook can show
        self.lists = 0
        self.watches = 0
        self.relists_after_expired = 0
        self.events = 0

    # --- list ---------------------------------------------------------------------------------
    def list(self) -> str:
        """List everything (following ``continue`` tokens), replace the FIFO; returns the RV."""
        items: list[Obj] = []
        token: str | None = None
        while True:
            page = self.client.list(self.namespace, label_selector=self.label_selector,
                                    field_selector=self.field_selector,
                                    limit=self.page_size, continue_=token)
            kind = self.client.resource.kind
            for item in page.get("items") or []:
                # list items carry no apiVersion/kind; fill them in as watch events have them
                item.setdefault("apiVersion", self.client.resource.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                break
        self.fifo.replace(items)
        self.lists += 1
        self.last_sync_resource_version = meta.get("resourceVersion", "")
        return self.last_sync_resource_version

    # --- watch ----------------------------------------------------------------------------------
    def watch_once(self, stop: threading.Event) -> None:
        """One watch request from the last resourceVersion, until it ends or ``stop`` is set."""
        self.watches += 1
        self._stream = stream = self.client.watch(
            self.namespace, resource_version=self.last_sync_resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            timeout_seconds=self.watch_timeout, bookmarks=True)
        try:
            for event in stream:
                if stop.is_set():
                    return
                self._handle(event)
        finally:
            stream.close()
            self._stream = None

    def interrupt(self) -> None:
        """End the current watch at once (used when stopping)."""
        stream = self._stream
        if stream is not None:
            stream.close()

    def _handle(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410 or obj.get("reason") in ("Expired", "Gone"):
                # 410 Gone: our resourceVersion was compacted away; relist.
                raise Expired(obj.get("message", "resource version too old"))
            raise ApiException(status=obj.get("code"), reason=obj.get("reason"),
                               body=obj.get("message"))
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "ADDED":
            self.fifo.add(obj)
        elif kind == "MODIFIED":
            self.fifo.update(obj)
        elif kind == "DELETED":
            self.fifo.delete(obj)
        elif kind != "BOOKMARK":
            log.warning("%s: unknown watch event type %r", self.client.resource.plural, kind)
            return
        self.events += kind != "BOOKMARK"
        if rv:
            self.last_sync_resource_version = rv

    # --- the loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """ListAndWatch until ``stop`` is set."""
        need_list, delay = True, self.backoff
        while not stop.is_set():
            try:
                if need_list:
                    self.list()
                    need_list = False
                self.watch_once(stop)
                delay = self.backoff  # a watch that ended normally: resume at once
            except Expired:
                self.relists_after_expired += 1
                need_list = True
            except ApiException as err:
                if err.status == 410:
                    self.relists_after_expired += 1
                    need_list = True
                    continue
                log.info("%s: list/watch failed (%s); retrying in %.1fs",
                         self.client.resource.plural, err.status, delay)
                self._wait(stop, delay)
                delay = min(delay * 2, self.max_backoff)
            except Exception as err:  # a dropped connection, a server restart
                if stop.is_set():
                    return
                log.info("%s: watch interrupted (%s); retrying in %.1fs",
                         self.client.resource.plural, err, delay)
                self._wait(stop, delay)
                delay = min(delay * 2, self.max_backoff)

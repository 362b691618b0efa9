"""The informer: a local, always-fresh cache of one resource, and events when it changes.

Models client-go's ``SharedIndexInformer`` (``tools/cache/shared_informer.go``)
and ``SharedInformerFactory``.  An informer wires four pieces together::

    API server --list/watch--> Reflector --> DeltaFIFO --pop--> Store (indexed cache)
                                                          \\--> event handlers
                                                               (on_add, on_update, on_delete)

- the :class:`~fromscratch.controllers.reflector.Reflector` lists, watches, and
  relists on 410 Gone;
- the :class:`~fromscratch.controllers.fifo.DeltaFIFO` orders what happened to each object;
- the :class:`~fromscratch.controllers.cache.Store` is updated *before* the
  handlers run, so a handler (and the worker it wakes) reads a cache at least
  as new as the event;
- every ``resync_period`` (on the injected clock) each cached object is
  delivered again as an update with ``old is new``: the level-triggered
  "reconcile everything now and then" that heals missed edge triggers.

Controllers read the cache (``informer.store``), never the API server, and
never mutate what they read from it.  :class:`InformerFactory` shares one
informer per resource among all the controllers of a controller manager.

Simplified: handlers run on the informer's own thread one after the other
(client-go gives each listener a goroutine and a growing buffer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from fromscratch.controllers.cache import IndexFunc, Store, meta_namespace_key, split_key
from fromscratch.controllers.client import Resource, ResourceClient
from fromscratch.controllers.clock import REAL_CLOCK, Clock
from fromscratch.controllers.fifo import DeletedFinalStateUnknown, Delta, DeltaFIFO
from fromscratch.controllers.reflector import Reflector

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.informer")

__all__ = ["DeletedFinalStateUnknown", "DeltaFIFO", "EventHandler", "Informer", "InformerFactory",
           "Reflector", "Store", "meta_namespace_key", "split_key"]


@dataclass
class EventHandler:
    """What a controller wants to hear about (client-go's ``ResourceEventHandlerFuncs``).

    ``on_delete`` may receive a :class:`DeletedFinalStateUnknown` instead of the
    object: the delete happened while the watch was down.
    """

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj | DeletedFinalStateUnknown], None] | None = None


class Informer:
    """List-watch one resource into an indexed cache and tell handlers what changed."""

    def __init__(self, api_client: ApiClient, resource: Resource, *, namespace: str = "",
                 label_selector: str | None = None, field_selector: str | None = None,
                 resync_period: float = 0.0, clock: Clock = REAL_CLOCK,
                 indexers: dict[str, IndexFunc] | None = None, watch_timeout: int = 300) -> None:
        self.resource = resource
        self.client = ResourceClient(api_client, resource)
        self.store = Store()
        if indexers:
            self.store.add_indexers(indexers)
        self.fifo = DeltaFIFO(known_objects=self.store)
        self.reflector = Reflector(self.client, self.fifo, namespace=namespace,
                                   label_selector=label_selector, field_selector=field_selector,
                                   watch_timeout=watch_timeout)
        self.resync_period = resync_period
        self.clock = clock
        self.handlers: list[EventHandler] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._synced = threading.Event()
        self._resync_cond = threading.Condition()
        clock.on_advance(self._tick)
        self.resyncs = 0

    # --- handlers --------------------------------------------------------------------------
    def add_event_handler(self, handler: EventHandler) -> None:
        """Register ``handler``; if already running, it first hears an add for each cached object."""
        self.handlers.append(handler)
        if self._threads and handler.on_add:
            for obj in self.store.list():
                handler.on_add(obj)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def _notify(self, what: str, *args: Any) -> None:
        for handler in list(self.handlers):
            callback = getattr(handler, what)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception:  # one broken handler must not stop the informer
                log.exception("%s handler for %s failed", what, self.resource.plural)

    # --- processing the Delta FIFO ---------------------------------------------------------
    def _process(self, deltas: list[Delta]) -> None:
        for delta in deltas:
            if delta.type == "Deleted":
                obj = delta.object
                key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else meta_namespace_key(obj)
                self.store.delete_key(key)
                self._notify("on_delete", obj)
                continue
            assert isinstance(delta.object, dict)
            new = delta.object
            old = self.store.get(meta_namespace_key(new))
            self.store.update(new)
            if old is None:
                self._notify("on_add", new)
            else:
                self._notify("on_update", old, new)

    def _process_loop(self) -> None:
        while not self._stop.is_set():
            popped = self.fifo.pop(timeout=0.2)
            if popped is not None:
                self._process(popped[1])
            if not self._synced.is_set() and self.fifo.has_synced():
                self._synced.set()

    # --- resync ------------------------------------------------------------------------------
    def _tick(self) -> None:
        with self._resync_cond:
            self._resync_cond.notify_all()

    def _resync_loop(self) -> None:
        next_at = self.clock.now() + self.resync_period
        with self._resync_cond:
            while not self._stop.is_set():
                remaining = next_at - self.clock.now()
                if remaining > 0:
                    self.clock.wait(self._resync_cond, min(remaining, 1.0))
                    continue
                self.resyncs += 1
                self.fifo.resync()
                next_at += self.resync_period

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Informer:
        if self._threads:
            return self
        self._stop.clear()
        targets: list[tuple[str, Callable[[], None]]] = [
            ("reflector", lambda: self.reflector.run(self._stop)), ("process", self._process_loop)]
        if self.resync_period > 0:
            targets.append(("resync", self._resync_loop))
        for name, target in targets:
            thread = threading.Thread(target=target, daemon=True,
                                      name=f"informer-{self.resource.plural}-{name}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.reflector.interrupt()
        self.fifo.close()
        self._tick()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def has_synced(self) -> bool:
        """The first list has reached the cache (and its handlers): safe to start workers."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float = 30.0) -> bool:
        return self._synced.wait(timeout)

    # --- reading the cache ----------------------------------------------------------------------
    def get(self, namespace: str, name: str) -> Obj | None:
        return self.store.get_by_name(namespace, name)

    def list(self, namespace: str | None = None) -> list[Obj]:
        return self.store.list(namespace)


class InformerFactory:
    """One shared informer per resource for every controller of a process."""

    def __init__(self, api_client: ApiClient, *, resync_period: float = 0.0,
                 clock: Clock = REAL_CLOCK, namespace: str = "") -> None:
        self.api_client, self.resync_period, self.clock = api_client, resync_period, clock
        self.namespace = namespace
        self.informers: dict[Resource, Informer] = {}

    def informer(self, resource: Resource) -> Informer:
        if resource not in self.informers:
            self.informers[resource] = Informer(
                self.api_client, resource, namespace=self.namespace if resource.namespaced else "",
                resync_period=self.resync_period, clock=self.clock)
        return self.informers[resource]

    def start(self) -> None:
        for informer in list(self.informers.values()):
            informer.start()

    def wait_for_sync(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(i.wait_for_sync(max(0.0, deadline - time.monotonic()))
                   for i in list(self.informers.values()))

    def stop(self) -> None:
        for informer in list(self.informers.values()):
            informer.stop()

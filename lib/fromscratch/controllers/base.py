"""The one skeleton every controller shares: informer -> key -> worker -> ``reconcile(key)``.

Models ``kubernetes/sample-controller`` (``controller.go``), the pattern every
controller in kube-controller-manager follows:

1. informers watch the kinds the controller cares about; their event handlers
   do nothing but **enqueue a key** — ``namespace/name`` of the object the
   controller owns (a Pod event enqueues its ReplicaSet's key);
2. workers take keys from a rate-limited :class:`~fromscratch.controllers.workqueue.WorkQueue`
   (a key is never processed by two workers at once) and call **reconcile(key)**,
   which reads the *desired* state (the object, from the cache) and the *actual*
   state (other objects, from the cache), and writes what is missing;
3. if reconcile raises, the key is **requeued with back-off**; if it succeeds, the
   back-off is **forgotten**. reconcile may also ask to be called again later
   (return a number of seconds), as the Deployment controller does for progress deadlines.

Because reconcile compares whole states rather than reacting to single events, a
missed event, a restart or a 409 Conflict only delays convergence.

Each controller records Events (``self.recorder``) with upstream's reasons, so
``kubectl describe`` tells the story.  Simplified: no leader election.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kubernetes.client import ApiClient

from fromscratch.controllers.cache import meta_namespace_key
from fromscratch.controllers.client import Resource, ResourceClient
from fromscratch.controllers.clock import REAL_CLOCK, Clock
from fromscratch.controllers.events import EventRecorder
from fromscratch.controllers.fifo import DeletedFinalStateUnknown
from fromscratch.controllers.informer import EventHandler, Informer, InformerFactory
from fromscratch.controllers.workqueue import WorkQueue

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.controllers")


def object_of(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    """The object itself, unwrapping a delete seen only through a relist."""
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true`` (metav1.GetControllerOf)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class Controller:
    """Subclass and implement :meth:`reconcile`; wire informers in ``__init__``."""

    name = "controller"
    component = ""  # who signs the Events, e.g. "replicaset-controller"
    resource: Resource  # the kind whose keys this controller reconciles

    def __init__(self, factory: InformerFactory, *, clock: Clock | None = None,
                 queue: WorkQueue | None = None) -> None:
        self.factory = factory
        self.api_client: ApiClient = factory.api_client
        self.clock = clock or factory.clock or REAL_CLOCK
        self.queue = queue or WorkQueue(self.name, clock=self.clock)
        self.informer = factory.informer(self.resource)
        self.client = ResourceClient(self.api_client, self.resource)
        self.recorder = EventRecorder(self.api_client, self.component or f"{self.name}-controller",
                                      clock=self.clock)
        self._workers: list[threading.Thread] = []
        self.reconciles = 0
        self.errors = 0
        # the primary kind: every change enqueues the object's own key
        self.informer.add_event_handler(EventHandler(
            on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
            on_delete=self.enqueue))

    # --- what the handlers call --------------------------------------------------------------
    def enqueue(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = obj.key if isinstance(obj, DeletedFinalStateUnknown) else meta_namespace_key(obj)
        self.queue.add(key)

    def enqueue_owner(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        """A dependent changed: enqueue the object of our kind that controls it, if any."""
        dependent = object_of(obj)
        ref = controller_ref(dependent)
        if ref is None or ref.get("kind") != self.resource.kind:
            return
        namespace = (dependent.get("metadata") or {}).get("namespace", "")
        owner = self.informer.get(namespace, ref["name"])
        # subtle: a same-named owner with another uid is a different object; ignore it
        if owner is not None and owner["metadata"].get("uid") == ref.get("uid"):
            self.queue.add(meta_namespace_key(owner))

    def watch_dependents(self, resource: Resource) -> Informer:
        """Enqueue the controlling owner whenever an object of ``resource`` changes."""
        informer = self.factory.informer(resource)
        informer.add_event_handler(EventHandler(
            on_add=self.enqueue_owner, on_delete=self.enqueue_owner,
            on_update=lambda old, new: (self.enqueue_owner(old), self.enqueue_owner(new))))
        return informer

    # --- the worker ----------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        """Make the world match the object ``key``; return seconds to requeue after, or None."""
        raise NotImplementedError

    def process_next_item(self, timeout: float | None = None) -> bool:
        """Take one key and reconcile it; False once the queue is shut down (or on timeout)."""
        key, shutdown = self.queue.get(timeout=timeout)
        if shutdown or key is None:
            return False
        try:
            self.reconciles += 1
            requeue_after = self.reconcile(str(key))
        except Exception as err:
            self.errors += 1
            delay = self.queue.add_rate_limited(key)
            log.info("%s: reconcile %s failed (%s); retrying in %.3fs", self.name, key, err, delay)
        else:
            self.queue.forget(key)
            if requeue_after is not None:
                self.queue.add_after(key, requeue_after)
        finally:
            self.queue.done(key)
        return True

    def _worker(self) -> None:
        while self.process_next_item():
            pass

    def run_until_idle(self, max_items: int = 10_000) -> int:
        """Process queued keys on this thread until none is ready (tests, notebooks)."""
        done = 0
        while done < max_items and len(self.queue) and self.process_next_item(timeout=0):
            done += 1
        return done

    def start(self, workers: int = 1) -> Controller:
        """Start workers (the informers are started by the factory)."""
        for index in range(workers):
            thread = threading.Thread(target=self._worker, daemon=True,
                                      name=f"{self.name}-worker-{index}")
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self) -> None:
        self.queue.shutdown()
        for thread in self._workers:
            thread.join(timeout=5)
        self._workers = []
        self.recorder.stop()


class ControllerManager:
    """kube-controller-manager in miniature: shared informers and a set of controllers."""

    def __init__(self, api_client: ApiClient, *, controllers: list[type[Controller]],
                 clock: Clock = REAL_CLOCK, resync_period: float = 30.0,
                 namespace: str = "") -> None:
        self.factory = InformerFactory(api_client, clock=clock, resync_period=resync_period,
                                       namespace=namespace)
        self.controllers = [cls(self.factory, clock=clock) for cls in controllers]

    def start(self, workers: int = 2, sync_timeout: float = 30.0) -> ControllerManager:
        self.factory.start()
        if not self.factory.wait_for_sync(sync_timeout):
            raise TimeoutError("informer caches did not sync")
        for controller in self.controllers:
            controller.start(workers)
        return self

    def stop(self) -> None:
        for controller in self.controllers:
            controller.stop()
        self.factory.stop()

    def __enter__(self) -> ControllerManager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getitem__(self, name: str) -> Controller:
        for controller in self.controllers:
            if controller.name == name:
                return controller
        raise KeyError(name)


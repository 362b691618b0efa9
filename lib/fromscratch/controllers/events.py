"""Events: the controllers' diary that ``kubectl describe`` shows under "Events".

Models client-go's ``tools/record`` (``EventRecorder`` and its broadcaster):
a controller calls ``recorder.event(obj, "Normal", "SuccessfulCreate", "Created pod: web-x7k2")``
and carries on; a background thread writes ``v1.Event`` objects — ``involvedObject``
pointing at ``obj``, ``reason``, ``message``, ``type``, ``source.component``,
first/last timestamps and ``count`` — so writing events never slows a reconcile.
Like client-go, the buffer is bounded (1000): when the API server cannot keep up,
events are dropped rather than controllers blocked.

Simplified: no aggregation of similar events and no spam filter; an identical
event repeated within the same object is written again rather than counted up.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Literal

from kubernetes.client import ApiClient

from fromscratch.controllers.client import EVENTS, ResourceClient
from fromscratch.controllers.clock import REAL_CLOCK, Clock
from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.events")
EventType = Literal["Normal", "Warning"]
BUFFER = 1000


def involved_object(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"), "name": meta.get("name"),
           "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Record events for objects, written asynchronously by one background thread."""

    def __init__(self, api_client: ApiClient, component: str, *, clock: Clock = REAL_CLOCK) -> None:
        self.client = ResourceClient(api_client, EVENTS)
        self.component, self.clock = component, clock
        self._queue: queue.Queue[Obj | None] = queue.Queue(BUFFER)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0

    def event(self, obj: Obj, type_: EventType, reason: str, message: str) -> None:
        stamp = format_time(self.clock.wall())
        involved = involved_object(obj)
        namespace = involved.get("namespace", "default")
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"generateName": f"{involved.get('name', 'object')}.", "namespace": namespace},
                "involvedObject": involved, "reason": reason, "message": message, "type": type_,
                "source": {"component": self.component}, "reportingComponent": self.component,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}
        self._ensure_started()
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.dropped += 1  # never block a controller on its diary

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_loop, daemon=True,
                                                name=f"events-{self.component}")
                self._thread.start()

    def _write_loop(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is None:
                    return
                self.client.create(body["metadata"]["namespace"], body)
                self.written += 1
            except Exception as err:  # an event lost is not worth a retry storm
                log.debug("could not write event %s: %s", body and body.get("reason"), err)
                self.dropped += 1
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every recorded event has been written (or dropped)."""
        if self._thread is not None:
            self._queue.join()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

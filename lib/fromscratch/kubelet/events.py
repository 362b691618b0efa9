"""Pod events from the kubelet: what ``kubectl describe pod`` lists under "Events".

The runtime keeps a diary on each Pod (``pod.events``: Started, Killing,
BackOff, Unhealthy, Failed …).  The kubelet turns each new entry into a
``v1.Event`` whose ``involvedObject`` is the Pod (with ``fieldPath``
``spec.containers{name}`` for a container's events) and whose ``source`` is
``{component: kubelet, host: <node>}``, as upstream's recorder does.  Before a
container's first ``Started`` it reports ``Pulled`` ("already present on
machine": images are local here) and ``Created``, the upstream sequence.

Written by the controllers' :class:`~fromscratch.controllers.events.EventRecorder`
(asynchronous, bounded buffer: events are dropped rather than slowing the kubelet).
"""

from __future__ import annotations

import queue
from typing import Any

from fromscratch.controllers.events import EventRecorder, involved_object
from fromscratch.kubelet.clocks import rfc3339

Obj = dict[str, Any]
SKIPPED = {"Scheduled"}  # the scheduler reports scheduling, not the kubelet


class KubeletRecorder(EventRecorder):
    """An :class:`EventRecorder` that names the node in ``source.host``.

    One recorder (one writer thread) can serve many in-process kubelets: each
    event names its own node.
    """

    def __init__(self, api_client: Any, node_name: str = "", *, clock: Any) -> None:
        super().__init__(api_client, "kubelet", clock=clock)
        self.node_name = node_name

    def pod_event(self, pod: Obj, type_: str, reason: str, message: str, container: str = "",
                  *, host: str = "") -> None:
        stamp = rfc3339(self.clock.wall())
        involved = involved_object(pod)
        if container:
            kind = "initContainers" if any(c.get("name") == container for c in
                                           (pod.get("spec") or {}).get("initContainers") or []) \
                else "containers"
            involved["fieldPath"] = f"spec.{kind}{{{container}}}"
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"generateName": f"{involved.get('name', 'pod')}.",
                             "namespace": involved.get("namespace", "default")},
                "involvedObject": involved, "reason": reason, "message": message, "type": type_,
                "source": {"component": "kubelet", "host": host or self.node_name},
                "reportingComponent": "kubelet", "reportingInstance": host or self.node_name,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1}
        self._ensure_started()
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.dropped += 1


def forward(recorder: KubeletRecorder | None, pod: Obj, runtime_pod: Any, sent: int,
            host: str = "") -> int:
    """Record the runtime's events after the first ``sent``; returns the new count."""
    events = runtime_pod.events
    if recorder is None:
        return len(events)
    for entry in events[sent:]:
        if entry["reason"] in SKIPPED:
            continue
        container = entry.get("container", "")
        if entry["reason"] == "Started" and container:
            image = next((c.get("image", "") for c in [*runtime_pod.spec.get("initContainers", []),
                                                       *runtime_pod.spec["containers"]]
                          if c["name"] == container), "")
            recorder.pod_event(pod, "Normal", "Pulled",
                               f'Container image "{image}" already present on machine', container,
                               host=host)
            recorder.pod_event(pod, "Normal", "Created", f"Created container {container}", container,
                               host=host)
        recorder.pod_event(pod, entry["type"], entry["reason"], entry["message"], container, host=host)
    return len(events)

"""The Pod garbage collector: Pods whose node is gone are deleted for good.

Models kube-controller-manager's ``pod-garbage-collector``
(``pkg/controller/podgc/gc_controller.go``), documented at
https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection.
A Pod bound to a node is normally deleted by its kubelet (the API server waits
for it to confirm).  When no kubelet will ever answer, this controller steps in
and *force-deletes* (grace period 0):

- **orphaned** Pods: bound to a Node that no longer exists — after a
  quarantine of 40 s and a fresh read of the Node, in case the cache is
  behind (upstream's ``gcOrphaned``);
- **unscheduled terminating** Pods: deleted before any node took them
  (``gcUnscheduledTerminating``);
- **terminating Pods on an out-of-service node**: a node that is not Ready and
  carries the ``node.kubernetes.io/out-of-service`` taint an administrator puts
  on a node known to be dead (``gcTerminating``).

Before deleting, an orphaned Pod is marked ``Failed`` with the
``DisruptionTarget`` condition (reason ``DeletionByPodGC``).

Simplified: no ``--terminated-pod-gc-threshold`` (upstream also deletes the
oldest finished Pods beyond 12 500); Pods are looked at on events and after
the quarantine, not in a 20 s sweep.
"""

from __future__ import annotations

from typing import Any

from fromscratch.controllers.base import Controller, object_of
from fromscratch.controllers.cache import meta_namespace_key, split_key
from fromscratch.controllers.client import NODES, PODS, ResourceClient, is_status
from fromscratch.controllers.clock import Clock
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.nodelifecycle import NODE_INDEX, pods_informer
from fromscratch.controllers.podutil import condition, format_time

Obj = dict[str, Any]
QUARANTINE = 40.0  # seconds a node must stay missing before its Pods are collected
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


class PodGCController(Controller):
    """Keys are Pod keys; a deleted Node enqueues every Pod that was bound to it."""

    name = "podgc"
    component = "pod-garbage-collector"
    resource = PODS

    def __init__(self, factory: InformerFactory, *, clock: Clock | None = None,
                 quarantine: float = QUARANTINE, **kwargs: Any) -> None:
        super().__init__(factory, clock=clock, **kwargs)
        self.quarantine = quarantine
        self.pods = pods_informer(factory)
        self.nodes = factory.informer(NODES)
        self.nodes.add_event_handler(EventHandler(
            on_delete=self._node_changed, on_update=lambda _old, new: self._node_changed(new)))
        self.node_client = ResourceClient(self.api_client, NODES)
        self.missing_since: dict[str, float] = {}  # node name -> when we first missed it
        self.collected = 0

    def _node_changed(self, obj: Any) -> None:
        node = object_of(obj)
        for pod in self.pods.store.by_index(NODE_INDEX, node["metadata"]["name"]):
            self.queue.add(meta_namespace_key(pod))

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None:
            return None
        node_name = (pod.get("spec") or {}).get("nodeName")
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        if not node_name:
            if deleting:  # nobody will ever run it, so nobody will confirm the delete
                self.force_delete(pod, None)
            return None
        node = self.nodes.get("", node_name)
        if node is not None:
            self.missing_since.pop(node_name, None)
            if deleting and self._out_of_service(node):
                self.force_delete(pod, None)
            return None
        # the node is missing from our cache: wait out the quarantine, then ask the API server
        now = self.clock.now()
        since = self.missing_since.setdefault(node_name, now)
        if now - since < self.quarantine:
            return since + self.quarantine - now
        try:
            self.node_client.get("", node_name)
            return None  # it exists after all: our cache was behind
        except Exception as err:
            if not is_status(err, 404):
                raise
        self.force_delete(pod, "PodGC: node no longer exists")
        return None

    @staticmethod
    def _out_of_service(node: Obj) -> bool:
        ready = (condition(node, "Ready") or {}).get("status")
        taints = (node.get("spec") or {}).get("taints") or []
        return ready != "True" and any(t.get("key") == OUT_OF_SERVICE and
                                       t.get("effect") in ("NoExecute", "NoSchedule")
                                       for t in taints)

    def force_delete(self, pod: Obj, failure: str | None) -> None:
        """Mark an orphan Failed (DeletionByPodGC), then delete with grace period 0."""
        meta = pod["metadata"]
        try:
            if failure and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                target = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                          "message": failure, "lastTransitionTime": format_time(self.clock.wall())}
                self.client.patch(meta["namespace"], meta["name"],
                                  {"status": {"phase": "Failed", "conditions": [target]}},
                                  patch_type="application/strategic-merge-patch+json",
                                  subresource="status")
            self.client.delete(meta["namespace"], meta["name"], grace_period_seconds=0,
                               preconditions={"uid": meta.get("uid")})
        except Exception as err:
            if not is_status(err, 404):
                raise
            return  # gone already
        self.collected += 1

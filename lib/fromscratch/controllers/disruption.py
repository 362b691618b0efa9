"""The disruption controller: keeps every PodDisruptionBudget's status current.

Models kube-controller-manager's ``disruption`` controller
(``pkg/controller/disruption/disruption.go``): whenever a budget or one of the
Pods it selects changes, it recounts — ``currentHealthy`` (Ready Pods not
being deleted), ``desiredHealthy``, ``expectedPods`` and ``disruptionsAllowed``
— and writes them to the budget's status, with the ``DisruptionAllowed``
condition.  ``kubectl get pdb`` shows the result, and the eviction
subresource (``api/pod_subresources.py``) spends from it.  The arithmetic is
shared with the API server: ``api/disruption.py``.

For a percentage or ``maxUnavailable`` the expected number of Pods comes from
the Pods' controllers, read through their ``scale`` subresource (upstream's
``getExpectedScale``); a Pod without a known controller allows no disruption.
Entries of ``status.disruptedPods`` (Pods an eviction let go) are dropped once
the Pod is gone or after two minutes, as upstream does.

Simplified: the direct controller's scale is used (a Deployment's Pods count
through their ReplicaSet); no ``NoControllers`` warning Event.
"""

from __future__ import annotations

from typing import Any

from fromscratch.api import disruption
from fromscratch.controllers.base import Controller, object_of
from fromscratch.controllers.cache import meta_namespace_key, split_key
from fromscratch.controllers.client import (
    PODS,
    REPLICASETS,
    STATEFULSETS,
    Resource,
    ResourceClient,
)
from fromscratch.controllers.clock import Clock
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import format_time, parse_time

Obj = dict[str, Any]
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
# the controllers whose Pods a budget may count by scale: (apiVersion, kind) -> resource
SCALABLE = {("apps/v1", "ReplicaSet"): REPLICASETS, ("apps/v1", "StatefulSet"): STATEFULSETS,
            ("v1", "ReplicationController"): Resource("", "v1", "replicationcontrollers",
                                                      "ReplicationController")}


class DisruptionController(Controller):
    """Keys are budget keys; a Pod change enqueues the budgets that select it."""

    name = "disruption"
    component = "controllermanager"
    resource = PDBS

    def __init__(self, factory: InformerFactory, *, clock: Clock | None = None,
                 **kwargs: Any) -> None:
        super().__init__(factory, clock=clock, **kwargs)
        self.pods = factory.informer(PODS)
        self.pods.add_event_handler(EventHandler(
            on_add=self._pod_changed, on_delete=self._pod_changed,
            on_update=lambda old, new: (self._pod_changed(old), self._pod_changed(new))))

    def _pod_changed(self, obj: Any) -> None:
        pod = object_of(obj)
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        for pdb in self.informer.list(namespace):
            if disruption.selects(pdb, pod):
                self.queue.add(meta_namespace_key(pdb))

    def expected_scale(self, pods: list[Obj]) -> int | None:
        """The summed replicas of the Pods' controllers (None: a Pod has none we know)."""
        replicas: dict[str, int] = {}
        for pod in pods:
            ref = next((r for r in pod["metadata"].get("ownerReferences") or []
                        if r.get("controller")), None)
            resource = SCALABLE.get((ref.get("apiVersion", ""), ref.get("kind", ""))) \
                if ref else None
            if ref is None or resource is None:
                return None
            if ref.get("uid") not in replicas:
                scale = ResourceClient(self.api_client, resource)._json(
                    "GET", resource.path(pod["metadata"]["namespace"], ref["name"], "scale"))
                replicas[ref["uid"]] = int((scale.get("spec") or {}).get("replicas", 0))
        return sum(replicas.values())

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        pdb = self.informer.get(namespace, name)
        if pdb is None:
            return None
        now = self.clock.wall()
        old = pdb.get("status") or {}
        recorded = {pod: parse_time(stamp) or 0.0
                    for pod, stamp in (old.get("disruptedPods") or {}).items()}
        status = disruption.budget_status(pdb, self.pods.list(namespace), now=now,
                                          disrupted=recorded,
                                          controller_scale=self.expected_scale)
        pending = status["disruptedPods"]
        status["disruptedPods"] = {pod: format_time(when) for pod, when in pending.items()}
        status["conditions"] = [disruption.disruption_condition(
            status["disruptionsAllowed"], now=format_time(now),
            generation=status["observedGeneration"], previous=old.get("conditions"))]
        if status != old:
            self.client.update_status({**pdb, "status": status})
        if pending:  # look again when the oldest eviction we still count times out
            return min(pending.values()) + disruption.DISRUPTED_POD_TIMEOUT - now
        return None

"""The ReplicaSet controller: keep ``spec.replicas`` Pods matching the selector alive.

Models ``pkg/controller/replicaset/replica_set.go`` (``syncReplicaSet``):

- watch ReplicaSets and Pods; a Pod event enqueues the ReplicaSet that controls it;
- *claim* Pods (``ClaimPods``): keep the Pods we control that still match the
  selector, **adopt** orphans that match (add our controller ownerReference),
  **release** Pods we control that no longer match (a label changed);
- compare with ``spec.replicas`` (:func:`~fromscratch.controllers.replica_diff.replicaset_diff`,
  a learner's exercise) and create or delete the difference, guarded by
  :class:`~fromscratch.controllers.expectations.Expectations`;
- write ``status``: replicas, fullyLabeledReplicas, readyReplicas,
  availableReplicas (ready for ``minReadySeconds``), observedGeneration.

Simplified: Pods are created one by one (no slow-start batches), and the
``ReplicaFailure`` condition is not set.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.api.selectors import SelectorError, label_selector_from_dict
from fromscratch.controllers.base import Controller, controller_ref, object_of
from fromscratch.controllers.cache import CONTROLLER_INDEX, OWNER_INDEX, split_key
from fromscratch.controllers.client import PODS, REPLICASETS, ResourceClient, is_status
from fromscratch.controllers.expectations import Expectations
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import is_pod_available, is_pod_ready, pod_from_template
from fromscratch.controllers.replica_diff import replicaset_diff

Obj = dict[str, Any]
BURST_REPLICAS = 500


class ReplicaSetController(Controller):
    name = "replicaset"
    resource = REPLICASETS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.expectations = Expectations(self.clock)
        self.pods = factory.informer(PODS)
        self.pod_client = ResourceClient(self.api_client, PODS)
        self.pods.add_event_handler(EventHandler(
            on_add=self._pod_added, on_delete=self._pod_deleted,
            on_update=self._pod_updated))

    # --- Pod events: observe expectations, enqueue the owner ---------------------------------
    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != self.resource.kind:
            return None
        return f"{pod['metadata']['namespace']}/{ref['name']}"

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)
        else:
            self._enqueue_matching(pod)  # an orphan: a ReplicaSet may adopt it

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        for pod in (old, new):
            key = self._owner_key(pod)
            if key is not None:
                self.queue.add(key)
        if self._owner_key(new) is None:
            self._enqueue_matching(new)

    def _pod_deleted(self, obj: Any) -> None:
        pod = object_of(obj)
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key)
            self.queue.add(key)

    def _enqueue_matching(self, pod: Obj) -> None:
        labels = pod["metadata"].get("labels") or {}
        for rs in self.informer.list(pod["metadata"].get("namespace", "")):
            try:
                if label_selector_from_dict(rs["spec"].get("selector")).matches(labels):
                    self.queue.add(f"{rs['metadata']['namespace']}/{rs['metadata']['name']}")
            except SelectorError:
                continue

    # --- reconcile -------------------------------------------------------------------------------
    def claim_pods(self, rs: Obj) -> list[Obj]:
        """The Pods this ReplicaSet controls after adopting orphans and releasing strays."""
        namespace, uid = rs["metadata"]["namespace"], rs["metadata"]["uid"]
        selector = label_selector_from_dict(rs["spec"].get("selector"))
        claimed = []
        # only the Pods we control and the orphans: the controller index spares a namespace scan
        candidates = (self.pods.store.by_index(CONTROLLER_INDEX, uid)
                      + self.pods.store.by_index(CONTROLLER_INDEX, f"orphan:{namespace}"))
        for pod in candidates:
            ref = controller_ref(pod)
            matches = selector.matches(pod["metadata"].get("labels") or {})
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    claimed.append(pod)
                elif not rs["metadata"].get("deletionTimestamp"):
                    self._set_owner(pod, None)  # release: it stopped matching our selector
            elif ref is None and matches and not rs["metadata"].get("deletionTimestamp"):
                if not pod["metadata"].get("deletionTimestamp"):
                    claimed.append(self._set_owner(pod, rs))  # adopt the orphan
        return claimed

    def _set_owner(self, pod: Obj, owner: Obj | None) -> Obj:
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if not r.get("controller")]
        if owner is not None:
            refs.append({"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                         "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                         "controller": True, "blockOwnerDeletion": True})
        # the resourceVersion makes the patch conditional: a concurrent change gets a 409
        patch = {"metadata": {"ownerReferences": refs,
                              "resourceVersion": pod["metadata"]["resourceVersion"]}}
        return self.pod_client.patch(pod["metadata"]["namespace"], pod["metadata"]["name"], patch)

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        rs = self.informer.get(namespace, name)
        if rs is None:
            self.expectations.forget(key)
            return None  # deleted: the garbage collector removes its Pods
        pods = self.claim_pods(rs)
        if self.expectations.satisfied(key) and not rs["metadata"].get("deletionTimestamp"):
            self.manage_replicas(key, rs, pods)
        self.update_status(rs, pods)
        return self._requeue_for_availability(rs, pods)

    def manage_replicas(self, key: str, rs: Obj, pods: list[Obj]) -> None:
        diff = replicaset_diff(int(rs["spec"].get("replicas", 1)), pods, burst=BURST_REPLICAS)
        if diff.create:
            self.expectations.expect(key, adds=diff.create)
            template = rs["spec"].get("template") or {}
            for created in range(diff.create):
                try:
                    pod = self.pod_client.create(rs["metadata"]["namespace"],
                                                 pod_from_template(template, rs))
                except Exception as err:
                    # the informer will never see the ones we did not create
                    for _ in range(diff.create - created):
                        self.expectations.creation_observed(key)
                    self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {err}")
                    raise
                self.recorder.event(rs, "Normal", "SuccessfulCreate",
                                    f"Created pod: {pod['metadata']['name']}")
        elif diff.delete:
            self.expectations.expect(key, deletes=len(diff.delete))
            for pod in diff.delete:
                try:
                    self.pod_client.delete(pod["metadata"]["namespace"], pod["metadata"]["name"],
                                           preconditions={"uid": pod["metadata"]["uid"]})
                except Exception as err:
                    self.expectations.deletion_observed(key)
                    if not is_status(err, 404, 409):
                        raise
                    continue
                self.recorder.event(rs, "Normal", "SuccessfulDelete",
                                    f"Deleted pod: {pod['metadata']['name']}")

    # --- status ------------------------------------------------------------------------------------
    def calculate_status(self, rs: Obj, pods: list[Obj]) -> Obj:
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        min_ready = int(rs["spec"].get("minReadySeconds", 0) or 0)
        now = self.clock.wall()
        active = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                  and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        status = copy.deepcopy(rs.get("status") or {})
        status.update({
            "replicas": len(active),
            "fullyLabeledReplicas": sum(
                all((p["metadata"].get("labels") or {}).get(k) == v for k, v in template_labels.items())
                for p in active),
            "readyReplicas": sum(is_pod_ready(p) for p in active),
            "availableReplicas": sum(is_pod_available(p, min_ready, now) for p in active),
            "observedGeneration": rs["metadata"].get("generation", 0),
        })
        return status

    def update_status(self, rs: Obj, pods: list[Obj]) -> None:
        status = self.calculate_status(rs, pods)
        if status == (rs.get("status") or {}):
            return
        body = copy.deepcopy(rs)
        body["status"] = status
        self.client.update_status(body)

    def _requeue_for_availability(self, rs: Obj, pods: list[Obj]) -> float | None:
        # a Pod that is ready but not yet available becomes available by the clock alone
        min_ready = int(rs["spec"].get("minReadySeconds", 0) or 0)
        if min_ready and any(is_pod_ready(p) and not is_pod_available(p, min_ready, self.clock.wall())
                             for p in pods):
            return float(min_ready)
        return None

    def pods_of(self, rs: Obj) -> list[Obj]:
        """The Pods the cache says ``rs`` controls."""
        return [p for p in self.pods.store.by_index(OWNER_INDEX, rs["metadata"]["uid"])
                if (controller_ref(p) or {}).get("uid") == rs["metadata"]["uid"]]

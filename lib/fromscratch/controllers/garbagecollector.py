"""The garbage collector: delete what has lost its owners; orphan or cascade on request.

Models ``pkg/controller/garbagecollector`` (``garbagecollector.go``, ``graph_builder.go``)
and the documentation page "Garbage Collection":

- every object may list ``metadata.ownerReferences``; an object *all* of whose
  owners are gone is deleted (**background** cascading: the owner went first,
  the collector removes its dependents afterwards); references to owners that
  are gone while others remain are simply removed;
- an owner deleted with ``propagationPolicy: Foreground`` keeps a
  ``foregroundDeletion`` finalizer (the API server adds it): the collector deletes
  its dependents — in the foreground too, so the cascade goes all the way down —
  and removes the finalizer once no dependent with ``blockOwnerDeletion`` is left;
- an owner deleted with ``propagationPolicy: Orphan`` keeps an ``orphan``
  finalizer: the collector removes the owner's reference from every dependent,
  then the finalizer, and the dependents live on.

Before deleting a dependent the collector asks the API server (not its cache)
whether the owner with that *uid* is really gone, so a lagging cache never
deletes a live object.  Simplified: the graph is the informers' owner index
over a fixed list of monitored resources, not a full dependency graph with
virtual nodes for unknown kinds; owners of unmonitored kinds are never judged absent.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.controllers.base import Controller, object_of
from fromscratch.controllers.cache import OWNER_INDEX, meta_namespace_key, split_key
from fromscratch.controllers.client import (
    CONTROLLERREVISIONS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTS,
    JOBS,
    PODS,
    PVCS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    Resource,
    ResourceClient,
    is_status,
)
from fromscratch.controllers.informer import EventHandler, InformerFactory

Obj = dict[str, Any]
MONITORED = (PODS, REPLICASETS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, JOBS, CRONJOBS,
             CONTROLLERREVISIONS, SERVICES, ENDPOINTS, PVCS)
FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"


class GarbageCollector(Controller):
    """Keys are ``<plural>.<group>|namespace/name`` across every monitored resource."""

    name = "garbagecollector"
    component = "garbage-collector-controller"
    resource = REPLICASETS  # the skeleton needs a primary; every monitored kind is wired below

    def __init__(self, factory: InformerFactory, *, monitored: tuple[Resource, ...] = MONITORED,
                 **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.monitored = {self._rid(r): r for r in monitored}
        self.by_kind = {(r.api_version, r.kind): r for r in monitored}
        self.clients = {rid: ResourceClient(self.api_client, r) for rid, r in self.monitored.items()}
        self.informers = {rid: factory.informer(r) for rid, r in self.monitored.items()}
        for rid in self.monitored:
            self.informers[rid].add_event_handler(EventHandler(
                on_add=lambda o, rid=rid: self._changed(rid, o),
                on_update=lambda _old, new, rid=rid: self._changed(rid, new),
                on_delete=lambda o, rid=rid: self._deleted(rid, o)))
        self.deleted_dependents = 0
        self.orphaned_dependents = 0

    @staticmethod
    def _rid(resource: Resource) -> str:
        return f"{resource.plural}.{resource.group}" if resource.group else resource.plural

    def enqueue(self, obj: Any) -> None:
        return  # the primary's own handler is replaced by the per-resource ones below

    # --- the graph ---------------------------------------------------------------------------------
    def _changed(self, rid: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        if meta.get("ownerReferences") or meta.get("deletionTimestamp"):
            self.queue.add(f"{rid}|{meta_namespace_key(obj)}")

    def _deleted(self, rid: str, obj: Any) -> None:
        gone = object_of(obj)
        # the owner is gone: every dependent must be looked at again
        for dependent_rid, dependent in self.dependents_of(gone):
            self.queue.add(f"{dependent_rid}|{meta_namespace_key(dependent)}")
        # a dependent is gone: an owner waiting in the foreground may now finish
        namespace = gone["metadata"].get("namespace", "")
        for ref in gone["metadata"].get("ownerReferences") or []:
            resource = self.by_kind.get((ref.get("apiVersion"), ref.get("kind")))
            if resource is not None:
                owner_ns = namespace if resource.namespaced else ""
                key = f"{owner_ns}/{ref.get('name')}" if owner_ns else str(ref.get("name"))
                self.queue.add(f"{self._rid(resource)}|{key}")

    def dependents_of(self, owner: Obj) -> list[tuple[str, Obj]]:
        uid = owner["metadata"].get("uid")
        return [(rid, obj) for rid, informer in self.informers.items()
                for obj in informer.store.by_index(OWNER_INDEX, uid)] if uid else []

    def owner_exists(self, ref: Obj, namespace: str) -> bool | None:
        """Is the owner with this uid there? None when its kind is not monitored (don't judge)."""
        resource = self.by_kind.get((ref.get("apiVersion"), ref.get("kind")))
        if resource is None:
            return None
        try:
            live = self.clients[self._rid(resource)].get(namespace if resource.namespaced else "",
                                                         ref.get("name", ""))
        except Exception as err:
            if is_status(err, 404):
                return False
            raise
        return live["metadata"].get("uid") == ref.get("uid")

    # --- reconcile ------------------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        rid, object_key = key.split("|", 1)
        namespace, name = split_key(object_key)
        obj = self.informers[rid].get(namespace, name)
        if obj is None:
            return None
        finalizers = obj["metadata"].get("finalizers") or []
        if obj["metadata"].get("deletionTimestamp"):
            if ORPHAN in finalizers:
                return self._orphan_dependents(rid, obj)
            if FOREGROUND in finalizers:
                return self._delete_dependents_first(rid, obj)
            return None
        if not obj["metadata"].get("ownerReferences"):
            return None
        # subtle: decide on the live object, not the cache; an orphaning patch may not be
        # in the cache yet, and deleting on stale ownerReferences would lose a live Pod
        try:
            live = self.clients[rid].get(namespace, name)
        except Exception as err:
            if is_status(err, 404):
                return None
            raise
        if live["metadata"].get("uid") != obj["metadata"].get("uid"):
            return None
        obj = live
        refs = obj["metadata"].get("ownerReferences") or []
        present = {ref.get("uid"): self.owner_exists(ref, namespace) for ref in refs}
        dangling = [ref for ref in refs if present[ref.get("uid")] is False]
        if not dangling:
            return None
        if len(dangling) == len(refs):
            # every owner is gone: background cascading deletion of this dependent
            self._delete(rid, obj, None)
            self.deleted_dependents += 1
        else:
            kept = [ref for ref in refs if ref not in dangling]
            self._patch_owners(rid, obj, kept)
        return None

    def live_dependents_of(self, owner: Obj) -> list[tuple[str, Obj]]:
        """Dependents as the API server has them now (in the owner's namespace)."""
        uid, namespace = owner["metadata"]["uid"], owner["metadata"].get("namespace", "")
        found = []
        for rid, client in self.clients.items():
            for item in client.list(namespace if client.resource.namespaced else "")["items"]:
                if any(r.get("uid") == uid for r in item["metadata"].get("ownerReferences") or []):
                    found.append((rid, item))
        return found

    def _orphan_dependents(self, rid: str, owner: Obj) -> float | None:
        uid = owner["metadata"]["uid"]
        # subtle: orphaning cannot be undone, so ask the API server, not a cache that may
        # not have seen a dependent created a moment ago
        for dependent_rid, dependent in self.live_dependents_of(owner):
            refs = [r for r in dependent["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            self._patch_owners(dependent_rid, dependent, refs)
            self.orphaned_dependents += 1
        self._remove_finalizer(rid, owner, ORPHAN)
        return None

    def _delete_dependents_first(self, rid: str, owner: Obj) -> float | None:
        blocking = 0
        for dependent_rid, dependent in self.dependents_of(owner):
            ref = next(r for r in dependent["metadata"]["ownerReferences"]
                       if r.get("uid") == owner["metadata"]["uid"])
            if not dependent["metadata"].get("deletionTimestamp"):
                self._delete(dependent_rid, dependent, "Foreground")
                self.deleted_dependents += 1
            if ref.get("blockOwnerDeletion"):
                blocking += 1
        if blocking:
            return 1.0  # look again: the dependents' deletion events will also wake us
        self._remove_finalizer(rid, owner, FOREGROUND)
        return None

    # --- writes -------------------------------------------------------------------------------------------
    def _delete(self, rid: str, obj: Obj, policy: str | None) -> None:
        meta = obj["metadata"]
        try:
            # the uid precondition: never delete a same-named successor
            self.clients[rid].delete(meta.get("namespace", ""), meta["name"], propagation_policy=policy,
                                     preconditions={"uid": meta["uid"]})
        except Exception as err:
            if not is_status(err, 404, 409):
                raise

    def _patch_owners(self, rid: str, obj: Obj, refs: list[Obj]) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": refs or None, "resourceVersion": meta["resourceVersion"]}}
        try:
            self.clients[rid].patch(meta.get("namespace", ""), meta["name"], patch)
        except Exception as err:
            if not is_status(err, 404):
                raise

    def _remove_finalizer(self, rid: str, obj: Obj, finalizer: str) -> None:
        updated = copy.deepcopy(obj)
        updated["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or []
                                             if f != finalizer]
        try:
            self.clients[rid].update(updated)
        except Exception as err:
            if not is_status(err, 404):
                raise

"""Deletion: finalizers, graceful deletion of Pods, propagation policies.

Models the delete path of kube-apiserver's generic registry
(``BeforeDelete`` and ``updateForGracefulDeletionAndFinalizers`` in
``registry/generic/registry/store.go``):

- an object with ``finalizers`` is not removed: it gets a
  ``deletionTimestamp`` and stays until the controllers that own those
  finalizers remove them (the update that removes the last one removes the
  object);
- ``propagationPolicy: Foreground`` adds the ``foregroundDeletion``
  finalizer, ``Orphan`` the ``orphan`` finalizer — the garbage collector
  (controllers chapter) acts on them; ``Background`` (the default) removes the
  object at once and leaves the dependents to the collector;
- a Pod bound to a node is deleted *gracefully*: it gets a deletionTimestamp
  ``terminationGracePeriodSeconds`` in the future, and its kubelet confirms
  with a second delete of grace period 0 once the containers are stopped;
- preconditions (``uid``, ``resourceVersion``) turn a delete of the wrong
  object into ``409 Conflict``.

Simplified: deleting a Namespace empties it before answering (see
``namespaces.py``); graceful deletion exists for Pods only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.keys import object_key, rfc3339
from fromscratch.api.store import KeyNotFound, ResourceVersionConflict

if TYPE_CHECKING:
    from fromscratch.api.auth import UserInfo
    from fromscratch.api.kinds import Kind

Obj = dict[str, Any]
# kinds whose DELETE answers with the deleted object; the rest answer with a Status
RETURNS_DELETED_OBJECT = {("", "Pod"), ("", "Service"), ("", "Namespace")}
MAX_CAS_RETRIES = 20


class DeletionMixin:
    """The delete verbs of :class:`~fromscratch.api.registry.Registry`."""

    def delete(self, kind: Kind, namespace: str, name: str, options: Obj | None = None, *,
               user: UserInfo | None = None, dry_run: bool = False) -> tuple[Obj, bool]:
        """DELETE: returns (what to answer, whether the object is gone already)."""
        options = options or {}
        current = self.get(kind, namespace, name)
        meta = current["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise errors.conflict(kind.plural, name, kind.group,
                                  f"Precondition failed: UID in precondition: {pre['uid']}, "
                                  f"UID in object meta: {meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise errors.conflict(kind.plural, name, kind.group,
                                  "Precondition failed: resourceVersion does not match")
        self._admit("DELETE", kind, namespace, None, current, user=user, dry_run=dry_run)
        if dry_run:
            return current, False
        finalizers = list(meta.get("finalizers") or [])
        policy = options.get("propagationPolicy")
        extra = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(policy or "")
        graceful = self._grace_period(kind, current, options)
        if (kind.group, kind.kind) == ("", "Namespace"):
            from fromscratch.api.namespaces import delete_namespace

            return delete_namespace(self, current), False
        if finalizers or extra or graceful:
            def mark(obj: Obj) -> Obj:
                m = obj["metadata"]
                if extra and extra not in (m.get("finalizers") or []):
                    m["finalizers"] = (m.get("finalizers") or []) + [extra]
                if not m.get("deletionTimestamp"):
                    m["deletionTimestamp"] = rfc3339(self.clock() + graceful)
                    m["deletionGracePeriodSeconds"] = graceful
                return obj
            return self._mark_deleting(kind, namespace, name, mark), False
        return self._remove(kind, namespace, name, int(meta["resourceVersion"])), True

    def _grace_period(self, kind: Kind, obj: Obj, options: Obj) -> int:
        # only Pods that a kubelet runs are deleted gracefully: the kubelet confirms with grace 0
        if (kind.group, kind.kind) != ("", "Pod") or not (obj.get("spec") or {}).get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        requested = options.get("gracePeriodSeconds")
        if requested is None:
            requested = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        if obj["metadata"].get("deletionTimestamp") and requested == 0:
            return 0
        return max(int(requested), 0) if isinstance(requested, int) else 30

    def _mark_deleting(self, kind: Kind, namespace: str, name: str,
                       mark: Callable[[Obj], Obj]) -> Obj:
        key = object_key(kind, namespace, name)
        for _ in range(MAX_CAS_RETRIES):
            current = self.get(kind, namespace, name)
            marked = mark(copy.deepcopy(current))
            if marked == current:
                return current
            try:
                stored = self.store.update(key, self._to_storage(kind, marked),
                                           expected_rv=int(current["metadata"]["resourceVersion"]))
            except ResourceVersionConflict:
                continue
            self._after(kind, "MODIFIED", stored)
            return self.to_served(kind, stored)
        raise errors.conflict(kind.plural, name, kind.group, "too many concurrent writers")

    def _remove(self, kind: Kind, namespace: str, name: str, expected_rv: int,
                default: Obj | None = None) -> Obj:
        try:
            gone = self.store.delete(object_key(kind, namespace, name), expected_rv=expected_rv)
        except KeyNotFound:
            raise errors.not_found(kind.plural, name, kind.group) from None
        except ResourceVersionConflict:
            raise errors.conflict(kind.plural, name, kind.group) from None
        self._after(kind, "DELETED", gone)
        if kind.namespaced and namespace:
            from fromscratch.api.namespaces import finish_if_terminating

            finish_if_terminating(self, namespace)
        return self.to_served(kind, gone)


"""The registry: the rules every write follows between the HTTP handler and the store.

Models kube-apiserver's generic registry (``k8s.io/apiserver/pkg/registry/generic/registry/store.go``)
and the per-kind *strategies*:

- **create**: ``generateName`` becomes a name with a random suffix; ``uid``,
  ``creationTimestamp`` and ``generation: 1`` are set; the status of a kind
  with a ``status`` subresource is reset; then defaulting, mutating admission,
  validation (``422 Invalid``), validating admission, and the store;
- **update**: optimistic concurrency — a ``metadata.resourceVersion`` in the
  body must be the current one (``409 Conflict``); the main resource cannot
  change ``status`` and the ``status`` subresource cannot change anything else;
  ``generation`` increases only when the spec changes; an update that changes
  nothing writes nothing;
- **delete** (``deletion.py``): finalizers and graceful deletion.

Simplified: there is no ``managedFields`` bookkeeping.
"""

from __future__ import annotations

import copy
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fromscratch.api import conversion, errors
from fromscratch.api.admission import AdmissionChain, AdmissionRequest, Operation
from fromscratch.api.defaults import apply_defaults, generate_job_selector, qos_class
from fromscratch.api.deletion import MAX_CAS_RETRIES, DeletionMixin
from fromscratch.api.keys import key_prefix, object_key, rfc3339
from fromscratch.api.kinds import Kind, KindRegistry
from fromscratch.api.patch.preconditions import InvalidResourceVersion, update_conflicts
from fromscratch.api.store import KeyExists, KeyNotFound, ResourceVersionConflict, Store
from fromscratch.api.validation import validate

if TYPE_CHECKING:
    from fromscratch.api.auth import UserInfo

Obj = dict[str, Any]
# an empty status as Go serialises it: fields without omitempty are written as zeros
ZERO_STATUS: dict[tuple[str, str], Obj] = {
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                            "desiredNumberScheduled": 0, "numberReady": 0},
    ("autoscaling", "HorizontalPodAutoscaler"): {"currentReplicas": 0, "desiredReplicas": 0},
    ("", "Service"): {"loadBalancer": {}},
}
GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's: no vowels, no 0/1/3


def _spec_part(obj: Obj) -> Obj:
    # what "the spec" is for generation: everything but metadata and status
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _without_rv(obj: Obj) -> Obj:
    clone = dict(obj)
    clone["metadata"] = {k: v for k, v in obj.get("metadata", {}).items()
                         if k != "resourceVersion"}
    return clone


class Registry(DeletionMixin):
    """Create, read, update and delete objects of any served kind, following the API rules."""

    def __init__(self, store: Store, kinds: KindRegistry, *,
                 admission: AdmissionChain | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.kinds = kinds
        self.admission = admission or AdmissionChain()
        self.clock = clock
        # called after every successful write of a kind: (kind, event type, object); crd.py uses it
        self.after_write: list[Callable[[Kind, str, Obj], None]] = []
        # namespaces being emptied by a DELETE (see namespaces.py)
        self.draining: set[str] = set()

    # --- versions --------------------------------------------------------------------------
    def storage_kind(self, kind: Kind) -> Kind:
        """The version objects of this resource are stored in (the preferred one)."""
        return self.kinds.versions_of(kind.group, kind.plural)[0] if not kind.custom else kind

    def to_served(self, kind: Kind, obj: Obj) -> Obj:
        stored = obj.get("apiVersion", kind.api_version).rsplit("/", 1)[-1]
        if stored == kind.version and obj.get("kind") == kind.kind:
            return obj
        result = conversion.convert(obj, kind.group, kind.kind, stored, kind.version)
        result["kind"] = kind.kind
        return result

    def _to_storage(self, kind: Kind, obj: Obj) -> Obj:
        target = self.storage_kind(kind)
        if target.version == kind.version:
            return obj
        return conversion.convert(obj, kind.group, kind.kind, kind.version, target.version)

    # --- reads -----------------------------------------------------------------------------
    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        try:
            return self.to_served(kind, self.store.get(object_key(kind, namespace, name)))
        except KeyNotFound:
            raise errors.not_found(kind.plural, name, kind.group) from None

    def list_all(self, kind: Kind, namespace: str = "") -> tuple[list[Obj], int]:
        items, rv = self.store.list(key_prefix(kind, namespace))
        return [self.to_served(kind, item) for item in items], rv

    # --- create ----------------------------------------------------------------------------
    def create(self, kind: Kind, namespace: str, body: Obj, *, user: UserInfo | None = None,
               dry_run: bool = False) -> Obj:
        obj = self._check_body(kind, namespace, body)
        meta = obj["metadata"]
        for attempt in range(5):
            if meta.get("generateName") and (not meta.get("name") or attempt):
                suffix = "".join(random.choices(GENERATE_NAME_ALPHABET, k=5))
                meta["name"] = f"{meta['generateName']}{suffix}"
            try:
                return self._create_once(kind, namespace, copy.deepcopy(obj), user, dry_run)
            except errors.APIError as err:
                # a generated name that collides is retried with another suffix
                if err.reason != "AlreadyExists" or not meta.get("generateName"):
                    raise
        raise errors.APIError(409, "AlreadyExists", "could not generate a unique name")

    def _create_once(self, kind: Kind, namespace: str, obj: Obj, user: UserInfo | None,
                     dry_run: bool) -> Obj:
        meta = obj["metadata"]
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock())
        if "status" in kind.subresources:
            meta["generation"] = 1
            obj["status"] = {}  # status is written through the status subresource only
        apply_defaults(kind.group, kind.kind, obj)
        self._prepare_create(kind, obj)
        obj = self._admit("CREATE", kind, namespace, obj, None, user=user, dry_run=dry_run)
        if dry_run:
            return obj
        key = object_key(kind, namespace, meta["name"])
        try:
            stored = self.store.create(key, self._to_storage(kind, obj))
        except KeyExists:
            raise errors.already_exists(kind.plural, meta["name"], kind.group) from None
        self._after(kind, "ADDED", stored)
        return self.to_served(kind, stored)

    def _prepare_create(self, kind: Kind, obj: Obj) -> None:
        # the per-kind PrepareForCreate steps the course relies on
        zero_status = ZERO_STATUS.get((kind.group, kind.kind))
        if zero_status is not None:
            obj["status"] = dict(zero_status)
        if (kind.group, kind.kind) == ("", "Pod"):
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
        elif (kind.group, kind.kind) == ("batch", "Job"):
            generate_job_selector(obj)
        elif (kind.group, kind.kind) == ("", "Service"):
            from fromscratch.api.services import allocate_cluster_ip

            allocate_cluster_ip(self, kind, obj)

    # --- update ----------------------------------------------------------------------------
    def update(self, kind: Kind, namespace: str, name: str, body: Obj, *,
               subresource: str = "", user: UserInfo | None = None,
               dry_run: bool = False) -> Obj:
        """PUT: replace the object (or only its status, with ``subresource="status"``)."""
        new = self._check_body(kind, namespace, body)
        if new["metadata"].get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({new['metadata'].get('name')}) does not match "
                f"the name on the URL ({name})")
        precondition = new["metadata"].get("resourceVersion") or None
        return self.guaranteed_update(
            kind, namespace, name, lambda _old: new, precondition=precondition,
            subresource=subresource, user=user, dry_run=dry_run)

    def guaranteed_update(self, kind: Kind, namespace: str, name: str,
                          change: Callable[[Obj], Obj], *, precondition: str | None = None,
                          subresource: str = "", user: UserInfo | None = None,
                          dry_run: bool = False) -> Obj:
        """Read, change, compare-and-swap; retry if someone else wrote in between.

        ``change`` gets the current object (in the served version) and returns
        the desired one.  With ``precondition`` (the resourceVersion the client
        read), a concurrent write is the client's problem: ``409 Conflict``.
        """
        key = object_key(kind, namespace, name)
        for _ in range(MAX_CAS_RETRIES):
            current = self.get(kind, namespace, name)
            current_rv = current["metadata"]["resourceVersion"]
            # optimistic concurrency: the learner's update_conflicts decides when plugged in
            try:
                stale = precondition is not None and update_conflicts(current_rv, precondition)
            except InvalidResourceVersion as err:
                raise errors.bad_request(f"invalid resourceVersion: {err}") from None
            if stale:
                raise errors.conflict(kind.plural, name, kind.group)
            new = self._merge_update(kind, current, change(copy.deepcopy(current)), subresource)
            if _without_rv(new) == _without_rv(current):
                return current  # nothing changed: no write, no event, same resourceVersion
            new = self._admit("UPDATE", kind, namespace, new, current, user=user,
                              dry_run=dry_run, subresource=subresource)
            if dry_run:
                return new
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                # the last finalizer is gone: the object can finally be removed
                return self._remove(kind, namespace, name, int(current_rv), default=new)
            try:
                stored = self.store.update(key, self._to_storage(kind, new),
                                           expected_rv=int(current_rv))
            except ResourceVersionConflict:
                continue
            except KeyNotFound:
                raise errors.not_found(kind.plural, name, kind.group) from None
            self._after(kind, "MODIFIED", stored)
            return self.to_served(kind, stored)
        raise errors.conflict(kind.plural, name, kind.group, "too many concurrent writers")

    def _merge_update(self, kind: Kind, old: Obj, new: Obj, subresource: str) -> Obj:
        """The object an update really stores, keeping what this request may not change."""
        if subresource == "status":
            result = copy.deepcopy(old)
            result["status"] = new.get("status", {})
            result["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return result
        new = copy.deepcopy(new)
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        # set by the server, never by a client
        for field in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta["namespace"] = old_meta.get("namespace") if kind.namespaced else None
        if not kind.namespaced:
            meta.pop("namespace", None)
        if "status" in kind.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        apply_defaults(kind.group, kind.kind, new)
        if "generation" in old_meta and _spec_part(new) != _spec_part(old):
            meta["generation"] = old_meta["generation"] + 1
        return new

    # --- shared steps ----------------------------------------------------------------------
    def _check_body(self, kind: Kind, namespace: str, body: Any) -> Obj:
        """The body must be an object of this kind, in this namespace."""
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON or YAML object")
        obj = copy.deepcopy(body)
        api_version, kind_name = obj.get("apiVersion"), obj.get("kind")
        if api_version is not None and api_version != kind.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({kind.api_version})")
        if kind_name is not None and kind_name != kind.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind_name}) does not match the expected kind "
                f"({kind.kind})")
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if kind.namespaced:
            given = meta.get("namespace")
            if given and namespace and given != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request")
            meta["namespace"] = namespace or given or ""
            if not meta["namespace"]:
                raise errors.bad_request("a namespaced object needs a namespace")
        else:
            meta.pop("namespace", None)
        return obj

    def _admit(self, operation: Operation, kind: Kind, namespace: str, obj: Obj | None,
               old: Obj | None, *, user: UserInfo | None, dry_run: bool,
               subresource: str = "") -> Obj:
        name = (obj or old or {}).get("metadata", {}).get("name", "")
        request = AdmissionRequest(operation, kind, namespace, name, obj, old, subresource,
                                   user, dry_run)
        if obj is not None:
            obj = self.admission.mutate(request) or obj
            # what mutating admission added is defaulted too (as for webhook patches)
            apply_defaults(kind.group, kind.kind, obj)
            if kind.custom:
                from fromscratch.api.crd import prune_custom_object

                prune_custom_object(kind, obj)
            problems = validate(kind.group, kind.kind, obj, old)
            if kind.custom:
                from fromscratch.api.crd import validate_custom_object

                problems += validate_custom_object(kind, obj)
            elif (kind.group, kind.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                from fromscratch.api.crd import validate_crd

                problems += validate_crd(obj, old)
            if problems:
                raise errors.invalid(kind.kind, name, problems, kind.group)
            request.object = obj
        self.admission.validate(request)
        return obj if obj is not None else (old or {})

    def _after(self, kind: Kind, event: str, obj: Obj) -> None:
        for hook in list(self.after_write):
            hook(kind, event, obj)

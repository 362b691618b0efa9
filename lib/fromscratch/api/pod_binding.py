"""``POST …/pods/<name>/binding``: how the scheduler assigns a Pod to a Node.

Models ``BindingREST`` in kube-apiserver's Pod storage
(``pkg/registry/core/pod/storage/storage.go``): the body is a core/v1
``Binding`` — the Pod's name and a ``target`` Node — and the API server sets
``spec.nodeName`` and the ``PodScheduled`` condition in one write, straight on
the storage layer, and only if the Pod is not bound yet.  Otherwise:
``409 Conflict`` "pod X is already assigned to node "Y"" (or "is being
deleted").  A ``metadata.uid`` or ``resourceVersion`` in the Binding is a
precondition (409 when it does not match).  The older
``POST …/namespaces/<ns>/bindings`` form names the Pod in the Binding's
``metadata.name``.

Simplified: admission plugins do not see the Binding.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.keys import object_key, rfc3339
from fromscratch.api.store import KeyNotFound, ResourceVersionConflict

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
MAX_RETRIES = 20


def _check_binding(name: str, body: Any) -> Obj:
    if not isinstance(body, dict) or body.get("kind") not in (None, "Binding") \
            or body.get("apiVersion") not in (None, "v1"):
        raise errors.bad_request("not a Binding object: the body must be a v1 Binding")
    if (body.get("metadata") or {}).get("name") != name:
        raise errors.bad_request("name in URL does not match name in Binding object")
    target = body.get("target")
    problems = []
    if not isinstance(target, dict):
        problems.append(errors.required("target"))
    else:
        if target.get("kind") not in (None, "", "Node"):
            problems.append(errors.not_supported("target.kind", target.get("kind"), ["Node"]))
        if not target.get("name"):
            problems.append(errors.required("target.name"))
    if problems:
        raise errors.invalid("Binding", name, problems)
    return body


def bind(registry: Registry, pods: Kind, namespace: str, name: str, body: Any, *,
         dry_run: bool = False) -> Obj:
    """Assign Pod ``namespace/name`` to the Binding's target Node; returns the bound Pod."""
    binding = _check_binding(name, body)
    node = binding["target"]["name"]
    meta = binding.get("metadata") or {}

    def assign(pod: Obj) -> Obj:
        pod_meta = pod["metadata"]
        # preconditions, as the storage layer checks them
        if meta.get("uid") and meta["uid"] != pod_meta.get("uid"):
            raise errors.conflict("pods", name, "", f"Precondition failed: UID in precondition: "
                                  f"{meta['uid']}, UID in object meta: {pod_meta.get('uid')}")
        if meta.get("resourceVersion") and meta["resourceVersion"] != pod_meta["resourceVersion"]:
            raise errors.conflict("pods", name, "",
                                  "Precondition failed: resourceVersion does not match")
        if pod_meta.get("deletionTimestamp"):
            raise errors.conflict("pods/binding", name, "",
                                  f"pod {name} is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict("pods/binding", name, "",
                                  f'pod {name} is already assigned to node "{current}"')
        pod["spec"]["nodeName"] = node
        if meta.get("annotations"):
            pod_meta["annotations"] = {**(pod_meta.get("annotations") or {}),
                                       **meta["annotations"]}
        _set_scheduled(pod, rfc3339(registry.clock()))
        return pod

    return storage_update(registry, pods, namespace, name, assign, dry_run=dry_run)


def _set_scheduled(pod: Obj, now: str) -> None:
    status = pod.setdefault("status", {})
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": now}
    conditions = list(status.get("conditions") or [])
    for index, condition in enumerate(conditions):
        if condition.get("type") == "PodScheduled":  # replaced where it stands, else appended
            conditions[index] = scheduled
            break
    else:
        conditions.append(scheduled)
    status["conditions"] = conditions


def storage_update(registry: Registry, kind: Kind, namespace: str, name: str, change, *,
                   dry_run: bool = False) -> Obj:
    """A compare-and-swap loop straight on the store, as ``BindingREST`` uses
    ``Storage.GuaranteedUpdate``: spec and status change together, no admission."""
    key = object_key(kind, namespace, name)
    for _ in range(MAX_RETRIES):
        current = registry.get(kind, namespace, name)
        changed = change(copy.deepcopy(current))
        if dry_run:
            return changed
        try:
            stored = registry.store.update(key, registry._to_storage(kind, changed),
                                           expected_rv=int(current["metadata"]["resourceVersion"]))
        except ResourceVersionConflict:
            continue
        except KeyNotFound:
            raise errors.not_found(kind.plural, name, kind.group) from None
        registry._after(kind, "MODIFIED", stored)
        return registry.to_served(kind, stored)
    raise errors.conflict(kind.plural, name, kind.group, "too many concurrent writers")

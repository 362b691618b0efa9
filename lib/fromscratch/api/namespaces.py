"""Namespaces: the lifecycle admission check and namespace deletion.

Models two pieces of real Kubernetes:

- the ``NamespaceLifecycle`` admission plugin: no new object in a namespace
  that does not exist (``404 NotFound``) or is being deleted
  (``403 Forbidden``, "because it is being terminated");
- the namespace controller: deleting a Namespace marks it ``Terminating``,
  deletes everything in it, and removes it once it is empty.

Simplified: the real namespace controller empties the namespace in the
background; here the DELETE request does it before answering.  Objects that
wait on finalizers keep the namespace ``Terminating`` until they are gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.admission import AdmissionRequest

if TYPE_CHECKING:
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def namespace_lifecycle(registry: Registry):
    """The NamespaceLifecycle admission function for ``registry``."""

    def admit(request: AdmissionRequest) -> None:
        if request.operation != "CREATE" or not request.kind.namespaced:
            return
        kind = registry.kinds.lookup("", "v1", "namespaces")
        assert kind is not None
        namespace = registry.get(kind, "", request.namespace)  # 404 if it does not exist
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.forbidden_error(
                f'{request.kind.plural} "{request.name}" is forbidden: unable to create new '
                f"content in namespace {request.namespace} because it is being terminated",
                resource=request.kind.plural, name=request.name, group=request.kind.group)

    return admit


def create_initial_namespaces(registry: Registry) -> None:
    kind = registry.kinds.lookup("", "v1", "namespaces")
    assert kind is not None
    for name in INITIAL_NAMESPACES:
        try:
            registry.create(kind, "", {"metadata": {"name": name}})
        except errors.APIError as err:
            if err.reason != "AlreadyExists":
                raise


def _namespaced_kinds(registry: Registry) -> list:
    seen, result = set(), []
    for kind in registry.kinds.all():
        if kind.namespaced and kind.storage_key not in seen:
            seen.add(kind.storage_key)
            result.append(kind)
    return result


def delete_namespace(registry: Registry, namespace: Obj) -> Obj:
    """Mark the namespace Terminating, delete its contents, remove it if it is empty."""
    kind = registry.kinds.lookup("", "v1", "namespaces")
    assert kind is not None
    name = namespace["metadata"]["name"]

    def terminating(obj: Obj) -> Obj:
        obj["metadata"].setdefault("deletionTimestamp",
                                   obj["metadata"].get("deletionTimestamp")
                                   or _now(registry))
        obj.setdefault("status", {})["phase"] = "Terminating"
        return obj

    marked = registry._mark_deleting(kind, "", name, terminating)
    registry.draining.add(name)  # subtle: no "is it empty yet?" check per deleted object
    try:
        for content_kind in _namespaced_kinds(registry):
            items, _ = registry.list_all(content_kind, name)
            for item in items:
                try:
                    registry.delete(content_kind, name, item["metadata"]["name"],
                                    {"gracePeriodSeconds": 0})
                except errors.APIError as err:
                    if err.reason != "NotFound":
                        raise
    finally:
        registry.draining.discard(name)
    return finish_if_terminating(registry, name) or marked


def _now(registry: Registry) -> str:
    from fromscratch.api.registry import rfc3339

    return rfc3339(registry.clock())


def finish_if_terminating(registry: Registry, name: str) -> Obj | None:
    """Remove a Terminating namespace once nothing is left in it; returns it if removed."""
    if name in registry.draining:
        return None
    kind = registry.kinds.lookup("", "v1", "namespaces")
    assert kind is not None
    try:
        namespace = registry.get(kind, "", name)
    except errors.APIError:
        return None
    if not namespace["metadata"].get("deletionTimestamp"):
        return None
    for content_kind in _namespaced_kinds(registry):
        if registry.list_all(content_kind, name)[0]:
            return None
    return registry._remove(kind, "", name, int(namespace["metadata"]["resourceVersion"]))

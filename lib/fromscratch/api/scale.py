"""The ``scale`` subresource: one small object to read and set a workload's replicas.

Models ``autoscaling/v1`` ``Scale``: ``kubectl scale`` and the
HorizontalPodAutoscaler do not need to understand Deployments, ReplicaSets,
StatefulSets or custom resources — they read and write
``/…/<resource>/<name>/scale``::

    {"kind": "Scale", "apiVersion": "autoscaling/v1",
     "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}}

For a custom resource, the CRD's ``subresources.scale`` says where the
replicas and the selector live (``specReplicasPath`` ...).  The Scale's
resourceVersion is its parent's, so optimistic concurrency carries over.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.kinds import ScalePaths

if TYPE_CHECKING:
    from fromscratch.api.auth import UserInfo
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]


def _get_path(obj: Obj, path: str | None) -> Any:
    if not path:
        return None
    value: Any = obj
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set_path(obj: Obj, path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def _selector_text(selector: Any) -> str:
    if isinstance(selector, str):
        return selector
    if not isinstance(selector, dict):
        return ""
    from fromscratch.api.selectors import label_selector_from_dict

    return str(label_selector_from_dict(selector))


def scale_of(kind: Kind, obj: Obj) -> Obj:
    """The Scale view of a workload object."""
    paths = kind.scale or ScalePaths()
    meta = obj["metadata"]
    if kind.custom:
        selector = _get_path(obj, paths.label_selector) or ""
    else:
        selector = _selector_text((obj.get("spec") or {}).get("selector"))
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp") if k in meta}
    status: Obj = {"replicas": _get_path(obj, paths.status_replicas) or 0}
    if selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
            "spec": {"replicas": _get_path(obj, paths.spec_replicas) or 0}, "status": status}


def get_scale(registry: Registry, kind: Kind, namespace: str, name: str) -> Obj:
    return scale_of(kind, registry.get(kind, namespace, name))


def update_scale(registry: Registry, kind: Kind, namespace: str, name: str, *,
                 new_scale: Obj | None = None, patch_type: str = "", patch: bytes = b"",
                 user: UserInfo | None = None, dry_run: bool = False) -> Obj:
    """PUT (``new_scale``) or PATCH (``patch_type`` + ``patch``) the Scale; returns the new Scale."""
    paths = kind.scale or ScalePaths()
    precondition = None
    if new_scale is not None:
        if not isinstance(new_scale, dict) or new_scale.get("kind") not in (None, "Scale"):
            raise errors.bad_request("the body of a scale update must be a Scale object")
        precondition = (new_scale.get("metadata") or {}).get("resourceVersion") or None

    def change(current: Obj) -> Obj:
        scale = scale_of(kind, current)
        if new_scale is not None:
            wanted = new_scale
        else:
            from fromscratch.api.patching import apply_patch

            scale_kind = _ScaleKind()
            wanted = apply_patch(scale_kind, copy.deepcopy(scale), patch_type, patch)  # type: ignore[arg-type]
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid("Scale", name, [errors.invalid_value(
                "spec.replicas", replicas, "must be greater than or equal to 0")],
                "autoscaling")
        updated = copy.deepcopy(current)
        _set_path(updated, paths.spec_replicas, replicas)
        return updated

    obj = registry.guaranteed_update(kind, namespace, name, change, precondition=precondition,
                                     user=user, dry_run=dry_run)
    return scale_of(kind, obj)


class _ScaleKind:
    """Just enough of a Kind for apply_patch: Scale has no merge keys."""

    kind = "Scale"
    custom = False
    plural = "scale"
    group = "autoscaling"


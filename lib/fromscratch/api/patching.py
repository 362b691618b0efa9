"""PATCH requests: choose the patch format from the Content-Type, apply, update.

Models the patch handler of kube-apiserver (``endpoints/handlers/patch.go``).
The ``Content-Type`` says how to read the body:

| Content-Type                              | format                                   |
|-------------------------------------------|------------------------------------------|
| ``application/json-patch+json``           | JSON Patch (RFC 6902): a list of ops     |
| ``application/merge-patch+json``          | JSON Merge Patch (RFC 7386)              |
| ``application/strategic-merge-patch+json``| Strategic Merge Patch (lists merged by key) |
| ``application/apply-patch+yaml``          | server-side apply                         |

The patch is applied to the current object and the result goes through the
ordinary update path (admission, validation, optimistic concurrency), retried
if another writer got in first.  A ``metadata.resourceVersion`` inside the
patch is a precondition: ``409 Conflict`` if the object has moved on.

Simplified: strategic merge patch is refused for custom resources (as the real
server does, ``415``); server-side apply is not implemented and answers
``415 UnsupportedMediaType`` — clients use client-side ``kubectl apply``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors

if TYPE_CHECKING:
    from fromscratch.api.auth import UserInfo
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH]


PATCH_ERROR_CODES = {"BadRequest": 400, "Conflict": 409, "Invalid": 422,
                     "UnsupportedMediaType": 415}


def check_patch_type(kind: Kind, patch_type: str) -> None:
    """415 UnsupportedMediaType unless this server can apply ``patch_type`` to ``kind``."""
    if patch_type == APPLY_PATCH:
        raise errors.unsupported_media_type(
            patch_type + " (server-side apply is not supported by this server; "
            "use client-side kubectl apply)", PATCH_TYPES)
    if patch_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(patch_type, PATCH_TYPES)
    if patch_type == STRATEGIC_MERGE_PATCH and kind.custom:
        raise errors.unsupported_media_type(
            "strategic merge patch is not supported for custom resources", PATCH_TYPES)


def apply_patch(kind: Kind, current: Obj, patch_type: str, body: bytes) -> Obj:
    """``current`` with the patch in ``body`` applied (raises a 4xx APIError on bad input)."""
    from fromscratch.api import patch as patches

    check_patch_type(kind, patch_type)
    if patch_type == STRATEGIC_MERGE_PATCH:
        if patches.root_type(kind.kind) is None:
            # a built-in type without list merge keys (Scale): strategic merge is a merge patch
            patch_type = MERGE_PATCH
    try:
        patch = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise errors.bad_request(f"the patch is not valid JSON: {err}") from None
    try:
        return patches.apply_patch(current, patch, patch_type, kind=kind.kind)
    except patches.PatchError as err:
        code = PATCH_ERROR_CODES.get(err.reason, 422)
        reason = err.reason if err.reason in PATCH_ERROR_CODES else "Invalid"
        raise errors.APIError(code, reason, f"the patch could not be applied: {err}") from None
    except RecursionError:
        raise errors.bad_request("the patch is nested too deeply") from None


def patch_object(registry: Registry, kind: Kind, namespace: str, name: str, patch_type: str,
                 body: bytes, *, subresource: str = "", user: UserInfo | None = None,
                 dry_run: bool = False, check: Callable[[Obj], None] | None = None) -> Obj:
    """PATCH one object (or its ``status``) and store the result.

    ``check`` sees the patched object before it is stored (field validation).
    """

    def change(current: Obj) -> Obj:
        rv = current["metadata"]["resourceVersion"]
        patched = apply_patch(kind, current, patch_type, body)
        meta = patched.get("metadata")
        if not isinstance(meta, dict):
            raise errors.bad_request("the patch removed metadata")
        if meta.get("resourceVersion") not in (None, rv):
            # a resourceVersion in the patch is a precondition
            raise errors.conflict(kind.plural, name, kind.group)
        meta["resourceVersion"] = rv
        if check is not None:
            check(patched)
        for field, expected in (("apiVersion", kind.api_version), ("kind", kind.kind)):
            if patched.get(field) != expected:
                raise errors.bad_request(f"the patch may not change {field}")
        if meta.get("name") != name:
            raise errors.bad_request("the patch may not change metadata.name")
        return patched

    return registry.guaranteed_update(kind, namespace, name, change, subresource=subresource,
                                      user=user, dry_run=dry_run)

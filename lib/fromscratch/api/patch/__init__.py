"""Patches: how a client changes part of an object without sending all of it.

``PATCH`` requests carry one of three content types (kube-apiserver's
``patchResource``), each a module here:

==========================================  ===================  ======================
Content-Type                                module               ``kubectl patch --type``
==========================================  ===================  ======================
``application/json-patch+json``             ``jsonpatch``        ``json``  (RFC 6902)
``application/merge-patch+json``            ``mergepatch``       ``merge`` (RFC 7386)
``application/strategic-merge-patch+json``  ``strategic``        ``strategic`` (default)
==========================================  ===================  ======================

``mergekeys`` holds the merge keys of the built-in kinds, ``diff`` computes
strategic patches (two- and three-way), ``apply`` is client-side ``kubectl
apply`` and ``preconditions`` decides when an update conflicts.
:func:`apply_patch` is what the server calls.
"""

from __future__ import annotations

import json
from typing import Any

from fromscratch.api.patch.apply import LAST_APPLIED, apply_patch_for, last_applied, with_last_applied
from fromscratch.api.patch.diff import diff_maps, three_way_merge, two_way_merge
from fromscratch.api.patch.errors import PatchError
from fromscratch.api.patch.jsonpatch import apply_json_patch, json_equal, parse_pointer
from fromscratch.api.patch.mergekeys import KIND_TYPES, TYPES, root_type
from fromscratch.api.patch.mergepatch import create_merge_patch, merge_patch, three_way_merge_patch
from fromscratch.api.patch.preconditions import (
    InvalidResourceVersion,
    parse_resource_version,
    update_conflicts,
)
from fromscratch.api.patch.strategic import merge_list_by_key, strategic_merge_patch

json_patch = apply_json_patch  # the name the API server's PATCH handler uses
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)


def apply_patch(obj: dict[str, Any], patch: Any, content_type: str, *,
                kind: str | None = None) -> dict[str, Any]:
    """Apply ``patch`` (parsed JSON, or bytes/str to parse) of ``content_type`` to ``obj``.

    Raises :class:`PatchError` whose ``reason`` maps to a Status: ``BadRequest``
    (malformed), ``Invalid`` (does not fit), ``Conflict`` (a failed JSON Patch
    ``test``) or ``UnsupportedMediaType`` (unknown type, or strategic merge
    for a kind without a schema).
    """
    media = content_type.split(";")[0].strip().lower()
    if media not in PATCH_TYPES:
        raise PatchError(f"unsupported patch content type {content_type!r}; supported: "
                         f"{', '.join(PATCH_TYPES)}", reason="UnsupportedMediaType")
    if isinstance(patch, bytes | str):
        try:
            patch = json.loads(patch)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise PatchError(f"the patch is not valid JSON: {err}", reason="BadRequest") from None
    if media == JSON_PATCH:
        result = apply_json_patch(obj, patch)
    elif media == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise PatchError("a merge patch for an object must be a JSON object",
                             reason="BadRequest")
        result = merge_patch(obj, patch)
    else:
        result = strategic_merge_patch(obj, patch, kind or obj.get("kind"))
    if not isinstance(result, dict):
        raise PatchError("the patch turned the object into something that is not an object")
    return result


__all__ = [
    "APPLY_PATCH", "JSON_PATCH", "KIND_TYPES", "LAST_APPLIED", "MERGE_PATCH", "PATCH_TYPES",
    "STRATEGIC_MERGE_PATCH", "TYPES", "InvalidResourceVersion", "PatchError", "apply_json_patch",
    "apply_patch", "apply_patch_for", "create_merge_patch", "diff_maps", "json_equal", "json_patch",
    "last_applied", "merge_list_by_key", "merge_patch", "parse_pointer", "parse_resource_version",
    "root_type", "strategic_merge_patch", "three_way_merge", "three_way_merge_patch",
    "two_way_merge", "update_conflicts", "with_last_applied",
]

"""RFC 7386 JSON Merge Patch: ``kubectl patch --type=merge``, and its three-way form.

A merge patch looks like the object itself and says "make these fields look
like this": objects merge key by key, ``null`` deletes a key, and anything
else — strings, numbers *and lists* — replaces the old value outright::

    merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}})
    == {"a": "z", "c": {"d": "e"}}

That lists are replaced whole is why Kubernetes invented the *strategic*
merge patch (see ``strategic.py``): a merge patch cannot add one container to
a Pod without restating all the others.

``create_merge_patch`` computes the patch between two documents, and
``three_way_merge_patch`` is what ``kubectl apply`` sends for kinds it has no
Go type for (custom resources): deletions from last-applied to the new
config, plus additions and changes from the live object to the new config
(``k8s.io/apimachinery/pkg/util/jsonmergepatch``).
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.api.patch.errors import PatchError
from fromscratch.api.patch.jsonpatch import json_equal
from fromscratch.exercises import pluggable

Json = Any


@pluggable("merge_patch")
def merge_patch(target: Json, patch: Json) -> Json:
    """Apply JSON merge patch ``patch`` to ``target`` (RFC 7386 section 2); inputs are not changed.

    The API server's ``application/merge-patch+json`` handler calls this.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)  # a non-object patch replaces the whole target
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def create_merge_patch(original: Json, modified: Json) -> Json:
    """The merge patch that turns ``original`` into ``modified``."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return copy.deepcopy(modified)
    patch: dict[str, Json] = {}
    for key, value in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(original[key], dict):
            sub = create_merge_patch(original[key], value)
            if sub:
                patch[key] = sub
        elif not json_equal(original[key], value):
            patch[key] = copy.deepcopy(value)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def _keep_nulls(patch: dict[str, Json], *, keep: bool) -> dict[str, Json]:
    """Only the deletions (``keep=True``) or only the additions and changes (``keep=False``)."""
    result: dict[str, Json] = {}
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            sub = _keep_nulls(value, keep=keep)
            if sub:
                result[key] = sub
        elif (value is None) == keep:
            result[key] = value
    return result


@pluggable("three_way_merge_patch")
def three_way_merge_patch(original: Json, modified: Json, current: Json) -> dict[str, Json]:
    """The merge patch ``kubectl apply`` sends when it has no schema for the kind.

    ``original`` is the last-applied configuration, ``modified`` the new
    configuration, ``current`` the live object.  Fields another writer added
    to the live object (and that we never applied) survive; fields we applied
    before and dropped now are deleted.
    """
    for name, doc in (("original", original), ("modified", modified), ("current", current)):
        if not isinstance(doc, dict):
            raise PatchError(f"three-way merge: {name} must be an object")
    additions = _keep_nulls(create_merge_patch(current, modified), keep=False)
    deletions = _keep_nulls(create_merge_patch(original, modified), keep=True)
    # deletions first, then additions and changes on top (additions never hold nulls)
    return _merge_keeping_nulls(deletions, additions)


def _merge_keeping_nulls(base: dict[str, Json], patch: dict[str, Json]) -> dict[str, Json]:
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_keeping_nulls(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result

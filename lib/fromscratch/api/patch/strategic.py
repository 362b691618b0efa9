"""Strategic merge patch: what ``kubectl patch`` and the official client send by default.

A JSON merge patch replaces lists whole; a *strategic* merge patch knows,
from the Go types (see ``mergekeys.py``), that ``containers`` is a list keyed
by ``name`` and merges it element by element::

    pod:   {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}
    patch: {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}}
    ->     both containers; "web" untouched

Directives inside a patch (apimachinery ``pkg/util/strategicpatch``):

* ``{"$patch": "delete", "name": "web"}`` in a list removes that element;
  ``{"$patch": "replace"}`` in a list replaces the whole list with the rest;
  ``"$patch": "replace"`` in a map replaces the map, ``"delete"`` empties it;
* ``"$deleteFromPrimitiveList/finalizers": ["a"]`` removes values from a
  merged list of strings;
* ``"$retainKeys": [...]`` clears every key of the map not listed (used for
  unions such as a Deployment's ``strategy``);
* ``"$setElementOrder/containers": [{"name": ...}, ...]`` fixes the order of
  the merged list (patch items first in that order, server-only items slot
  in where they were).

Without ``$setElementOrder``, an element the patch adds goes *before* the
elements only the server had — the "kubectl patch" task page in the
Kubernetes docs shows exactly that.  Simplified: a patch's values for fields
that do not exist yet are cleaned of directives (apimachinery copies them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fromscratch.api.patch.errors import PatchError
from fromscratch.api.patch.jsonpatch import json_equal
from fromscratch.api.patch.mergekeys import Field, field_meta, root_type
from fromscratch.exercises import pluggable

Json = Any
DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


@dataclass(frozen=True)
class MergeOptions:
    """``parallel_lists``: apply ``$deleteFromPrimitiveList``/``$retainKeys`` (server side)
    rather than carry them along (when kubectl combines two patches into one).
    ``drop_nulls``: a ``null`` for a missing key vanishes instead of staying in the result."""

    parallel_lists: bool = True
    drop_nulls: bool = True


SERVER = MergeOptions()
COMBINE = MergeOptions(parallel_lists=False, drop_nulls=False)


def json_kind(value: Json) -> str:
    """The JSON type of a value — what Go's ``reflect.TypeOf`` compares."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {dict: "map", list: "list", str: "string"}.get(type(value), type(value).__name__)


def strategies(field: Field) -> tuple[str, bool]:
    """(the list/map strategy, whether retainKeys is also set) from a ``patchStrategy`` tag."""
    parts = [p for p in field.strategy.split(",") if p]
    retain = "retainKeys" in parts
    rest = [p for p in parts if p != "retainKeys"]
    return (rest[0] if rest else ""), retain


# --- the exercise: merge two lists of objects by their merge key -------------


@pluggable("merge_list_by_key")
def merge_list_by_key(
    original: list[dict[str, Json]],
    patch: list[dict[str, Json]],
    merge_key: str,
    merge_item: Callable[[dict[str, Json], dict[str, Json]], dict[str, Json]],
) -> list[dict[str, Json]]:
    """Merge ``patch`` into ``original``, both lists of objects identified by ``merge_key``.

    * a patch element ``{"$patch": "delete", key: v}`` removes the element(s) with that key;
    * a patch element ``{"$patch": "replace"}`` makes the result just the other patch elements;
    * a patch element whose key matches an original element is merged into it with
      ``merge_item(old, new)`` (the library passes its recursive strategic merge);
    * any other patch element is added.

    Order is fixed afterwards by the caller; the API server calls this for every
    merged list (containers, ports, env, volumes …).
    """
    result = list(original)
    plain: list[dict[str, Json]] = []
    replace = False
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"merging list by {merge_key!r}: element {item!r} is not an object")
        directive = item.get(DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise PatchError(f"map {item} does not contain declared merge key {merge_key!r}")
            result = [o for o in result if not json_equal(o.get(merge_key), item[merge_key])]
        elif directive == "replace":
            replace = True  # keep going: other directives in the list are pruned too
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type {directive!r} in {item}")
    if replace:
        return plain
    for item in plain:
        if merge_key not in item:
            raise PatchError(f"map {item} does not contain declared merge key {merge_key!r}")
        for index, old in enumerate(result):
            if isinstance(old, dict) and json_equal(old.get(merge_key), item[merge_key]):
                result[index] = merge_item(old, item)
                break
        else:
            result.append(item)
    return result


# --- ordering (apimachinery normalizeElementOrder / mergeSortedSlice) ---------


def _index(items: list[Json], item: Json, merge_key: str) -> int:
    """Position of ``item`` in ``items``, comparing merge-key values (or whole scalars)."""
    want = item.get(merge_key) if merge_key and isinstance(item, dict) else item
    for position, candidate in enumerate(items):
        have = candidate.get(merge_key) if merge_key and isinstance(candidate, dict) else candidate
        if json_equal(have, want):
            return position
    return -1


def _sort_by(items: list[Json], order: list[Json], merge_key: str) -> list[Json]:
    """Stable sort by position in ``order``; ``$patch: delete`` elements go last."""
    deletes = [i for i in items if merge_key and isinstance(i, dict) and i.get(DIRECTIVE) == "delete"]
    rest = [i for i in items if not any(i is d for d in deletes)]
    known = [i for i in rest if _index(order, i, merge_key) >= 0]
    unknown = [i for i in rest if _index(order, i, merge_key) < 0]
    return sorted(known, key=lambda i: _index(order, i, merge_key)) + unknown + deletes


def normalize_order(merged: list[Json], patch_order: list[Json], server_order: list[Json],
                    merge_key: str) -> list[Json]:
    """Patch items in patch order; server-only items keep their order and slot in before
    the first patch item that followed them on the server."""
    in_patch = [m for m in merged if _index(patch_order, m, merge_key) >= 0]
    server_only = [m for m in merged if _index(patch_order, m, merge_key) < 0]
    right = _sort_by(in_patch, patch_order, merge_key)
    left = _sort_by(server_only, server_order, merge_key)
    result, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            result.append(left[i])
            i += 1
        elif i >= len(left):
            result.append(right[j])
            j += 1
        else:
            li, ri = _index(server_order, left[i], merge_key), _index(server_order, right[j], merge_key)
            # subtle: a patch item the server never had wins the tie, so it goes first
            if li >= 0 and ri >= 0 and li < ri:
                result.append(left[i])
                i += 1
            else:
                result.append(right[j])
                j += 1
    return result


# --- merging maps and lists ---------------------------------------------------


def _element_kind(*lists: list[Json]) -> str | None:
    kinds = {json_kind(v) for values in lists for v in values}
    if "list" in kinds:
        raise PatchError("lists of lists are not supported by strategic merge patch")
    if len(kinds) > 1:
        raise PatchError(f"list element types are not identical: {sorted(kinds)}")
    return kinds.pop() if kinds else None


def merge_slice(original: list[Json], patch: list[Json], field: Field, options: MergeOptions,
                *, delete_list: bool = False) -> list[Json]:
    """Merge two lists under a ``merge`` strategy (mergeSlice)."""
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind != "map":
        if options.parallel_lists and delete_list:
            return [v for v in original if _index(patch, v, "") < 0]
        merged: list[Json] = []
        for value in original + patch:  # union, first occurrence wins
            if _index(merged, value, "") < 0:
                merged.append(value)
        return normalize_order(merged, patch, original, "")
    if not field.merge_key:
        raise PatchError("cannot merge lists of objects without a merge key")

    def merge_item(old: dict[str, Json], new: dict[str, Json]) -> dict[str, Json]:
        return merge_map(old, new, field.type, options)

    merged = merge_list_by_key(original, patch, field.merge_key, merge_item)
    plain = [p for p in patch if DIRECTIVE not in p]
    if any(p.get(DIRECTIVE) == "replace" for p in patch):
        return normalize_order(merged, [], plain, field.merge_key)
    return normalize_order(merged, plain, original, field.merge_key)


def _merge_value(original: Json, patch: Json, field: Field, options: MergeOptions,
                 *, delete_list: bool = False) -> Json:
    """Merge two values of the same JSON kind under the field's strategy."""
    strategy, _ = strategies(field)
    if isinstance(original, dict):
        return patch if strategy == "replace" else merge_map(original, patch, field.type, options)
    if isinstance(original, list):
        if strategy == "merge":
            return merge_slice(original, patch, field, options, delete_list=delete_list)
        return patch
    return patch


def _fresh(value: Json, field: Field, options: MergeOptions) -> Json:
    """A patch value for a field the original lacks, with its directives processed."""
    if not options.parallel_lists:
        return value  # combining patches: keep directives for the server
    if isinstance(value, dict):
        return merge_map({}, value, field.type, options)
    if isinstance(value, list) and strategies(field)[0] == "merge" and value:
        return merge_slice([], value, field, options)
    return value


def _apply_retain_keys(original: dict[str, Json], patch: dict[str, Json],
                       options: MergeOptions) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not options.parallel_lists:
        if RETAIN_KEYS in original and not json_equal(original[RETAIN_KEYS], retain):
            raise PatchError(f"{original[RETAIN_KEYS]} and {retain} are not equal $retainKeys")
        original[RETAIN_KEYS] = retain
        return
    if not isinstance(retain, list):
        raise PatchError("$retainKeys must be a list of field names")
    for key, value in patch.items():
        directive = key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER))
        if value is not None and not directive and key not in retain:
            raise PatchError(f"field {key!r} is in the patch but not in $retainKeys {retain}")
    for key in [k for k in original if k not in retain]:
        del original[key]


def _validate_order(patch_list: list[Json], order: list[Json], merge_key: str) -> None:
    """Every (non-deleting) patch element must appear in $setElementOrder, in that order."""
    items = [p for p in patch_list if not (isinstance(p, dict) and DIRECTIVE in p)]
    position = 0
    for item in items:
        while position < len(order) and _index([order[position]], item, merge_key) < 0:
            position += 1
        if position >= len(order):
            raise PatchError(f"the order in patch list {patch_list} doesn't match "
                             f"$setElementOrder list {order}")
        position += 1


def _apply_element_orders(original: dict[str, Json], patch: dict[str, Json], type_name: str | None,
                          options: MergeOptions) -> None:
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not options.parallel_lists:
            if key in original and not json_equal(original[key], order):
                raise PatchError(f"conflicting {key} lists")
            original[key] = order
        name = key[len(SET_ELEMENT_ORDER):]
        if not isinstance(order, list) or not name:
            raise PatchError(f"{key} must name a field and hold a list")
        field = field_meta(type_name, name)
        old, new = original.get(name), patch.get(name)
        for label, value in (("original", old), ("patch", new)):
            if value is not None and not isinstance(value, list):
                raise PatchError(f"{key}: the {label} value of {name!r} is not a list")
        if new is not None:
            _validate_order(new, order, field.merge_key)
        if old is None and new is None:
            continue
        if new is None:
            merged = old
        elif old is None:
            merged = new
        else:
            merged = _merge_value(old, new, field, options)
        original[name] = normalize_order(merged, order, old or [], field.merge_key)
        patch.pop(name, None)


def merge_map(original: dict[str, Json], patch: dict[str, Json], type_name: str | None,
              options: MergeOptions = SERVER) -> dict[str, Json]:
    """Merge ``patch`` into ``original`` (mergeMap).  Both are modified: pass copies."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            return {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type {directive!r} for a map")
    _apply_retain_keys(original, patch, options)
    _apply_element_orders(original, patch, type_name, options)
    for key, value in patch.items():
        delete_list = False
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            if not options.parallel_lists:
                original[key] = value
                continue
            key, delete_list = key[len(DELETE_FROM_PRIMITIVE_LIST):], True
        field = field_meta(type_name, key)
        if value is None:
            original.pop(key, None)
            if options.drop_nulls:
                continue
        if key not in original:
            if not delete_list:  # deleting from a list that is not there: nothing to do
                original[key] = _fresh(value, field, options)
            continue
        if json_kind(original[key]) != json_kind(value):
            original[key] = _fresh(value, field, options)
            continue
        original[key] = _merge_value(original[key], value, field, options, delete_list=delete_list)
    return original


def strategic_merge_patch(original: dict[str, Json], patch: dict[str, Json],
                          kind: str | None) -> dict[str, Json]:
    """Apply a strategic merge patch to an object of ``kind``; the inputs are not changed."""
    type_name = root_type(kind)
    if type_name is None:
        raise PatchError(f"strategic merge patch is not supported for kind {kind!r}; "
                         "use a JSON merge patch or a JSON patch", reason="UnsupportedMediaType")
    if not isinstance(original, dict) or not isinstance(patch, dict):
        raise PatchError("a strategic merge patch and its target must be JSON objects",
                         reason="BadRequest")
    return merge_map(copy.deepcopy(original), copy.deepcopy(patch), type_name, SERVER)

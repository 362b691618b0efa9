"""Computing strategic merge patches: the two-way diff, and the three-way one ``kubectl apply`` sends.

``kubectl apply -f web.yaml`` does not send your file.  It compares three
documents (apimachinery ``strategicpatch.CreateThreeWayMergePatch``):

* *original* — what you applied last time (kept on the object in the
  ``kubectl.kubernetes.io/last-applied-configuration`` annotation);
* *modified* — what you apply now;
* *current* — the live object, including fields other writers set
  (``status``, a controller's annotations, an HPA's ``replicas``).

The patch is *deletions* (fields in original but gone from modified: you
removed them from your file) plus *changes and additions* (fields where
current differs from modified).  Fields nobody mentioned in either file are
left alone — that is how several writers share one object.

Lists with a merge key are diffed element by element; a removed element
becomes ``{"$patch": "delete", "name": ...}``, a removed string from a merged
list of strings goes to ``$deleteFromPrimitiveList/<field>``, and
``$setElementOrder/<field>`` records the order of the new list.  Fields with
the ``retainKeys`` strategy get a ``$retainKeys`` list.  Simplified: no
conflict detection (kubectl's default ``--overwrite=true`` skips it too).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from fromscratch.api.patch.errors import PatchError
from fromscratch.api.patch.jsonpatch import json_equal
from fromscratch.api.patch.mergekeys import Field, field_meta, root_type
from fromscratch.api.patch.strategic import (
    COMBINE,
    DELETE_FROM_PRIMITIVE_LIST,
    DIRECTIVE,
    RETAIN_KEYS,
    SET_ELEMENT_ORDER,
    json_kind,
    merge_map,
    normalize_order,
    strategies,
)

Json = Any


@dataclass(frozen=True)
class DiffOptions:
    set_element_order: bool = True
    ignore_changes_and_additions: bool = False
    ignore_deletions: bool = False
    build_retain_keys: bool = False


def _go_string(value: Json) -> str:
    """How Go's ``fmt.Sprintf("%v")`` prints a JSON scalar: lists are diffed in that order."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _merge_key_value(item: Json, merge_key: str) -> Json:
    if not isinstance(item, dict):
        raise PatchError(f"expected an object in a list merged by {merge_key!r}, got {item!r}")
    if merge_key not in item:
        raise PatchError(f"map {item} does not contain declared merge key {merge_key!r}")
    return item[merge_key]


def _diff_lists_of_maps(original: list[Json], modified: list[Json], field: Field,
                        options: DiffOptions) -> tuple[list[Json], list[Json]]:
    key = field.merge_key
    by_key = {_go_string(_merge_key_value(o, key)): o for o in original}
    new_keys = {_go_string(_merge_key_value(m, key)) for m in modified}
    patch, deletions = [], []
    for item in modified:
        name = _go_string(item[key])
        if name in by_key:
            # the same element on both sides: recurse, and name it in the patch
            sub = diff_maps(by_key[name], item, field.type, options)
            if sub:
                sub[key] = item[key]
                patch.append(sub)
        elif not options.ignore_changes_and_additions:
            patch.append(item)
    if not options.ignore_deletions:
        for name, item in sorted(by_key.items()):
            if name not in new_keys:
                deletions.append({key: item[key], DIRECTIVE: "delete"})
    return patch, deletions


def _diff_lists(original: list[Json], modified: list[Json], field: Field,
                options: DiffOptions) -> tuple[list[Json], list[Json], list[Json]]:
    """(patch list, values to delete from a primitive list, $setElementOrder list)."""
    if not original:
        if not modified or options.ignore_changes_and_additions:
            return [], [], []
        return list(modified), [], []
    kinds = {json_kind(v) for v in original + modified}
    if "list" in kinds:
        raise PatchError("lists of lists are not supported by strategic merge patch")
    if kinds == {"map"}:
        patch, deletions = _diff_lists_of_maps(original, modified, field, options)
        patch = normalize_order(patch, modified, [], field.merge_key) if patch else patch
        same_order = len(original) == len(modified) and all(
            json_equal(o.get(field.merge_key), m.get(field.merge_key))
            for o, m in zip(original, modified, strict=True)
        )
        patch = patch + deletions
        order: list[Json] = []
        if options.set_element_order and (
            (not options.ignore_changes_and_additions and (patch or not same_order))
            or (not options.ignore_deletions and patch)
        ):
            order = [{field.merge_key: m[field.merge_key]} for m in modified]
        return patch, [], order
    # lists of scalars: additions in the patch list, removals in a parallel list
    old = {_go_string(v): v for v in original}
    new = {_go_string(v): v for v in modified}
    additions = [] if options.ignore_changes_and_additions else [
        v for s, v in new.items() if s not in old
    ]
    removals = [] if options.ignore_deletions else [v for s, v in sorted(old.items()) if s not in new]
    additions = normalize_order(additions, modified, [], "")
    order = []
    if options.set_element_order and (
        (not options.ignore_deletions and removals)
        or (not options.ignore_changes_and_additions and not json_equal(original, modified))
    ):
        order = list(modified)
    return additions, removals, order


def diff_maps(original: dict[str, Json], modified: dict[str, Json], type_name: str | None,
              options: DiffOptions = DiffOptions()) -> dict[str, Json]:
    """The strategic merge patch that turns ``original`` into ``modified`` (diffMaps)."""
    patch: dict[str, Json] = {}
    retain = []
    for key, new in modified.items():
        if options.build_retain_keys and new is not None:
            retain.append(key)
        if key not in original:
            if not options.ignore_changes_and_additions:
                patch[key] = new
            continue
        old = original[key]
        if key == DIRECTIVE:
            if old != new:
                patch[key] = new
            continue
        if json_kind(old) != json_kind(new):
            if not options.ignore_changes_and_additions:
                patch[key] = new
            continue
        field = field_meta(type_name, key)
        strategy, retain_keys = strategies(field)
        if isinstance(old, dict):
            if strategy == "replace":
                if not options.ignore_changes_and_additions:
                    patch[key] = new
                continue
            sub = diff_maps(old, new, field.type, replace(options, build_retain_keys=retain_keys))
            if sub:
                patch[key] = sub
        elif isinstance(old, list) and strategy == "merge":
            element_options = replace(options, build_retain_keys=retain_keys)
            items, removals, order = _diff_lists(old, new, field, element_options)
            if items:
                patch[key] = items
            if removals:
                patch[DELETE_FROM_PRIMITIVE_LIST + key] = removals
            if order:
                patch[SET_ELEMENT_ORDER + key] = order
        elif not options.ignore_changes_and_additions and not json_equal(old, new):
            patch[key] = new
    if not options.ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    cleared = any(v is not None and k not in modified for k, v in original.items())
    if retain and (patch or cleared):
        patch[RETAIN_KEYS] = sorted(retain, key=_go_string)
    return patch


def _schema(kind: str | None) -> str:
    type_name = root_type(kind)
    if type_name is None:
        raise PatchError(f"no strategic merge schema for kind {kind!r}; use a JSON merge patch",
                         reason="UnsupportedMediaType")
    return type_name


def two_way_merge(original: dict[str, Json], modified: dict[str, Json],
                  kind: str | None) -> dict[str, Json]:
    """The patch from ``original`` to ``modified`` (CreateTwoWayMergePatch)."""
    return diff_maps(original, modified, _schema(kind))


def three_way_merge(original: dict[str, Json] | None, modified: dict[str, Json],
                    current: dict[str, Json], kind: str | None) -> dict[str, Json]:
    """The strategic merge patch ``kubectl apply`` sends (CreateThreeWayMergePatch).

    ``original``: the last-applied configuration (None if there is none);
    ``modified``: the configuration being applied; ``current``: the live object.
    """
    type_name = _schema(kind)
    for name, doc in (("modified", modified), ("current", current)):
        if not isinstance(doc, dict):
            raise PatchError(f"three-way merge: {name} must be an object")
    original = original or {}
    # changes and additions: current -> modified, ignoring what current has extra
    delta = diff_maps(current, modified, type_name, DiffOptions(ignore_deletions=True))
    # deletions: what was applied before and is gone from modified now
    deletions = diff_maps(original, modified, type_name,
                          DiffOptions(ignore_changes_and_additions=True))
    # subtle: combine the two patches without applying any directive (kept for the server)
    return merge_map(copy.deepcopy(deletions), copy.deepcopy(delta), type_name, COMBINE)

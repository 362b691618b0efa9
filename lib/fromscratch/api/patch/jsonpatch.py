"""RFC 6902 JSON Patch, with RFC 6901 JSON Pointers: ``kubectl patch --type=json``.

A JSON Patch is a list of operations applied in order, each naming a location
with a JSON Pointer such as ``/spec/containers/0/image``::

    [{"op": "replace", "path": "/spec/replicas", "value": 3},
     {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
     {"op": "remove", "path": "/spec/containers/1"}]

Six operations: ``add``, ``remove``, ``replace``, ``move``, ``copy`` and
``test``.  ``add`` into an array inserts (``-`` appends); ``replace`` needs the
target to exist; ``test`` compares with JSON equality and fails the whole
patch.  The patch is atomic: on any error the document is left unchanged (we
work on a copy).  In a pointer, ``~1`` means ``/`` and ``~0`` means ``~``, so
the label ``app.kubernetes.io/name`` is ``/metadata/labels/app.kubernetes.io~1name``.

Kubernetes uses evanphx/json-patch for this; like it, we follow the RFC.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fromscratch.api.patch.errors import PatchError

Json = Any
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def parse_pointer(pointer: str) -> list[str]:
    """``"/a~1b/0"`` -> ``["a/b", "0"]`` (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``)."""
    if not isinstance(pointer, str):
        raise PatchError(f"a JSON pointer is a string, got {pointer!r}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise PatchError(f"JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    # subtle: ~1 first, then ~0, so "~01" becomes "~1" and not "/"
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def escape_token(token: str) -> str:
    """Escape one reference token for use in a pointer."""
    return token.replace("~", "~0").replace("/", "~1")


def _array_index(token: str, array: list[Json], pointer: str, *, for_insert: bool) -> int:
    if for_insert and token == "-":
        return len(array)
    if not _INDEX.match(token):
        raise PatchError(f"{pointer}: {token!r} is not an array index")
    index = int(token)
    limit = len(array) if for_insert else len(array) - 1
    if index > limit:
        raise PatchError(f"{pointer}: index {index} is out of range (length {len(array)})")
    return index


def resolve(doc: Json, pointer: str) -> Json:
    """The value ``pointer`` names inside ``doc``; :class:`PatchError` if it does not exist."""
    value = doc
    for token in parse_pointer(pointer):
        if isinstance(value, dict):
            if token not in value:
                raise PatchError(f"{pointer}: member {token!r} does not exist")
            value = value[token]
        elif isinstance(value, list):
            value = value[_array_index(token, value, pointer, for_insert=False)]
        else:
            raise PatchError(f"{pointer}: cannot descend into a {type(value).__name__}")
    return value


def _parent(doc: Json, pointer: str) -> tuple[Json, str]:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("this operation needs a path below the document root")
    parent_pointer = "".join("/" + escape_token(t) for t in tokens[:-1])
    return resolve(doc, parent_pointer), tokens[-1]


def json_equal(a: Json, b: Json) -> bool:
    """JSON equality: like ``==``, but ``true`` is not ``1`` and key order never matters."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _add(doc: Json, pointer: str, value: Json) -> Json:
    if pointer == "":
        return value  # adding at the root replaces the whole document
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_array_index(token, parent, pointer, for_insert=True), value)
    else:
        raise PatchError(f"{pointer}: cannot add into a {type(parent).__name__}")
    return doc


def _remove(doc: Json, pointer: str) -> tuple[Json, Json]:
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        if token not in parent:
            raise PatchError(f"{pointer}: cannot remove, member {token!r} does not exist")
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_array_index(token, parent, pointer, for_insert=False))
    raise PatchError(f"{pointer}: cannot remove from a {type(parent).__name__}")


def _value_of(op: dict[str, Any], index: int) -> Json:
    if "value" not in op:
        raise PatchError(f"operation {index} ({op.get('op')}) has no 'value'")
    return copy.deepcopy(op["value"])


def _path(op: dict[str, Any], key: str, index: int) -> str:
    if key not in op or not isinstance(op[key], str):
        raise PatchError(f"operation {index} ({op.get('op')}) needs a string {key!r}")
    return op[key]


def apply_json_patch(doc: Json, patch: list[dict[str, Any]]) -> Json:
    """Apply an RFC 6902 patch to a copy of ``doc`` and return the result."""
    if not isinstance(patch, list):
        raise PatchError(f"a JSON patch is a list of operations, got {type(patch).__name__}",
                         reason="BadRequest")
    result = copy.deepcopy(doc)
    for index, op in enumerate(patch):
        if not isinstance(op, dict):
            raise PatchError(f"operation {index} is not an object", reason="BadRequest")
        name = op.get("op")
        path = _path(op, "path", index)
        if name == "add":
            result = _add(result, path, _value_of(op, index))
        elif name == "remove":
            result, _ = _remove(result, path)
        elif name == "replace":
            resolve(result, path)  # the target must exist
            if path == "":
                result = _value_of(op, index)
            else:
                result, _ = _remove(result, path)
                result = _add(result, path, _value_of(op, index))
        elif name in ("move", "copy"):
            source = _path(op, "from", index)
            if name == "move" and (path + "/").startswith(source + "/") and path != source:
                raise PatchError(f"operation {index}: cannot move {source} into its own child")
            if name == "move":
                result, value = _remove(result, source)
            else:
                value = copy.deepcopy(resolve(result, source))
            result = _add(result, path, value)
        elif name == "test":
            if "value" not in op:
                raise PatchError(f"test operation {index} has no 'value'", reason="BadRequest")
            if not json_equal(resolve(result, path), op["value"]):
                raise PatchError(f"test operation {index} failed: {path} is not "
                                 f"{op['value']!r}", reason="Conflict")
        else:
            raise PatchError(f"operation {index}: unknown op {name!r}", reason="BadRequest")
    return result

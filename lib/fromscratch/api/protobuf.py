"""Read the protobuf request bodies that kubectl's typed clients send.

client-go's typed clients encode built-in objects as Kubernetes protobuf
(``Content-Type: application/vnd.kubernetes.protobuf``), so ``kubectl create
namespace``, ``create configmap|secret|serviceaccount|token``, ``create
deployment|job|cronjob``, ``create service``, ``create quota``, ``create
priorityclass``, ``create pdb``, ``create role…``, ``autoscale``, ``drain`` (its
Evictions), ``auth can-i`` and ``auth whoami`` send protobuf, not JSON
(``run``, ``expose`` and ``create -f`` send JSON; ``set``, ``label`` and
``annotate`` send patches).  The format, from
``k8s.io/apimachinery/pkg/runtime/serializer/protobuf``: the four bytes
``k8s\\x00``, then a ``runtime.Unknown`` message holding the ``TypeMeta``
(apiVersion, kind) and the object's own message in ``raw``.

This module decodes the protobuf wire format (varints, length-delimited
fields) with the hand-written field tables of ``protobuf_messages.py``, taken
from the ``generated.proto`` files of ``k8s.io/api``, and gives back the object
the JSON encoding of the same Go struct would hold: zero values of
``omitempty`` fields are dropped (Go's protobuf encoder writes them, its JSON
encoder does not), embedded structs are inlined.  Fields not in a table are
skipped, as protobuf readers do.

Simplified: only the kinds in ``KINDS`` (any other kind is ``415`` with a
message saying so); we never *answer* in protobuf — clients that send it also
accept JSON, and JSON is what they get.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from fromscratch.api import errors
from fromscratch.api.protobuf_messages import KINDS, MESSAGES

MAGIC = b"k8s\x00"


class WireError(ValueError):
    """Bytes that are not valid protobuf."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) for every field in a message, in order."""
    result, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise WireError("a length-delimited field runs past the end")
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise WireError(f"unsupported wire type {wire}")
        result.append((number, wire, value))
    return result


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind in ("string", "bytes"):
        if wire != 2:
            raise WireError(f"expected a length-delimited {kind}")
        return value.decode("utf-8") if kind == "string" else value
    if wire != 0:
        raise WireError(f"expected a varint {kind}")
    if kind == "bool":
        return bool(value)
    return value - (1 << 64) if value >= 1 << 63 else value  # int64 two's complement


def _parts(data: bytes) -> dict[int, tuple[int, Any]]:
    # a small message's fields by number (the last one wins, as in protobuf)
    return {number: (wire, value) for number, wire, value in fields(data)}


def _part(parts: dict[int, tuple[int, Any]], number: int, kind: str, default: Any) -> Any:
    return _scalar(kind, *parts[number]) if number in parts else default


def _map_entry(kind: str, data: bytes) -> tuple[str, Any]:
    # a map entry is a message with the key in field 1 and the value in field 2
    parts = _parts(data)
    key, raw = _part(parts, 1, "string", ""), _part(parts, 2, "bytes", b"")
    if kind == "bytesmap":
        return key, base64.b64encode(raw).decode()
    if kind == "quantitymap":
        return key, _quantity(raw)
    return key, raw.decode("utf-8")


def _quantity(data: bytes) -> str:
    # resource.Quantity is a message holding one string; JSON writes just the string
    return _part(_parts(data), 1, "string", "0")


def _int_or_string(data: bytes) -> int | str:
    # intstr.IntOrString: type 0 -> intVal (field 2), type 1 -> strVal (field 3)
    parts = _parts(data)
    if _part(parts, 1, "int", 0) == 1:
        return _part(parts, 3, "string", "")
    return _part(parts, 2, "int", 0)


def _time(data: bytes) -> str | None:
    # meta/v1 Time: a Timestamp (seconds 1, nanos 2); the zero time is an empty message
    parts = _parts(data)
    if not parts:
        return None
    try:
        moment = datetime.fromtimestamp(_part(parts, 1, "int", 0), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WireError("a Time out of range") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(kind: str, wire: int, value: Any) -> Any:
    if kind in _SCALARS:
        return _scalar(kind, wire, value)
    if wire != 2:  # messages, and the types JSON writes as strings, are length-delimited
        raise WireError(f"expected a length-delimited {kind}")
    if kind == "quantity":
        return _quantity(value)
    if kind == "intorstring":
        return _int_or_string(value)
    if kind == "time":
        return _time(value)
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """One message as its JSON object, using the table ``MESSAGES[name]``."""
    table, obj = MESSAGES[name], {}
    for number, wire, value in fields(data):
        if number not in table:
            continue  # unknown field: skipped, as protobuf readers do
        json_name, kind = table[number]
        keep_zero, kind = kind.endswith("*"), kind.rstrip("*")
        if kind in ("map", "bytesmap", "quantitymap"):
            key, item = _map_entry(kind, _value("bytes", wire, value))
            obj.setdefault(json_name, {})[key] = item
        elif kind.startswith("[]"):
            obj.setdefault(json_name, []).append(_value(kind[2:], wire, value))
        elif not json_name:
            obj.update(_value(kind, wire, value))  # an embedded struct, inlined in JSON
        else:
            item = _value(kind, wire, value)
            # subtle: `0 == False`, so this drops 0, "", false and b"" but never {} or "0"
            if item is None or (not keep_zero and kind in _SCALARS and not item):
                continue
            obj[json_name] = item
    return obj


_SCALARS = ("string", "bytes", "int", "bool")


def decode(body: bytes) -> dict[str, Any]:
    """A Kubernetes protobuf body as the JSON-shaped object it encodes (or a 4xx APIError)."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("a protobuf body must start with the k8s\\x00 magic")
    try:
        envelope = decode_message("Unknown", body[len(MAGIC):])
        type_meta = envelope.get("typeMeta") or {}
        key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
        if key not in KINDS:
            supported = ", ".join(kind for _, kind in KINDS)
            raise errors.unsupported_media_type(
                f"application/vnd.kubernetes.protobuf for {key[1] or 'an unknown kind'} "
                f"(protobuf is read for {supported}; send JSON)", ["application/json"])
        obj = decode_message(KINDS[key], envelope.get("raw", b""))
    except (WireError, UnicodeDecodeError, RecursionError) as err:
        raise errors.bad_request(f"couldn't decode the protobuf body: {err}") from None
    return {"apiVersion": key[0], "kind": key[1], **obj}

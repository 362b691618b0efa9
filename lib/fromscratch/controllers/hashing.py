"""The ``pod-template-hash``: a short, stable name for one version of a Pod template.

Models ``controller.ComputeHash`` (``pkg/controller/controller_utils.go``): a
Deployment names each ReplicaSet ``<deployment>-<hash>`` and labels its Pods
``pod-template-hash=<hash>``, so the same template always maps to the same
ReplicaSet (a rollback finds the old one again) and two templates to two.

Upstream, the hash is FNV-32a over the template, then — if the Deployment has
had hash collisions — over ``collisionCount`` as 8 little-endian bytes, and the
decimal value of the 32-bit sum is made "safe" with ``rand.SafeEncodeString``:
each digit becomes a character of ``bcdfghjklmnpqrstvwxz2456789`` (no vowels,
so no accidental words).

Simplified: Go feeds FNV the ``go-spew`` dump of its typed ``PodTemplateSpec``
struct, which has no Python equivalent; here FNV-32a reads the template's
canonical JSON (sorted keys, no spaces).  Every other step is upstream's, so the
hash has the same shape and properties, but not the same value as a real cluster's.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from fromscratch.exercises import pluggable

FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's util/rand alphabet


def fnv32a(data: bytes, start: int = FNV32_OFFSET) -> int:
    """FNV-1a, 32 bits: xor each byte in, then multiply by the FNV prime."""
    value = start
    for byte in data:
        value ^= byte
        value = (value * FNV32_PRIME) & 0xFFFFFFFF
    return value


def safe_encode_string(text: str) -> str:
    """apimachinery's ``rand.SafeEncodeString``: each character -> alphabet[ord(c) % 27]."""
    return "".join(SAFE_ALPHANUMS[ord(ch) % len(SAFE_ALPHANUMS)] for ch in text)


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pluggable("pod_template_hash")
def pod_template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` label value for ``template``."""
    value = fnv32a(canonical_json(template))
    if collision_count is not None:
        if not 0 <= collision_count <= 0xFFFFFFFF:
            raise ValueError(f"collisionCount must be a non-negative int32, got {collision_count}")
        # subtle: upstream writes an 8-byte buffer of which only the first 4 hold the count
        value = fnv32a(struct.pack("<I", collision_count) + b"\0\0\0\0", value)
    return safe_encode_string(str(value))

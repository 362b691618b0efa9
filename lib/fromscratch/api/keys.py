"""Where objects live in the store, and how the API writes time.

Keys follow kube-apiserver's etcd layout, ``/registry/<group>/<resource>/<namespace>/<name>``
(``core`` for the core group; no namespace segment for cluster-scoped kinds), so
that listing a namespace, or a resource in every namespace, is a prefix scan.
Timestamps are RFC 3339 in UTC with second precision, as ``metav1.Time`` is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fromscratch.api.kinds import Kind


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(kind: Kind, namespace: str, name: str) -> str:
    """The store key, laid out like kube-apiserver's etcd keys."""
    return f"{key_prefix(kind, namespace)}{name}"


def key_prefix(kind: Kind, namespace: str = "") -> str:
    base = f"/registry/{kind.storage_key}/"
    return f"{base}{namespace}/" if kind.namespaced and namespace else base

"""OpenAPI v3 documents: just enough for kubectl's validation check and ``kubectl explain``.

Models kube-apiserver's ``/openapi/v3`` endpoints: the root lists one
document per group/version (``{"paths": {"apis/apps/v1": {"serverRelativeURL":
"/openapi/v3/apis/apps/v1?hash=…"}}}``) and each document holds the REST
paths and the schemas of that group/version.

Why kubectl needs it: before ``create``/``apply``/``edit``/``replace``,
kubectl looks for a ``fieldValidation`` query parameter on the kind's PATCH
operation in this document.  If it is there, kubectl leaves validation to the
server (``?fieldValidation=Strict``); if no document can be fetched at all,
it refuses to go on without ``--validate=false``.

Simplified, and said plainly: the schemas are outlines (``apiVersion``,
``kind``, ``metadata``, ``spec``, ``status``, with descriptions) rather than
the full generated schemas, so ``kubectl explain`` shows the top level only;
and ``fieldValidation=Strict`` is accepted but unknown fields are not
reported (the server's validation covers the fields in ``validation.py``).
Custom resources get their CRD's ``openAPIV3Schema``.  There is no
``/openapi/v2``: kubectl falls back to its built-in knowledge of the types
to compute strategic merge patches.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fromscratch.api.kinds import Kind, KindRegistry

Obj = dict[str, Any]
QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
DESCRIPTIONS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an "
                  "object.",
    "kind": "Kind is a string value representing the REST resource this object represents.",
    "metadata": "Standard object's metadata: name, namespace, labels, annotations, "
                "resourceVersion, uid ...",
    "spec": "The desired state of the object, written by its users.",
    "status": "The observed state of the object, written by its controllers. Read-only.",
}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(kind: Kind) -> str:
    # the names kube-apiserver uses: io.k8s.api.apps.v1.Deployment, io.k8s.api.core.v1.Pod
    group = (kind.group or "core").split(".")[0]
    return f"io.k8s.api.{group}.{kind.version}.{kind.kind}"


def _schema(kind: Kind) -> Obj:
    gvk = [{"group": kind.group, "version": kind.version, "kind": kind.kind}]
    custom = ((kind.schema or {}).get("schema") or {}).get("openAPIV3Schema")
    if kind.custom and isinstance(custom, dict):
        return {**custom, "x-kubernetes-group-version-kind": gvk}
    properties = {name: {"type": "string" if name in ("apiVersion", "kind") else "object",
                         "description": text} for name, text in DESCRIPTIONS.items()}
    return {"type": "object", "description": f"{kind.kind} ({kind.api_version}).",
            "properties": properties, "x-kubernetes-group-version-kind": gvk}


def _operation(kind: Kind, action: str) -> Obj:
    return {
        "operationId": f"{action}{kind.kind}",
        "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}}
                       for name in QUERY_PARAMETERS],
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{schema_name(kind)}"}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": kind.group, "version": kind.version,
                                            "kind": kind.kind},
    }


def group_version_document(kinds: KindRegistry, group: str, version: str) -> Obj | None:
    served = kinds.resources(group, version)
    if not served:
        return None
    paths: Obj = {}
    for kind in served:
        base = "/" + _gv_path(group, version)
        scope = f"{base}/namespaces/{{namespace}}" if kind.namespaced else base
        paths[f"{scope}/{kind.plural}"] = {"get": _operation(kind, "list"),
                                           "post": _operation(kind, "post")}
        paths[f"{scope}/{kind.plural}/{{name}}"] = {
            "get": _operation(kind, "get"), "put": _operation(kind, "put"),
            "patch": _operation(kind, "patch"), "delete": _operation(kind, "delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"},
            "paths": paths,
            "components": {"schemas": {schema_name(k): _schema(k) for k in served}}}


def _hash(document: Obj) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32].upper()


def openapi_document(kinds: KindRegistry, path: str) -> Obj | None:
    """The document at ``path`` (``/openapi/v3`` or ``/openapi/v3/<gv path>``), or None."""
    path = path.rstrip("/")
    if path == "/openapi/v3":
        entries = {}
        for group, versions in kinds.groups().items():
            for version in versions:
                document = group_version_document(kinds, group, version)
                gv = _gv_path(group, version)
                entries[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_hash(document)}"}
        return {"paths": entries}
    prefix = "/openapi/v3/"
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix):].split("/")
    if len(parts) == 2 and parts[0] == "api":
        return group_version_document(kinds, "", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return group_version_document(kinds, parts[1], parts[2])
    return None

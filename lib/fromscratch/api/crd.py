"""CustomResourceDefinitions: new kinds, served as soon as they are defined.

Models the apiextensions-apiserver: creating a ``CustomResourceDefinition``
named ``<plural>.<group>`` makes ``/apis/<group>/<version>/…/<plural>``
appear in discovery and serve create/get/list/watch/update/patch/delete, plus
``status`` and ``scale`` subresources when the CRD asks for them.  The CRD's
status reports ``NamesAccepted`` and ``Established``.  Deleting the CRD
deletes its custom objects and stops serving them.

Custom objects are validated against the version's ``openAPIV3Schema``:
``type``, ``properties``, ``required``, ``items``, ``enum``, ``minimum`` /
``maximum``, ``minLength`` / ``maxLength``, ``pattern``.

Fields the schema does not declare are *pruned* (dropped) unless the schema
says ``x-kubernetes-preserve-unknown-fields: true``, as for every structural
schema in apiextensions.k8s.io/v1 — silently with ``?fieldValidation=Ignore``,
with a ``Warning`` header with ``Warn``, and ``Strict`` (kubectl's default)
refuses the request with ``400 BadRequest`` naming each unknown field.

Simplified: no CEL rules, no defaults from the schema, no conversion webhooks
(all versions store the object as written, with its ``apiVersion`` rewritten
when read).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.errors import FieldError, invalid_value, not_supported, required
from fromscratch.api.kinds import Kind, ScalePaths

if TYPE_CHECKING:
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
CRD_GROUP = "apiextensions.k8s.io"


def validate_crd(crd: Obj, old: Obj | None = None) -> list[FieldError]:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    problems: list[FieldError] = []
    group, names = spec.get("group"), spec.get("names") or {}
    if not group or not isinstance(group, str) or "." not in group:
        problems.append(invalid_value("spec.group", group, "should be a domain with at least "
                                                           "one dot"))
    for field in ("plural", "kind"):
        if not isinstance(names, dict) or not names.get(field):
            problems.append(required(f"spec.names.{field}"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append(not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        problems.append(required("spec.versions"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        problems.append(invalid_value("spec.versions", "", "must have exactly one version "
                                                          "marked as storage version"))
    if not problems:
        expected = f"{names['plural']}.{group}"
        if crd.get("metadata", {}).get("name") != expected:
            problems.append(invalid_value("metadata.name", crd["metadata"].get("name"),
                                          f'must be spec.names.plural+"."+spec.group: '
                                          f'"{expected}"'))
    if old is not None and not problems:
        for path in ("group", "scope"):
            if (old.get("spec") or {}).get(path) != spec.get(path):
                problems.append(invalid_value(f"spec.{path}", spec.get(path),
                                              "field is immutable"))
    return problems


def kinds_of(crd: Obj) -> list[Kind]:
    """One Kind per served version of a CRD."""
    spec, names = crd["spec"], crd["spec"]["names"]
    result = []
    # the storage version first: it is the preferred version in discovery
    versions = sorted(spec["versions"], key=lambda v: not v.get("storage"))
    for version in versions:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        scale = subresources.get("scale")
        result.append(Kind(
            group=spec["group"], version=version["name"], kind=names["kind"],
            plural=names["plural"], namespaced=spec["scope"] == "Namespaced",
            singular=names.get("singular") or names["kind"].lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=tuple(s for s in ("status", "scale") if s in subresources),
            scale=ScalePaths(scale.get("specReplicasPath", ".spec.replicas"),
                             scale.get("statusReplicasPath", ".status.replicas"),
                             scale.get("labelSelectorPath")) if scale else None,
            custom=True, schema=version))
    return result


class CRDController:
    """Keeps the served kinds in step with the stored CustomResourceDefinitions."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        registry.after_write.append(self._on_write)

    def load_existing(self) -> None:
        kind = self.registry.kinds.lookup(CRD_GROUP, "v1", "customresourcedefinitions")
        assert kind is not None
        for crd in self.registry.list_all(kind)[0]:
            self._serve(crd)

    def _on_write(self, kind: Kind, event: str, crd: Obj) -> None:
        if (kind.group, kind.kind) != (CRD_GROUP, "CustomResourceDefinition"):
            return
        if event == "DELETED":
            self._unserve(crd)
        else:
            self._serve(crd)
            self._establish(kind, crd)

    def _serve(self, crd: Obj) -> None:
        spec = crd["spec"]
        self.registry.kinds.remove_resource(spec["group"], spec["names"]["plural"])
        for served in kinds_of(crd):
            self.registry.kinds.add(served)

    def _unserve(self, crd: Obj) -> None:
        spec = crd["spec"]
        served = self.registry.kinds.versions_of(spec["group"], spec["names"]["plural"])
        if served:
            # the custom objects go with their definition
            from fromscratch.api.registry import key_prefix

            store = self.registry.store
            for obj in store.list(key_prefix(served[0]))[0]:
                meta = obj["metadata"]
                from fromscratch.api.registry import object_key

                try:
                    store.delete(object_key(served[0], meta.get("namespace", ""), meta["name"]))
                except Exception:  # already gone
                    pass
        self.registry.kinds.remove_resource(spec["group"], spec["names"]["plural"])

    def _establish(self, kind: Kind, crd: Obj) -> None:
        names = crd["spec"]["names"]
        conditions = [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"}]
        status = {"conditions": conditions, "acceptedNames": names,
                  "storedVersions": [v["name"] for v in crd["spec"]["versions"]
                                     if v.get("storage")]}
        if _without_times(crd.get("status")) == _without_times(status):
            return
        for condition in conditions:
            condition["lastTransitionTime"] = crd["metadata"]["creationTimestamp"]

        def set_status(current: Obj) -> Obj:
            current["status"] = status
            return current

        try:
            self.registry.guaranteed_update(kind, "", crd["metadata"]["name"], set_status,
                                            subresource="status")
        except errors.APIError:
            pass  # deleted meanwhile


def _without_times(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    result = dict(status)
    result["conditions"] = [{k: v for k, v in c.items() if k != "lastTransitionTime"}
                            for c in status.get("conditions") or []]
    return result


# --- schema validation for custom objects ---------------------------------------------------
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
          "integer": int, "number": (int, float)}


def _check(schema: Obj, value: Any, path: str, out: list[FieldError]) -> None:
    expected = schema.get("type")
    if value is None:
        if not schema.get("nullable") and expected:
            out.append(FieldError("type", path, f'must be of type {expected}', value, True))
        return
    python_type = _TYPES.get(expected) if expected else None
    wrong_bool = isinstance(value, bool) and expected in ("integer", "number")
    if python_type is not None and (not isinstance(value, python_type) or wrong_bool):
        out.append(FieldError("type", path, f"must be of type {expected}", value, True))
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(not_supported(path, value, [str(e) for e in schema["enum"]]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(invalid_value(path, value, f"should be greater than or equal to "
                                                  f"{schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(invalid_value(path, value, f"should be less than or equal to "
                                                  f"{schema['maximum']}"))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(invalid_value(path, value, f"should be at least {schema['minLength']} "
                                                  "chars long"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(FieldError("too_long", path, f"may not be longer than "
                                                    f"{schema['maxLength']}"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(invalid_value(path, value, f"should match '{schema['pattern']}'"))
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                out.append(required(f"{path}.{name}" if path else name))
        for name, sub in (schema.get("properties") or {}).items():
            if name in value and isinstance(sub, dict):
                _check(sub, value[name], f"{path}.{name}" if path else name, out)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check(schema["items"], item, f"{path}[{i}]", out)


def _prune(schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if isinstance(properties, dict):
            return {k: _prune(properties[k], v) for k, v in value.items() if k in properties}
        if isinstance(additional, dict):
            return {k: _prune(additional, v) for k, v in value.items()}
        return value
    if isinstance(value, list):
        return [_prune(schema.get("items"), item) for item in value]
    return value


def _unknown(schema: Any, value: Any, path: str, out: list[str]) -> None:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if isinstance(properties, dict):
                if key not in properties:
                    out.append(f"{path}.{key}" if path else key)
                else:
                    _unknown(properties[key], item, f"{path}.{key}" if path else key, out)
            elif isinstance(additional, dict):
                _unknown(additional, item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _unknown(schema.get("items"), item, f"{path}[{i}]", out)


def unknown_fields(kind: Kind, obj: Obj) -> list[str]:
    """The paths pruning would drop: what ``fieldValidation=Strict`` refuses."""
    schema = ((kind.schema or {}).get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    found: list[str] = []
    _unknown(schema, body, "", found)
    return found


def prune_custom_object(kind: Kind, obj: Obj) -> None:
    """Drop the fields the version's schema does not declare (in place)."""
    schema = ((kind.schema or {}).get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    properties = schema.get("properties") or {}
    for key in [k for k in obj if k not in ("apiVersion", "kind", "metadata")]:
        if key not in properties:
            del obj[key]
        else:
            obj[key] = _prune(properties[key], obj[key])


def validate_custom_object(kind: Kind, obj: Obj) -> list[FieldError]:
    """Problems with a custom object, by its version's openAPIV3Schema."""
    schema = ((kind.schema or {}).get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    trimmed = dict(schema)
    trimmed["properties"] = {k: v for k, v in (schema.get("properties") or {}).items()
                             if k not in ("apiVersion", "kind", "metadata")}
    trimmed["required"] = [r for r in schema.get("required") or []
                           if r not in ("apiVersion", "kind", "metadata")]
    problems: list[FieldError] = []
    _check(trimmed, body, "", problems)
    return problems

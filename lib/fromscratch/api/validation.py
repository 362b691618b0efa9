"""Validation: what makes an object ``422 Invalid``, naming each bad field.

Models ``k8s.io/kubernetes/pkg/apis/*/validation`` and apimachinery's
``validation`` helpers: object names (DNS subdomain, DNS label, path segment),
label keys and values, and the spec rules the course relies on — a Pod needs
named containers with images, a Deployment's selector must match its
template's labels, a Job's pods must not restart ``Always`` ...

Every check returns :class:`~fromscratch.api.errors.FieldError` values with a
field path (``spec.template.spec.containers[0].image``) so the ``Status``
carries one ``details.causes`` entry per problem.  Checks only the fields the
course uses; the real validation is far larger.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from fromscratch.api.disruption import validate_pdb
from fromscratch.api.errors import (
    FieldError,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from fromscratch.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def dns_label_errors(value: str) -> list[str]:
    if len(value) > 63:
        return ["must be no more than 63 characters"]
    if not DNS_LABEL.match(value):
        return ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character"]
    return []


def dns_subdomain_errors(value: str) -> list[str]:
    if len(value) > 253:
        return ["must be no more than 253 characters"]
    if not DNS_SUBDOMAIN.match(value):
        return ["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character"]
    return []


def path_segment_errors(value: str) -> list[str]:
    if value in {".", ".."}:
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


# which name rule each kind follows (the rest use a DNS subdomain)
NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Namespace": dns_label_errors, "Service": dns_label_errors,
    "Role": path_segment_errors, "ClusterRole": path_segment_errors,
    "RoleBinding": path_segment_errors, "ClusterRoleBinding": path_segment_errors,
}


def qualified_name_errors(key: str) -> list[str]:
    """Label and annotation keys: an optional DNS-subdomain prefix, then a name of <= 63."""
    prefix, _, name = key.rpartition("/")
    errors = dns_subdomain_errors(prefix) if "/" in key else []
    if not name or len(name) > 63 or not QUALIFIED_NAME.match(name):
        errors.append("name part must consist of alphanumeric characters, '-', '_' or '.', "
                      "and must start and end with an alphanumeric character")
    return errors


def validate_metadata(kind: str, meta: Any) -> list[FieldError]:
    if not isinstance(meta, dict):
        return [required("metadata")]
    errors: list[FieldError] = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        for problem in NAME_RULES.get(kind, dns_subdomain_errors)(name):
            errors.append(invalid_value("metadata.name", name, problem))
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return errors + [invalid_value("metadata.labels", labels, "must be a map of strings")]
    for key, value in labels.items():
        for problem in qualified_name_errors(key):
            errors.append(invalid_value("metadata.labels", key, problem))
        if not isinstance(value, str) or (value and (len(value) > 63
                                                     or not QUALIFIED_NAME.match(value))):
            errors.append(invalid_value(f"metadata.labels[{key}]", value,
                                        "a valid label must be an empty string or consist of "
                                        "alphanumeric characters, '-', '_' or '.' (at most 63)"))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        errors.append(invalid_value("metadata.annotations", annotations, "must be a map"))
    else:
        for key, value in annotations.items():
            for problem in qualified_name_errors(key):
                errors.append(invalid_value("metadata.annotations", key, problem))
            if not isinstance(value, str):
                errors.append(invalid_value(f"metadata.annotations[{key}]", value,
                                            "must be a string"))
    return errors


def _quantity_errors(path: str, values: Any) -> list[FieldError]:
    if not isinstance(values, dict):
        return [invalid_value(path, values, "must be a map of resource quantities")]
    errors = []
    for name, value in values.items():
        try:
            parse_quantity(str(value))
        except QuantityError as err:
            errors.append(invalid_value(f"{path}[{name}]", value, str(err)))
    return errors


def validate_container(path: str, container: Any) -> list[FieldError]:
    if not isinstance(container, dict):
        return [invalid_value(path, container, "must be an object")]
    errors = []
    name = container.get("name")
    if not name:
        errors.append(required(f"{path}.name"))
    elif not isinstance(name, str) or dns_label_errors(name):
        errors.append(invalid_value(f"{path}.name", name, "must be a DNS label"))
    if not container.get("image"):
        errors.append(required(f"{path}.image"))
    for i, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid_value(f"{path}.ports[{i}].containerPort", number,
                                        "must be between 1 and 65535, inclusive"))
    resources = container.get("resources") or {}
    if isinstance(resources, dict):
        for part in ("requests", "limits"):
            if part in resources:
                errors += _quantity_errors(f"{path}.resources.{part}", resources[part])
    return errors


def validate_pod_spec(path: str, spec: Any, *, restart_policies: tuple[str, ...] = (
        "Always", "OnFailure", "Never")) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(path)]
    errors = []
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        errors.append(required(f"{path}.containers"))
        containers = []
    seen: set[str] = set()
    for i, container in enumerate(containers):
        errors += validate_container(f"{path}.containers[{i}]", container)
        name = container.get("name") if isinstance(container, dict) else None
        if isinstance(name, str) and name in seen:
            errors.append(FieldError("duplicate", f"{path}.containers[{i}].name", "", name, True))
        seen.add(name if isinstance(name, str) else "")
    policy = spec.get("restartPolicy")
    if policy not in restart_policies:
        errors.append(not_supported(f"{path}.restartPolicy", policy, list(restart_policies)))
    return errors


def _selector_matches_template(spec: Obj) -> list[FieldError]:
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels")
                                             or selector.get("matchExpressions")):
        return [required("spec.selector")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = selector.get("matchLabels") or {}
    if not isinstance(wanted, dict) or any(labels.get(k) != v for k, v in wanted.items()):
        return [invalid_value("spec.template.metadata.labels", labels,
                              "`selector` does not match template `labels`")]
    return []


def _replicas(spec: Obj) -> list[FieldError]:
    replicas = spec.get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        return [invalid_value("spec.replicas", replicas,
                              "must be greater than or equal to 0")]
    return []


def validate_pod(obj: Obj) -> list[FieldError]:
    return validate_pod_spec("spec", obj.get("spec"))


def validate_workload(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    errors = _replicas(spec) + _selector_matches_template(spec)
    template = spec.get("template") or {}
    errors += validate_pod_spec("spec.template.spec", template.get("spec"),
                                restart_policies=("Always",))
    return errors


def validate_job(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    errors = _selector_matches_template(spec) if spec.get("manualSelector") else []
    template = spec.get("template") or {}
    errors += validate_pod_spec("spec.template.spec", template.get("spec"),
                                restart_policies=("OnFailure", "Never"))
    for field in ("parallelism", "completions", "backoffLimit"):
        value = spec.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            errors.append(invalid_value(f"spec.{field}", value,
                                        "must be greater than or equal to 0"))
    return errors


def validate_cronjob(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not spec.get("schedule"):
        return [required("spec.schedule")]
    if len(str(spec["schedule"]).split()) not in (5, 6) and not str(spec["schedule"]).startswith("@"):
        return [invalid_value("spec.schedule", spec["schedule"], "not a cron schedule")]
    if not isinstance(spec.get("jobTemplate"), dict):
        return [required("spec.jobTemplate")]
    return []


def validate_service(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    errors = []
    types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
    if spec.get("type") not in types:
        errors.append(not_supported("spec.type", spec.get("type"), types))
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
        errors.append(required("spec.ports"))
    for i, port in enumerate(ports):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid_value(f"spec.ports[{i}].port", number,
                                        "must be between 1 and 65535, inclusive"))
    return errors


def validate_configmap(obj: Obj) -> list[FieldError]:
    errors = []
    for field in ("data", "binaryData"):
        values = obj.get(field) or {}
        if not isinstance(values, dict):
            errors.append(invalid_value(field, values, "must be a map"))
            continue
        for key in values:
            if not CONFIG_KEY.match(key):
                errors.append(invalid_value(f"{field}[{key}]", key,
                                            "a valid config key must consist of alphanumeric "
                                            "characters, '-', '_' or '.'"))
    return errors


def validate_secret(obj: Obj) -> list[FieldError]:
    errors = validate_configmap({"data": obj.get("data") or {}})
    for key, value in (obj.get("data") or {}).items() if not errors else []:
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            errors.append(invalid_value(f"data[{key}]", "<secret>", "must be base64-encoded"))
    return errors


def validate_hpa(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    errors = []
    ref = spec.get("scaleTargetRef") or {}
    for field in ("kind", "name"):
        if not (isinstance(ref, dict) and ref.get(field)):
            errors.append(required(f"spec.scaleTargetRef.{field}"))
    high, low = spec.get("maxReplicas"), spec.get("minReplicas", 1)
    if not isinstance(high, int) or high < 1:
        errors.append(invalid_value("spec.maxReplicas", high, "must be greater than 0"))
    elif isinstance(low, int) and low > high:
        errors.append(invalid_value("spec.minReplicas", low,
                                    "must be less than or equal to maxReplicas"))
    return errors


def validate_role(obj: Obj) -> list[FieldError]:
    errors = []
    for i, rule in enumerate(obj.get("rules") or []):
        if not isinstance(rule, dict) or not rule.get("verbs"):
            errors.append(required(f"rules[{i}].verbs", "verbs must contain at least one value"))
    return errors


def validate_binding(obj: Obj) -> list[FieldError]:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("kind"):
        return [required("roleRef")]
    if ref["kind"] not in ("Role", "ClusterRole"):
        return [not_supported("roleRef.kind", ref["kind"], ["Role", "ClusterRole"])]
    return []


VALIDATORS: dict[tuple[str, str], Callable[[Obj], list[FieldError]]] = {
    ("", "Pod"): validate_pod,
    ("", "Service"): validate_service,
    ("", "ConfigMap"): validate_configmap,
    ("", "Secret"): validate_secret,
    ("apps", "Deployment"): validate_workload,
    ("apps", "ReplicaSet"): validate_workload,
    ("apps", "StatefulSet"): validate_workload,
    ("apps", "DaemonSet"): validate_workload,
    ("batch", "Job"): validate_job,
    ("batch", "CronJob"): validate_cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): validate_hpa,
    ("rbac.authorization.k8s.io", "Role"): validate_role,
    ("rbac.authorization.k8s.io", "ClusterRole"): validate_role,
    ("rbac.authorization.k8s.io", "RoleBinding"): validate_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): validate_binding,
    ("policy", "PodDisruptionBudget"): validate_pdb,
}

# fields that may not change once set (field path -> owning kinds)
IMMUTABLE: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec.selector",),
    ("apps", "ReplicaSet"): ("spec.selector",),
    ("apps", "StatefulSet"): ("spec.selector",),
    ("apps", "DaemonSet"): ("spec.selector",),
    ("batch", "Job"): ("spec.selector", "spec.template"),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("roleRef",),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("roleRef",),
}


def _at(obj: Obj, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def validate(group: str, kind: str, obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """Every problem with ``obj`` (and, on update, with how it changed from ``old``)."""
    errors = validate_metadata(kind, obj.get("metadata"))
    validator = VALIDATORS.get((group, kind))
    if validator is not None:
        errors += validator(obj)
    if old is not None:
        for path in IMMUTABLE.get((group, kind), ()):
            if _at(obj, path) != _at(old, path):
                errors.append(forbidden(path, "field is immutable"))
    return errors

"""Read the protobuf request bodies that kubectl's typed clients send, for a few simple kinds.

client-go's typed clients encode built-in objects as Kubernetes protobuf
(``Content-Type: application/vnd.kubernetes.protobuf``), so ``kubectl create
namespace``, ``create configmap``, ``create secret``, ``create serviceaccount``,
``create token``, ``create pdb``, ``autoscale``, ``drain`` (its Evictions), ``auth can-i``
and ``auth whoami`` send protobuf, not JSON.  The format, from
``k8s.io/apimachinery/pkg/runtime/serializer/protobuf``: the four bytes
``k8s\\x00``, then a ``runtime.Unknown`` message holding the ``TypeMeta``
(apiVersion, kind) and the object's own message in ``raw``.

This module decodes the protobuf wire format (varints, length-delimited
fields) with hand-written field tables for those kinds, taken from the
``generated.proto`` files of ``k8s.io/api``.  Fields not in a table are
skipped, as protobuf readers do.

Simplified: only the kinds above (any other kind is ``415`` with a message
saying so); we never *answer* in protobuf — clients that send it also accept
JSON, and JSON is what they get.
"""

from __future__ import annotations

import base64
from typing import Any

from fromscratch.api import errors

MAGIC = b"k8s\x00"
Fields = dict[int, tuple[str, str]]  # field number -> (JSON name, type)

# type names: "string", "bytes", "int", "bool", "quantity", "[]T" (repeated), "map" / "bytesmap",
# or a message
MESSAGES: dict[str, Fields] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"),
                3: ("contentEncoding", "string"), 4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"),
                   3: ("namespace", "string"), 5: ("uid", "string"),
                   6: ("resourceVersion", "string"), 7: ("generation", "int"),
                   11: ("labels", "map"), 12: ("annotations", "map"),
                   13: ("ownerReferences", "[]OwnerReference"), 14: ("finalizers", "[]string")},
    "OwnerReference": {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                       5: ("apiVersion", "string"), 6: ("controller", "bool"),
                       7: ("blockOwnerDeletion", "bool")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map"),
                  3: ("binaryData", "bytesmap"), 4: ("immutable", "bool")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "bytesmap"), 3: ("type", "string"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"),
                       4: ("automountServiceAccountToken", "bool")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "[]string"), 4: ("expirationSeconds", "int")},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta"), 2: ("spec", "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                2: ("nonResourceAttributes", "NonResourceAttributes"),
                                3: ("user", "string"), 4: ("groups", "[]string"),
                                6: ("uid", "string")},
    "ResourceAttributes": {1: ("namespace", "string"), 2: ("verb", "string"),
                           3: ("group", "string"), 4: ("version", "string"),
                           5: ("resource", "string"), 6: ("subresource", "string"),
                           7: ("name", "string")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
    # HorizontalPodAutoscaler, autoscaling/v1 and v2 (kubectl autoscale)
    "CrossVersionObjectReference": {1: ("kind", "string"), 2: ("name", "string"),
                                    3: ("apiVersion", "string")},
    "HorizontalPodAutoscalerV1": {1: ("metadata", "ObjectMeta"),
                                  2: ("spec", "HorizontalPodAutoscalerSpecV1")},
    "HorizontalPodAutoscalerSpecV1": {1: ("scaleTargetRef", "CrossVersionObjectReference"),
                                      2: ("minReplicas", "int"), 3: ("maxReplicas", "int"),
                                      4: ("targetCPUUtilizationPercentage", "int")},
    "HorizontalPodAutoscalerV2": {1: ("metadata", "ObjectMeta"),
                                  2: ("spec", "HorizontalPodAutoscalerSpecV2")},
    "HorizontalPodAutoscalerSpecV2": {1: ("scaleTargetRef", "CrossVersionObjectReference"),
                                      2: ("minReplicas", "int"), 3: ("maxReplicas", "int"),
                                      4: ("metrics", "[]MetricSpec"),
                                      5: ("behavior", "HorizontalPodAutoscalerBehavior")},
    "MetricSpec": {1: ("type", "string"), 4: ("resource", "ResourceMetricSource"),
                   7: ("containerResource", "ContainerResourceMetricSource")},
    "ResourceMetricSource": {1: ("name", "string"), 2: ("target", "MetricTarget")},
    "ContainerResourceMetricSource": {1: ("name", "string"), 2: ("target", "MetricTarget"),
                                      3: ("container", "string")},
    "MetricTarget": {1: ("type", "string"), 2: ("value", "quantity"),
                     3: ("averageValue", "quantity"), 4: ("averageUtilization", "int")},
    "HorizontalPodAutoscalerBehavior": {1: ("scaleUp", "HPAScalingRules"),
                                        2: ("scaleDown", "HPAScalingRules")},
    "HPAScalingRules": {1: ("selectPolicy", "string"), 2: ("policies", "[]HPAScalingPolicy"),
                        3: ("stabilizationWindowSeconds", "int")},
    "HPAScalingPolicy": {1: ("type", "string"), 2: ("value", "int"), 3: ("periodSeconds", "int")},
    # RBAC (kubectl create role/clusterrole/rolebinding/clusterrolebinding), k8s.io/api/rbac/v1
    "PolicyRule": {1: ("verbs", "[]string"), 2: ("apiGroups", "[]string"),
                   3: ("resources", "[]string"), 4: ("resourceNames", "[]string"),
                   5: ("nonResourceURLs", "[]string")},
    "Role": {1: ("metadata", "ObjectMeta"), 2: ("rules", "[]PolicyRule")},
    "ClusterRole": {1: ("metadata", "ObjectMeta"), 2: ("rules", "[]PolicyRule"),
                    3: ("aggregationRule", "AggregationRule")},
    "AggregationRule": {1: ("clusterRoleSelectors", "[]LabelSelector")},
    "LabelSelector": {1: ("matchLabels", "map"),
                      2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "string"), 2: ("operator", "string"),
                                 3: ("values", "[]string")},
    "RoleBinding": {1: ("metadata", "ObjectMeta"), 2: ("subjects", "[]Subject"),
                    3: ("roleRef", "RoleRef")},
    "Subject": {1: ("kind", "string"), 2: ("apiGroup", "string"), 3: ("name", "string"),
                4: ("namespace", "string")},
    "RoleRef": {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")},
    # the reviews behind kubectl auth can-i --list, and the namespaced access review
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"),
                               2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                 2: ("spec", "SubjectAccessReviewSpec")},
    # kubectl drain (policy/v1 Eviction) and kubectl create pdb, k8s.io/api/policy/v1
    "Eviction": {1: ("metadata", "ObjectMeta"), 2: ("deleteOptions", "DeleteOptions")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "int"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "bool"), 4: ("propagationPolicy", "string"),
                      5: ("dryRun", "[]string")},
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
    "PodDisruptionBudget": {1: ("metadata", "ObjectMeta"),
                            2: ("spec", "PodDisruptionBudgetSpec")},
    "PodDisruptionBudgetSpec": {1: ("minAvailable", "intorstring"),
                                2: ("selector", "LabelSelector"),
                                3: ("maxUnavailable", "intorstring"),
                                4: ("unhealthyPodEvictionPolicy", "string")},
    # core/v1 Binding (a typed client's pods/binding)
    "Binding": {1: ("metadata", "ObjectMeta"), 2: ("target", "ObjectReference")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"),
                        3: ("name", "string"), 4: ("uid", "string"),
                        5: ("apiVersion", "string"), 6: ("resourceVersion", "string")},
}
# (apiVersion, kind) -> message: the kinds whose protobuf bodies we read
KINDS = {("v1", "Namespace"): "Namespace", ("v1", "ConfigMap"): "ConfigMap",
         ("v1", "Secret"): "Secret", ("v1", "ServiceAccount"): "ServiceAccount",
         ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
         ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
         ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
         ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
         ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV1",
         ("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV2",
         ("rbac.authorization.k8s.io/v1", "Role"): "Role",
         ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
         ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
         ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
         ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
         ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "LocalSubjectAccessReview",
         ("policy/v1", "Eviction"): "Eviction", ("policy/v1beta1", "Eviction"): "Eviction",
         ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
         ("v1", "Binding"): "Binding"}


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


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    table, obj = MESSAGES[name], {}
    for number, wire, value in fields(data):
        if number not in table:
            continue  # unknown field: skipped, as protobuf readers do
        json_name, kind = table[number]
        if kind in ("map", "bytesmap"):
            entry = {n: v for n, _, v in fields(value)}
            key = entry.get(1, b"").decode("utf-8")
            raw = entry.get(2, b"")
            item = base64.b64encode(raw).decode() if kind == "bytesmap" else raw.decode("utf-8")
            obj.setdefault(json_name, {})[key] = item
        elif kind.startswith("[]"):
            element = kind[2:]
            item = decode_message(element, value) if element in MESSAGES \
                else _scalar(element, wire, value)
            obj.setdefault(json_name, []).append(item)
        elif kind == "quantity":
            # resource.Quantity is a message holding one string; JSON writes just the string
            obj[json_name] = next((v.decode("utf-8") for n, _, v in fields(value) if n == 1), "0")
        elif kind == "intorstring":
            # intstr.IntOrString: type 0 -> intVal (field 2), type 1 -> strVal (field 3)
            parts = {n: v for n, _, v in fields(value)}
            obj[json_name] = parts[3].decode("utf-8") if parts.get(1) == 1 \
                else _scalar("int", 0, parts.get(2, 0))
        elif kind in MESSAGES:
            obj[json_name] = decode_message(kind, value)
        else:
            obj[json_name] = _scalar(kind, wire, value)
    return obj


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

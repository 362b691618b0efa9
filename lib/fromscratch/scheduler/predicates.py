"""Taints and tolerations, node selectors and node affinity: does a Pod fit a node's labels?

Models ``k8s.io/component-helpers/scheduling/corev1`` (``nodeaffinity``,
``helpers.go``) and ``Toleration.ToleratesTaint`` (``k8s.io/api/core/v1``), the
helpers shared by the scheduler, the DaemonSet controller and the kubelet's
admission:

- a toleration tolerates a taint when the effects match (an empty effect matches
  all), the keys match (an empty key with ``Exists`` matches every key), and
  the operator agrees: ``Exists`` ignores the value, ``Equal`` (the default)
  compares it;
- ``nodeSelector`` requires every listed label with that exact value;
- required node affinity is a list of ``nodeSelectorTerms`` that are ORed, each
  a list of requirements that are ANDed, with operators In, NotIn, Exists,
  DoesNotExist, Gt and Lt (integers), plus ``matchFields`` on ``metadata.name``;
  a term with no requirements matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fromscratch.exercises import pluggable

Obj = dict[str, Any]
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@pluggable("tolerates_taint")
def tolerates_taint(toleration: Obj, taint: Obj) -> bool:
    """Does ``toleration`` tolerate ``taint``?"""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"  # an empty operator means Equal
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taints(taints: Iterable[Obj], tolerations: Iterable[Obj],
                       effects: Iterable[str] = TAINT_EFFECTS) -> list[Obj]:
    """The taints with one of ``effects`` that no toleration tolerates."""
    tolerations, wanted = list(tolerations), set(effects)
    return [t for t in taints if t.get("effect") in wanted
            and not any(tolerates_taint(tol, t) for tol in tolerations)]


def _integer(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[-+]?\d+", text or "") else None


def requirement_matches(requirement: Obj, labels: dict[str, str]) -> bool:
    """One ``NodeSelectorRequirement`` against a node's labels."""
    key, operator = requirement.get("key", ""), requirement.get("operator")
    values = requirement.get("values") or []
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if len(values) != 1 or _integer(values[0]) is None:
            raise ValueError(f"{operator} needs exactly one integer value, got {values!r}")
        have = _integer(labels.get(key, "")) if present else None
        if have is None:
            return False
        want = _integer(values[0])
        assert want is not None
        return have > want if operator == "Gt" else have < want
    raise ValueError(f"{operator!r} is not a valid node selector operator")


def term_matches(term: Obj, node: Obj) -> bool:
    """A ``NodeSelectorTerm``: every matchExpression and matchField holds (an empty term: none)."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    name_field = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    for field in fields:
        if field.get("key") != "metadata.name" or field.get("operator") not in ("In", "NotIn"):
            raise ValueError(f"unsupported matchFields requirement {field!r}")
    return (all(requirement_matches(r, labels) for r in expressions)
            and all(requirement_matches(f, name_field) for f in fields))


def node_selector_matches(node_selector: Obj | None, node: Obj) -> bool:
    """A ``NodeSelector`` (the terms are ORed); None matches every node."""
    if node_selector is None:
        return True
    return any(term_matches(term, node) for term in node_selector.get("nodeSelectorTerms") or [])


def pod_matches_node_labels(pod: Obj, node: Obj) -> bool:
    """``spec.nodeSelector`` and the required node affinity of ``pod`` both hold on ``node``."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return node_selector_matches(required, node)


def preferred_affinity_weight(pod: Obj, node: Obj) -> int:
    """The sum of the weights of the preferred node-affinity terms ``node`` matches."""
    preferred = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}) \
        .get("preferredDuringSchedulingIgnoredDuringExecution") or []
    return sum(int(p.get("weight", 0)) for p in preferred
               if term_matches(p.get("preference") or {}, node))

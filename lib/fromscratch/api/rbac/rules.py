"""Does one RBAC rule allow one request?  The heart of the RBAC authorizer.

Models ``RuleAllows`` in kube-apiserver's RBAC authorizer
(``plugin/pkg/auth/authorizer/rbac/rbac.go``) and the matchers in
``pkg/apis/rbac/v1/evaluation_helpers.go``.  A ``PolicyRule`` is a plain dict,
exactly as it appears in a Role's ``rules``::

    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}

A rule allows a *resource request* when all four match:

- **verbs**: the request's verb is listed, or ``"*"`` is;
- **apiGroups**: the request's group is listed (``""`` is the core group), or ``"*"``;
- **resources**: ``"*"``; or ``resource`` for a request without subresource,
  ``resource/subresource`` for one with (``pods`` does not cover ``pods/log``);
  or ``*/subresource`` (``*/scale`` covers every scale subresource);
- **resourceNames**: empty (any name), or the request's name is listed.  A
  ``create`` or ``deletecollection`` has no name in its URL, so a rule with
  ``resourceNames`` never allows them.

A *non-resource request* (``/healthz``, ``/apis``) is allowed when the verb
matches and a ``nonResourceURLs`` entry is the path, ``"*"``, or a prefix
ending in ``*`` (``/healthz/*``).  Rules are only ever additive: there is no
"deny" rule anywhere in RBAC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fromscratch.api.auth import Attributes
from fromscratch.exercises import pluggable

PolicyRule = dict[str, Any]
ALL = "*"


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return ALL in verbs or verb in verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    groups = rule.get("apiGroups") or []
    return ALL in groups or group in groups


def resource_matches(rule: PolicyRule, resource: str, subresource: str = "") -> bool:
    """``resource`` plus optional ``subresource`` against the rule's ``resources``."""
    combined = f"{resource}/{subresource}" if subresource else resource
    for allowed in rule.get("resources") or []:
        if allowed == ALL or allowed == combined:
            return True
        # subtle: "*/scale" covers "deployments/scale", but "*/scale" never covers "deployments"
        if subresource and allowed == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    names = rule.get("resourceNames") or []
    # an empty name (create, deletecollection, an unpinned list) never matches a named rule
    return not names or name in names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for allowed in rule.get("nonResourceURLs") or []:
        if allowed == ALL or allowed == path:
            return True
        if allowed.endswith("*") and path.startswith(allowed.rstrip("*")):
            return True
    return False


@pluggable("rule_matches")
def rule_matches(rule: PolicyRule, attributes: Attributes) -> bool:
    """True if ``rule`` allows the request described by ``attributes``."""
    if not verb_matches(rule, attributes.verb):
        return False
    if not attributes.is_resource_request:
        return non_resource_url_matches(rule, attributes.path)
    return (api_group_matches(rule, attributes.api_group)
            and resource_matches(rule, attributes.resource, attributes.subresource)
            and resource_name_matches(rule, attributes.name))


def rules_allow(rules: Sequence[PolicyRule], attributes: Attributes) -> bool:
    """True if any of ``rules`` allows the request (rules only ever add)."""
    return any(rule_matches(rule, attributes) for rule in rules)


def describe_rule(rule: PolicyRule) -> str:
    """A compact one-line form, like ``kubectl describe role`` prints a rule."""
    if rule.get("nonResourceURLs"):
        return f"{','.join(rule.get('verbs') or [])} {','.join(rule['nonResourceURLs'])}"
    groups = ",".join(g or '""' for g in rule.get("apiGroups") or [])
    text = f"{','.join(rule.get('verbs') or [])} {','.join(rule.get('resources') or [])}"
    text += f" in apiGroups {groups}"
    if rule.get("resourceNames"):
        text += f" named {','.join(rule['resourceNames'])}"
    return text

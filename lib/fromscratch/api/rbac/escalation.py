"""Escalation prevention: you cannot grant what you do not hold.

Models kube-apiserver's RBAC escalation checks (``pkg/registry/rbac/role/policybased``,
``…/rolebinding/policybased`` and ``ConfirmNoEscalation`` with ``Covers`` from
``k8s.io/component-helpers/auth/rbac/validation``).  Without them, anyone
allowed to create RoleBindings could bind themselves to ``cluster-admin``.

- creating or updating a **Role/ClusterRole** is allowed if the user is in
  ``system:masters``, *or* may ``escalate`` roles, *or* already holds every
  permission the role's rules grant (in that namespace; cluster-wide for a
  ClusterRole);
- a ClusterRole with an ``aggregationRule`` (which can collect any rule) also
  needs every permission there is, unless the user may ``escalate``;
- creating or updating a **RoleBinding/ClusterRoleBinding** is allowed if the
  user is in ``system:masters``, *or* may ``bind`` the referenced role (RBAC
  rule with verb ``bind`` on ``roles``/``clusterroles``, optionally with
  ``resourceNames``), *or* already holds every permission of that role.

"Holds every permission" is :func:`uncovered_rules`: each rule requested is
broken down into one (group, resource, verb[, name]) at a time, and each piece
must be covered by one rule the user already has.  The error lists the missing
pieces, as kube-apiserver does.

Simplified: runs as a validating admission function (kube-apiserver checks
in the RBAC storage layer, before admission).
"""

from __future__ import annotations

from collections.abc import Callable

from fromscratch.api import errors
from fromscratch.api.admission import AdmissionRequest
from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.rbac.attributes import MASTERS, with_authenticated_group
from fromscratch.api.rbac.authorizer import rules_for
from fromscratch.api.rbac.policy import RBAC_GROUP, Policy, RoleNotFound
from fromscratch.api.rbac.rules import PolicyRule
from fromscratch.exercises import pluggable

Authorizer = Callable[[Attributes], "tuple[bool, str]"]
FULL_AUTHORITY = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                  {"nonResourceURLs": ["*"], "verbs": ["*"]}]


def breakdown(rule: PolicyRule) -> list[PolicyRule]:
    """One rule per (group, resource, verb[, name]) and per (URL, verb) (BreakdownRule)."""
    pieces: list[PolicyRule] = []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in rule.get("verbs") or []:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                names = rule.get("resourceNames") or []
                pieces += [{**base, "resourceNames": [n]} for n in names] if names else [base]
    for url in rule.get("nonResourceURLs") or []:
        for verb in rule.get("verbs") or []:
            pieces.append({"nonResourceURLs": [url], "verbs": [verb]})
    return pieces


def _has_all(owned: list[str], wanted: list[str]) -> bool:
    return all(w in owned for w in wanted)


def _resources_covered(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned:
        return True
    for resource in wanted:
        if resource in owned:
            continue
        # "*/status" in the owner's rule covers "pods/status"
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def _urls_covered(owned: list[str], wanted: list[str]) -> bool:
    return all(any(o == w or (o.endswith("*") and w.startswith(o.rstrip("*"))) for o in owned)
               for w in wanted)


def rule_covers(owner: PolicyRule, piece: PolicyRule) -> bool:
    """Does one rule the user holds cover one broken-down piece (ruleCovers)?"""
    verbs, groups = owner.get("verbs") or [], owner.get("apiGroups") or []
    owner_names, names = owner.get("resourceNames") or [], piece.get("resourceNames") or []
    return ((("*" in verbs) or _has_all(verbs, piece.get("verbs") or []))
            and (("*" in groups) or _has_all(groups, piece.get("apiGroups") or []))
            and _resources_covered(owner.get("resources") or [], piece.get("resources") or [])
            and _urls_covered(owner.get("nonResourceURLs") or [],
                              piece.get("nonResourceURLs") or [])
            # an unrestricted rule covers any name; a named one only the names it lists
            and (not owner_names or (bool(names) and _has_all(owner_names, names))))


@pluggable("uncovered_rules")
def uncovered_rules(held: list[PolicyRule], requested: list[PolicyRule]) -> list[PolicyRule]:
    """The broken-down pieces of ``requested`` that no rule in ``held`` covers ([] = no escalation)."""
    return [piece for rule in requested for piece in breakdown(rule)
            if not any(rule_covers(owner, piece) for owner in held)]


def compact(rule: PolicyRule) -> str:
    """``{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`` (CompactString)."""
    fields = [("APIGroups", "apiGroups"), ("Resources", "resources"),
              ("ResourceNames", "resourceNames"), ("NonResourceURLs", "nonResourceURLs"),
              ("Verbs", "verbs")]
    parts = [f'{label}:[{", ".join(chr(34) + v + chr(34) for v in rule[key])}]'
             for label, key in fields if rule.get(key)]
    return "{" + ", ".join(parts) + "}"


def escalation_message(user: UserInfo, missing: list[PolicyRule]) -> str:
    groups = " ".join(f'"{g}"' for g in user.groups)
    lines = sorted({compact(rule) for rule in missing})
    return (f'user "{user.name}" (groups=[{groups}]) is attempting to grant RBAC permissions '
            "not currently held:\n" + "\n".join(lines))


def _may(authorizer: Authorizer, user: UserInfo, verb: str, resource: str, namespace: str,
         name: str) -> bool:
    path = f"/apis/{RBAC_GROUP}/v1/" + (f"namespaces/{namespace}/" if namespace else "") + \
        f"{resource}/{name}"
    allowed, _ = authorizer(Attributes(user=user, verb=verb, is_resource_request=True,
                                       path=path, namespace=namespace, api_group=RBAC_GROUP,
                                       api_version="v1", resource=resource, name=name))
    return allowed


def _uncovered(held: list[PolicyRule], wanted: list[PolicyRule]) -> list[PolicyRule]:
    try:
        return uncovered_rules(held, wanted)
    except Exception as err:  # a learner's plugged-in version may raise: say which
        raise errors.internal_error(
            f"uncovered_rules raised {type(err).__name__}: {err}") from None


def escalation_check(policy: Callable[[], Policy], authorizer: Callable[[], Authorizer]
                     ) -> Callable[[AdmissionRequest], None]:
    """The admission function refusing RBAC writes that grant more than the user holds."""

    def admit(request: AdmissionRequest) -> None:
        kind = request.kind
        if kind.group != RBAC_GROUP or request.operation == "DELETE" or request.object is None:
            return
        if request.user is None:
            return  # the server writing its own bootstrap policy
        user = with_authenticated_group(request.user)
        if MASTERS in user.groups:
            return
        obj, namespace = request.object, request.namespace if kind.namespaced else ""
        current = policy()
        if kind.kind in ("Role", "ClusterRole"):
            if _may(authorizer(), user, "escalate", kind.plural, namespace, request.name):
                return
            wanted = list(obj.get("rules") or [])
        else:
            ref = obj.get("roleRef") or {}
            ref_plural = "roles" if ref.get("kind") == "Role" else "clusterroles"
            if _may(authorizer(), user, "bind", ref_plural, namespace, ref.get("name", "")):
                return
            try:
                wanted = current.role_ref_rules(ref, namespace)
            except RoleNotFound as missing:
                raise errors.forbidden_error(
                    f'{kind.plural}.{RBAC_GROUP} "{request.name}" is forbidden: {missing}',
                    resource=kind.plural, name=request.name, group=RBAC_GROUP) from None
        held = rules_for(current, user, namespace)
        missing_rules = _uncovered(held, wanted)
        forbidden = f'{kind.plural}.{RBAC_GROUP} "{request.name}" is forbidden: '
        if missing_rules:
            raise errors.forbidden_error(forbidden + escalation_message(user, missing_rules),
                                         resource=kind.plural, name=request.name,
                                         group=RBAC_GROUP)
        # an aggregationRule can gather any rule at all: it takes cluster-admin's powers
        if kind.kind == "ClusterRole" and obj.get("aggregationRule") and _uncovered(
                held, FULL_AUTHORITY):
            raise errors.forbidden_error(
                forbidden + "must have cluster-admin privileges to use the aggregationRule",
                resource=kind.plural, name=request.name, group=RBAC_GROUP)

    return admit

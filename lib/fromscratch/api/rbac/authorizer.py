"""The RBAC authorizer: default deny, rules only add, and the answer says *why*.

Models kube-apiserver's ``--authorization-mode=RBAC``
(``plugin/pkg/auth/authorizer/rbac/rbac.go`` and the rule resolver in
``pkg/registry/rbac/validation/rule.go``).  For a request in namespace *ns*:

1. every **ClusterRoleBinding** whose subjects include the user grants its
   ClusterRole's rules everywhere;
2. every **RoleBinding in ns** whose subjects include the user grants its
   role's rules *in ns only* — whether it points at a Role in ns or at a
   ClusterRole (a way to reuse one ClusterRole in many namespaces);
3. the first rule that matches allows the request, and the decision names
   the binding: ``RBAC: allowed by RoleBinding "read-pods/dev" of Role
   "pod-reader" to ServiceAccount "ci/dev"``.  No rule: denied (403).

A subject applies when it is the ``User`` by name, a ``Group`` the user is
in, or the ``ServiceAccount`` ``system:serviceaccount:<ns>:<name>`` (a
RoleBinding's ServiceAccount subject without a namespace means the binding's
own namespace).  A binding whose role is missing grants nothing.

In front of RBAC, as in every kube-apiserver, the ``system:masters`` group is
allowed everything without consulting any rule (:func:`masters_bypass`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.rbac.attributes import (
    MASTERS,
    split_service_account,
    with_authenticated_group,
)
from fromscratch.api.rbac.policy import Obj, Policy, RoleNotFound
from fromscratch.api.rbac.rules import PolicyRule, rule_matches
from fromscratch.exercises import pluggable


@dataclass(frozen=True)
class Grant:
    """One rule a user holds, and where it comes from."""

    rule: PolicyRule
    binding: Obj
    subject: Obj


@dataclass(frozen=True)
class Decision:
    """An authorization decision; when allowed, the binding, subject and rule that allowed it."""

    allowed: bool
    binding: Obj | None = None
    subject: Obj | None = None
    rule: PolicyRule | None = None
    errors: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        """The reason kube-apiserver gives (audit logs, SubjectAccessReview status)."""
        if self.allowed and self.binding is not None:
            return f"RBAC: allowed by {describe_binding(self.binding, self.subject)}"
        if not self.allowed and self.errors:
            return f"RBAC: [{', '.join(self.errors)}]"
        return ""


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f'ServiceAccount "{subject.get("name")}/{namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def describe_binding(binding: Obj, subject: Obj | None) -> str:
    """``RoleBinding "name/ns" of Role "r" to User "u"``, as the real resolver prints it."""
    meta, ref = binding["metadata"], binding.get("roleRef") or {}
    namespace = meta.get("namespace", "")
    where = f'RoleBinding "{meta["name"]}/{namespace}"' if binding.get("kind") == "RoleBinding" \
        else f'ClusterRoleBinding "{meta["name"]}"'
    text = f'{where} of {ref.get("kind")} "{ref.get("name")}"'
    return text + (f" to {describe_subject(subject, namespace)}" if subject else "")


def subject_applies(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    """Does this binding subject name ``user`` (appliesToUser)?"""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        # a ServiceAccount without a namespace is one of the binding's own namespace
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and split_service_account(user.name) == (namespace, name)
    return False


def _first_applying(binding: Obj, user: UserInfo) -> Obj | None:
    namespace = binding["metadata"].get("namespace", "")
    for subject in binding.get("subjects") or []:
        if subject_applies(subject, user, namespace):
            return subject
    return None


def visit_grants(policy: Policy, user: UserInfo, namespace: str,
                 errors: list[str] | None = None) -> Iterator[Grant]:
    """Every rule ``user`` holds in ``namespace`` ("" = cluster-wide only), in upstream order."""
    # 1. cluster-wide bindings, then 2. the bindings of the request's namespace
    bindings = list(policy.cluster_role_bindings)
    if namespace:
        bindings += policy.bindings_in(namespace)
    for binding in bindings:
        subject = _first_applying(binding, user)
        if subject is None:
            continue
        binding_namespace = binding["metadata"].get("namespace", "") \
            if binding.get("kind") == "RoleBinding" else ""
        try:
            rules = policy.role_ref_rules(binding.get("roleRef") or {}, binding_namespace)
        except RoleNotFound as missing:
            if errors is not None:
                errors.append(str(missing))
            continue  # a binding to a missing role grants nothing
        for rule in rules:
            yield Grant(rule, binding, subject)


@pluggable("authorize")
def authorize(attributes: Attributes, policy: Policy) -> Decision:
    """RBAC's decision on one request: the first granted rule that matches allows it."""
    errors: list[str] = []
    for grant in visit_grants(policy, attributes.user, attributes.namespace, errors):
        if rule_matches(grant.rule, attributes):
            return Decision(True, grant.binding, grant.subject, grant.rule)
    return Decision(False, errors=tuple(errors))


def rules_for(policy: Policy, user: UserInfo, namespace: str) -> list[PolicyRule]:
    """All rules ``user`` holds in ``namespace`` (what SelfSubjectRulesReview lists)."""
    return [grant.rule for grant in visit_grants(policy, with_authenticated_group(user),
                                                 namespace)]


def masters_bypass(attributes: Attributes) -> bool:
    """The ``system:masters`` group may do anything, before and without RBAC."""
    return MASTERS in attributes.user.groups


class RBACAuthorizer:
    """The server's authorizer: ``system:masters`` first, then RBAC over the live policy."""

    def __init__(self, policy: object) -> None:
        # a Policy, or a callable returning the current one (a PolicyCache)
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy() if callable(self._policy) else self._policy  # type: ignore[return-value]

    def decide(self, attributes: Attributes) -> Decision:
        attributes = _authenticated(attributes)
        if masters_bypass(attributes):
            return Decision(True)
        return authorize(attributes, self.policy)

    def __call__(self, attributes: Attributes) -> tuple[bool, str]:
        decision = self.decide(attributes)
        return decision.allowed, decision.reason


def _authenticated(attributes: Attributes) -> Attributes:
    return replace(attributes, user=with_authenticated_group(attributes.user))

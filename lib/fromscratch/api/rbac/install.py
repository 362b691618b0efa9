"""Turning RBAC on in our API server: ``rbac = enable_rbac(server)``.

Does what ``kube-apiserver --authorization-mode=RBAC`` and the controllers
that come with it do, through the server's plug points only:

- ``server.authorizer``: ``system:masters``, then RBAC over the live policy;
- the bootstrap ClusterRoles and ClusterRoleBindings (``defaults.py``), and
  the aggregation controller filling ``admin``/``edit``/``view``;
- admission: the ServiceAccount plugin (Pods) and the escalation check (RBAC objects);
- the ServiceAccount controller (``default`` and ``kube-root-ca.crt`` in every namespace);
- the ``authorization.k8s.io`` reviews behind ``kubectl auth can-i``.

The returned :class:`RBAC` answers questions about the policy without HTTP:
:meth:`RBAC.can` ("may this user …?") and :meth:`RBAC.explain` (the "why":
every binding that applies to the user, and which rule decided).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.rbac.aggregation import AggregationController
from fromscratch.api.rbac.attributes import request_attributes
from fromscratch.api.rbac.authorizer import (
    Decision,
    RBACAuthorizer,
    describe_binding,
    masters_bypass,
    visit_grants,
)
from fromscratch.api.rbac.defaults import ensure_bootstrap_policy
from fromscratch.api.rbac.escalation import escalation_check
from fromscratch.api.rbac.policy import PolicyCache
from fromscratch.api.rbac.reviews import install_review_api
from fromscratch.api.rbac.rules import describe_rule, rule_matches
from fromscratch.api.rbac.serviceaccounts import ServiceAccountsController, service_account_admission

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer


@dataclass
class RBAC:
    """RBAC as installed in one API server."""

    server: APIServer
    policy: PolicyCache
    authorizer: RBACAuthorizer
    service_accounts: ServiceAccountsController
    aggregation: AggregationController

    def can(self, user: UserInfo, method: str, url: str) -> Decision:
        """The decision for ``user`` sending ``method url`` (no HTTP involved)."""
        return self.authorizer.decide(request_attributes(user, method, url))

    def explain(self, user: UserInfo, method: str, url: str) -> str:
        """A readable trace: the request's attributes, each applying binding, the verdict."""
        attributes = request_attributes(user, method, url)
        lines = [f"{attributes.user.name} (groups {', '.join(attributes.user.groups)})",
                 f"  {describe_request(attributes)}"]
        if masters_bypass(attributes):
            lines.append("  ALLOWED: member of system:masters (RBAC not consulted)")
            return "\n".join(lines)
        seen = None
        for grant in visit_grants(self.policy(), attributes.user, attributes.namespace):
            if grant.binding is not seen:
                seen = grant.binding
                lines.append(f"  {describe_binding(grant.binding, grant.subject)}:")
            hit = rule_matches(grant.rule, attributes)
            lines.append(f"    {'✔' if hit else '·'} {describe_rule(grant.rule)}")
            if hit:
                lines.append(f"  ALLOWED: {Decision(True, grant.binding, grant.subject).reason}")
                return "\n".join(lines)
        lines.append("  DENIED: no rule in any applying binding matches (RBAC denies by default)")
        return "\n".join(lines)


def describe_request(a: Attributes) -> str:
    """``delete deployments in group "apps" in namespace shop, name web``."""
    if not a.is_resource_request:
        return f"{a.verb} path {a.path}"
    what = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    where = f"in namespace {a.namespace}" if a.namespace else "cluster-wide"
    return f'{a.verb} {what} in group "{a.api_group}" {where}' + (
        f", name {a.name}" if a.name else "")


def enable_rbac(server: APIServer) -> RBAC:
    """Install RBAC in ``server`` (before or after ``start()``); returns the :class:`RBAC`."""
    existing = getattr(server, "rbac", None)
    if isinstance(existing, RBAC):
        return existing
    cache = PolicyCache(server.registry)
    authorizer = RBACAuthorizer(cache)
    aggregation = AggregationController(server.registry)
    ensure_bootstrap_policy(server.registry)
    aggregation.sync()
    server.admission.add_mutating("ServiceAccount", service_account_admission(server.registry))
    server.admission.add_validating("RBACEscalation",
                                    escalation_check(cache, lambda: server.authorizer))
    accounts = ServiceAccountsController(server.registry, server.pki.ca_cert.read_text())
    accounts.sync()
    install_review_api(server)
    server.authorizer = authorizer
    rbac = RBAC(server, cache, authorizer, accounts, aggregation)
    server.rbac = rbac  # type: ignore[attr-defined]
    return rbac

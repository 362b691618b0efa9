"""The roles every cluster starts with: cluster-admin, admin, edit, view, and the system ones.

Models kube-apiserver's RBAC bootstrap policy
(``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``), which the
server writes at start-up (the ``rbac/bootstrap-roles`` post-start hook):

- ``cluster-admin``: everything, everywhere (bound to the group ``system:masters``);
- ``admin``: everything inside a namespace, including Roles and RoleBindings
  (granted with a RoleBinding), but not the namespace itself nor quotas;
- ``edit``: read/write most namespaced objects, but not Roles or RoleBindings;
- ``view``: read most namespaced objects, but **not Secrets** (reading a
  ServiceAccount's token Secret would let a viewer act as that account);
- ``system:basic-user``: every authenticated user may ask "can I?" and "who am I?"
  (SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview);
- ``system:discovery`` / ``system:public-info-viewer``: discovery, version
  and health paths.

``admin``, ``edit`` and ``view`` are *aggregated*: their rules are collected
from every ClusterRole labelled ``rbac.authorization.k8s.io/aggregate-to-…``
(see ``aggregation.py``), and ``view`` feeds ``edit`` which feeds ``admin``.

Simplified: the rules cover the resources this course's API server serves
(no ingresses, policy, networking, or pod exec/attach/portforward rules beyond
names), and the annotations ``rbac.authorization.kubernetes.io/autoupdate``
are set but never acted on.
"""

from __future__ import annotations

from typing import Any

from fromscratch.api import errors
from fromscratch.api.registry import Registry

Obj = dict[str, Any]
API_VERSION = "rbac.authorization.k8s.io/v1"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def rule(verbs: list[str], groups: list[str], resources: list[str]) -> Obj:
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}


def url_rule(verbs: list[str], urls: list[str]) -> Obj:
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


def cluster_role(name: str, rules: list[Obj], *, labels: dict[str, str] | None = None,
                 aggregate_from: str | None = None) -> Obj:
    role: Obj = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                 "metadata": {"name": name, "labels": {**BOOTSTRAP_LABELS, **(labels or {})},
                              "annotations": dict(AUTOUPDATE)},
                 "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"{AGGREGATE}{aggregate_from}": "true"}}]}
    return role


def cluster_role_binding(name: str, role: str, groups: list[str]) -> Obj:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABELS),
                         "annotations": dict(AUTOUPDATE)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}
                         for g in groups]}


# namespaced objects a viewer may read (no secrets), by API group
VIEWABLE = {
    "": ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
         "pods", "pods/log", "pods/status", "services", "services/status", "serviceaccounts",
         "events", "namespaces", "namespaces/status"],
    "apps": ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
             "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
             "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"],
    "autoscaling": ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
    "batch": ["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
    "coordination.k8s.io": ["leases"],
}
EDITABLE = {
    "": ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "pods/attach",
         "pods/exec", "pods/portforward", "secrets", "serviceaccounts", "services"],
    "apps": ["daemonsets", "deployments", "deployments/scale", "replicasets",
             "replicasets/scale", "statefulsets", "statefulsets/scale"],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["cronjobs", "jobs"],
    "coordination.k8s.io": ["leases"],
}


def bootstrap_cluster_roles() -> list[Obj]:
    view_rules = [rule(READ, [group], resources) for group, resources in VIEWABLE.items()]
    edit_rules = [rule(READ, [""], ["secrets"]),
                  rule(["impersonate"], [""], ["serviceaccounts"]),
                  rule(["create"], [""], ["serviceaccounts/token"])]
    edit_rules += [rule(WRITE, [group], resources) for group, resources in EDITABLE.items()]
    admin_rules = [rule([*READ, *WRITE], ["rbac.authorization.k8s.io"],
                        ["rolebindings", "roles"]),
                   rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"])]
    return [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])]),
        # the aggregated ones start empty: aggregation fills their rules in
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], aggregate_from="edit", labels={f"{AGGREGATE}admin": "true"}),
        cluster_role("view", [], aggregate_from="view", labels={f"{AGGREGATE}edit": "true"}),
        cluster_role("system:aggregate-to-admin", admin_rules,
                     labels={f"{AGGREGATE}admin": "true"}),
        cluster_role("system:aggregate-to-edit", edit_rules,
                     labels={f"{AGGREGATE}edit": "true"}),
        cluster_role("system:aggregate-to-view", view_rules,
                     labels={f"{AGGREGATE}view": "true"}),
        cluster_role("system:basic-user", [
            rule(["create"], ["authorization.k8s.io"],
                 ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        cluster_role("system:discovery", [url_rule(["get"], [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
            "/openapi/*", "/readyz", "/version", "/version/"])]),
        cluster_role("system:public-info-viewer", [url_rule(["get"], [
            "/healthz", "/livez", "/readyz", "/version", "/version/"])]),
    ]


def bootstrap_cluster_role_bindings() -> list[Obj]:
    return [
        cluster_role_binding("cluster-admin", "cluster-admin", ["system:masters"]),
        cluster_role_binding("system:basic-user", "system:basic-user",
                             ["system:authenticated"]),
        cluster_role_binding("system:discovery", "system:discovery", ["system:authenticated"]),
        cluster_role_binding("system:public-info-viewer", "system:public-info-viewer",
                             ["system:authenticated", "system:unauthenticated"]),
    ]


def ensure_bootstrap_policy(registry: Registry) -> int:
    """Create every missing bootstrap ClusterRole and ClusterRoleBinding; returns how many."""
    created = 0
    for plural, objects in (("clusterroles", bootstrap_cluster_roles()),
                            ("clusterrolebindings", bootstrap_cluster_role_bindings())):
        kind = registry.kinds.lookup("rbac.authorization.k8s.io", "v1", plural)
        assert kind is not None
        for obj in objects:
            try:
                registry.create(kind, "", obj)
                created += 1
            except errors.APIError as err:
                if err.reason != "AlreadyExists":  # kept from an earlier start (SQLite)
                    raise
    return created

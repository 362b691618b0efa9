"""The policy snapshot stays current, and aggregated ClusterRoles collect labelled rules."""

from __future__ import annotations

from kubernetes import client

from fromscratch.api.rbac.aggregation import aggregate_rules
from fromscratch.api.rbac.defaults import bootstrap_cluster_roles

AGG = "rbac.authorization.k8s.io/aggregate-to-"


def cluster_role(name, rules=(), labels=None, selects=None):
    role = {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}},
            "rules": list(rules)}
    if selects:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {selects: "true"}}]}
    return role


R1 = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
R2 = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}


def test_aggregation_is_the_union_of_selected_roles_without_duplicates():
    roles = [cluster_role("agg", selects="x"),
             cluster_role("a", [R1], {"x": "true"}), cluster_role("b", [R1, R2], {"x": "true"}),
             cluster_role("c", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])]
    assert aggregate_rules(roles) == {"agg": [R1, R2]}


def test_aggregation_follows_chains_and_survives_cycles():
    roles = [cluster_role("top", selects="mid"),
             cluster_role("mid", [], {"mid": "true"}, selects="leaf"),
             cluster_role("leaf", [R2], {"leaf": "true"}),
             cluster_role("loop-a", [], {"b": "true"}, selects="a"),
             cluster_role("loop-b", [R1], {"a": "true"}, selects="b")]
    result = aggregate_rules(roles)
    assert result["top"] == [R2] and result["mid"] == [R2]
    assert set(result) == {"top", "mid", "loop-a", "loop-b"}


def test_default_admin_edit_view_nest_like_upstream():
    rules = aggregate_rules(bootstrap_cluster_roles())
    view, edit, admin = (rules[n] for n in ("view", "edit", "admin"))
    assert all(rule in edit for rule in view) and all(rule in admin for rule in edit)
    assert not any("secrets" in r.get("resources", []) for r in view)
    assert any("rolebindings" in r.get("resources", []) for r in admin)
    assert not any("rolebindings" in r.get("resources", []) for r in edit)


def test_policy_cache_rebuilds_only_after_rbac_writes(server, admin, ns, rbac):
    rbac.policy()  # current
    before = rbac.policy.rebuilds
    client.CoreV1Api(admin).create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    rbac.policy()
    assert rbac.policy.rebuilds == before  # a ConfigMap does not touch the policy
    client.RbacAuthorizationV1Api(admin).create_namespaced_role(ns, {
        "metadata": {"name": "r"}, "rules": [R1]})
    assert rbac.policy().role(ns, "r")["rules"] == [R1]
    assert rbac.policy.rebuilds == before + 1


def test_policy_read_with_the_official_client_decides_like_the_server(server, admin, ns,
                                                                       token_for, rbac):
    # the same authorizer, fed from a cluster over the API, agrees with the server's answers
    from fromscratch.api.rbac import Policy, authorize
    from fromscratch.api.rbac.attributes import request_attributes, service_account_user

    token_for(ns, "reader")
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(ns, {
        "metadata": {"name": "view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]})
    remote = Policy.from_cluster(admin)
    reader = service_account_user(ns, "reader")
    for method, url in [("GET", f"/api/v1/namespaces/{ns}/pods"),
                        ("GET", f"/api/v1/namespaces/{ns}/secrets"),
                        ("POST", f"/api/v1/namespaces/{ns}/pods"),
                        ("GET", "/api/v1/namespaces/default/pods"), ("GET", "/version")]:
        attributes = request_attributes(reader, method, url)
        assert authorize(attributes, remote).allowed == rbac.authorizer(attributes)[0], url

"""Escalation prevention in the running server: no granting what you do not hold."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.rbac.conftest import RBAC_GROUP, role, role_binding, sa_subject

READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
READ_SECRETS = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
MANAGE_RBAC = {"apiGroups": [RBAC_GROUP], "resources": ["roles", "rolebindings"],
               "verbs": ["create", "update", "get", "list"]}


@pytest.fixture
def manager(server, admin, ns, token_for):
    """A ServiceAccount that may read pods and manage Roles/RoleBindings in ns, nothing more."""
    token = token_for(ns, "manager")
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("manager", READ_PODS, MANAGE_RBAC))
    rbac.create_namespaced_role_binding(ns, role_binding("manager", "Role", "manager",
                                                         sa_subject("manager", ns)))
    return client.RbacAuthorizationV1Api(server.client(token=token))


def test_may_create_a_role_within_what_it_holds(manager, ns):
    manager.create_namespaced_role(ns, role("pods-only", {
        "apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}))


def test_cannot_create_a_role_granting_more(manager, ns):
    with pytest.raises(client.ApiException) as err:
        manager.create_namespaced_role(ns, role("sneaky", READ_PODS, READ_SECRETS))
    message = json.loads(err.value.body)["message"]
    assert err.value.status == 403
    assert message == (
        f'roles.rbac.authorization.k8s.io "sneaky" is forbidden: user '
        f'"system:serviceaccount:{ns}:manager" (groups=["system:serviceaccounts" '
        f'"system:serviceaccounts:{ns}" "system:authenticated"]) is attempting to grant RBAC '
        'permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


def test_cannot_update_own_role_to_grow(manager, ns):
    current = manager.read_namespaced_role("manager", ns)
    current.rules.append(client.V1PolicyRule(api_groups=[""], resources=["secrets"],
                                             verbs=["get"]))
    with pytest.raises(client.ApiException) as err:
        manager.replace_namespaced_role("manager", ns, current)
    assert err.value.status == 403


def test_cannot_bind_cluster_admin_but_may_bind_what_it_holds(manager, admin, ns):
    with pytest.raises(client.ApiException) as err:
        manager.create_namespaced_role_binding(ns, role_binding(
            "me-admin", "ClusterRole", "cluster-admin", sa_subject("manager", ns)))
    assert err.value.status == 403
    # binding a role whose rules it holds is fine
    client.RbacAuthorizationV1Api(admin).create_namespaced_role(ns, role("pods", READ_PODS))
    manager.create_namespaced_role_binding(ns, role_binding("ok", "Role", "pods",
                                                            sa_subject("someone", ns)))


def test_escalate_verb_lifts_the_check_for_roles(manager, admin, ns):
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(ns, role_binding(
        "esc", "Role", "escalator", sa_subject("manager", ns)))
    client.RbacAuthorizationV1Api(admin).create_namespaced_role(ns, role("escalator", {
        "apiGroups": [RBAC_GROUP], "resources": ["roles"], "verbs": ["escalate"]}))
    manager.create_namespaced_role(ns, role("bigger", READ_SECRETS))


def test_bind_verb_with_resource_names_lifts_the_check_for_that_role_only(manager, admin, ns):
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("binder", {
        "apiGroups": [RBAC_GROUP], "resources": ["clusterroles"], "verbs": ["bind"],
        "resourceNames": ["view"]}))
    rbac.create_namespaced_role_binding(ns, role_binding("binder", "Role", "binder",
                                                         sa_subject("manager", ns)))
    manager.create_namespaced_role_binding(ns, role_binding(
        "viewers", "ClusterRole", "view", sa_subject("someone", ns)))
    with pytest.raises(client.ApiException) as err:
        manager.create_namespaced_role_binding(ns, role_binding(
            "editors", "ClusterRole", "edit", sa_subject("someone", ns)))
    assert err.value.status == 403


def test_binding_to_a_missing_role_is_refused_for_non_masters(manager, ns):
    with pytest.raises(client.ApiException) as err:
        manager.create_namespaced_role_binding(ns, role_binding(
            "ghost", "Role", "no-such-role", sa_subject("someone", ns)))
    assert err.value.status == 403 and "not found" in err.value.body


def test_namespace_admin_may_delegate_inside_its_namespace(server, admin, ns, token_for):
    # the "admin" ClusterRole, bound in one namespace, may grant edit there, not elsewhere
    token = token_for(ns, "owner")
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(ns, role_binding(
        "owner", "ClusterRole", "admin", sa_subject("owner", ns)))
    owner = client.RbacAuthorizationV1Api(server.client(token=token))
    owner.create_namespaced_role_binding(ns, role_binding(
        "dev-edit", "ClusterRole", "edit", sa_subject("dev", ns)))
    with pytest.raises(client.ApiException) as err:
        owner.create_namespaced_role_binding("default", role_binding(
            "dev-edit", "ClusterRole", "edit", sa_subject("dev", ns)))
    assert err.value.status == 403


def test_aggregation_rule_needs_full_authority(server, admin, ns, token_for):
    # an aggregationRule can collect any rule, so it needs every permission (or escalate)
    token = token_for(ns, "cr-maker")
    api = client.RbacAuthorizationV1Api(admin)
    api.create_cluster_role({"metadata": {"name": f"{ns}-cr-maker"}, "rules": [
        {"apiGroups": [RBAC_GROUP], "resources": ["clusterroles"], "verbs": ["create"]}]})
    api.create_cluster_role_binding({
        "metadata": {"name": f"{ns}-cr-maker"},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": f"{ns}-cr-maker"},
        "subjects": [sa_subject("cr-maker", ns)]})
    maker = client.RbacAuthorizationV1Api(server.client(token=token))
    maker.create_cluster_role({"metadata": {"name": f"{ns}-empty"}, "rules": []})
    with pytest.raises(client.ApiException) as err:
        maker.create_cluster_role({"metadata": {"name": f"{ns}-gatherer"}, "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"anything": "true"}}]}})
    assert err.value.status == 403
    assert "must have cluster-admin privileges to use the aggregationRule" in \
        json.loads(err.value.body)["message"]

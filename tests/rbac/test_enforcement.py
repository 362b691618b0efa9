"""RBAC enforced by the running API server, seen through the official client and raw HTTP."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.api.helpers import raw_request
from tests.rbac.conftest import RBAC_GROUP, role, role_binding, sa_subject

READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
POD = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}}


def bind_pod_reader(admin, ns: str, account: str = "reader") -> None:
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("pod-reader", READ_PODS))
    rbac.create_namespaced_role_binding(ns, role_binding("read-pods", "Role", "pod-reader",
                                                         sa_subject(account, ns)))


def test_service_account_lists_pods_but_cannot_create_one(server, admin, ns, token_for):
    # the chapter's scenario: a read-only Role bound to a ServiceAccount
    token = token_for(ns, "reader")
    bind_pod_reader(admin, ns)
    api = client.CoreV1Api(server.client(token=token))
    assert api.list_namespaced_pod(ns).items == []
    with pytest.raises(client.ApiException) as denied:
        api.create_namespaced_pod(ns, POD)
    status = json.loads(denied.value.body)
    assert (denied.value.status, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        f'pods is forbidden: User "system:serviceaccount:{ns}:reader" cannot create resource '
        f'"pods" in API group "" in the namespace "{ns}"')
    assert status["details"] == {"kind": "pods"}


def test_forbidden_message_for_named_and_cluster_scoped_requests(server, ns, token_for):
    # NewForbidden(group resource, name, ...) as kube-apiserver's authorization filter writes it
    token = token_for(ns, "nobody")
    user = f"system:serviceaccount:{ns}:nobody"
    code, status = raw_request(server, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web",
                               token=token)
    assert (code, status["message"]) == (403, (
        f'deployments.apps "web" is forbidden: User "{user}" cannot get resource "deployments" '
        f'in API group "apps" in the namespace "{ns}"'))
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    code, status = raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods/web/log",
                               token=token)
    assert status["message"] == (f'pods "web" is forbidden: User "{user}" cannot get resource '
                                 f'"pods/log" in API group "" in the namespace "{ns}"')
    code, status = raw_request(server, "GET", "/api/v1/nodes", token=token)
    assert status["message"] == (f'nodes is forbidden: User "{user}" cannot list resource '
                                 '"nodes" in API group "" at the cluster scope')
    code, status = raw_request(server, "GET", "/metrics", token=token)
    assert (code, status["message"]) == (
        403, f'forbidden: User "{user}" cannot get path "/metrics"')


def test_permission_is_limited_to_the_binding_namespace(server, admin, ns, token_for):
    token = token_for(ns, "reader")
    bind_pod_reader(admin, ns)
    code, _ = raw_request(server, "GET", "/api/v1/namespaces/default/pods", token=token)
    assert code == 403
    code, _ = raw_request(server, "GET", "/api/v1/pods", token=token)  # all namespaces
    assert code == 403


def test_role_binding_to_cluster_role_view_grants_reading_in_one_namespace(
        server, admin, ns, token_for):
    token = token_for(ns, "viewer")
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(
        ns, role_binding("view", "ClusterRole", "view", sa_subject("viewer", ns)))
    for path in (f"/api/v1/namespaces/{ns}/pods", f"/apis/apps/v1/namespaces/{ns}/deployments",
                 f"/api/v1/namespaces/{ns}/configmaps"):
        assert raw_request(server, "GET", path, token=token)[0] == 200, path
    # view does not include secrets, nor any write
    assert raw_request(server, "GET", f"/api/v1/namespaces/{ns}/secrets", token=token)[0] == 403
    assert raw_request(server, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                       {"metadata": {"name": "x"}}, token=token)[0] == 403
    assert raw_request(server, "GET", "/api/v1/namespaces/default/pods", token=token)[0] == 403


def test_unauthenticated_requests_are_401_not_403(server):
    for token in (None, "garbage"):
        code, status = raw_request(server, "GET", "/api/v1/namespaces", token=token)
        assert (code, status["reason"]) == (401, "Unauthorized")


def test_system_masters_may_do_anything(server):
    # the admin token is in system:masters: no RoleBinding needed
    assert raw_request(server, "GET", "/api/v1/secrets")[0] == 200
    assert raw_request(server, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles")[0] == 200


def test_discovery_and_health_are_open_to_every_authenticated_user(server, ns, token_for):
    token = token_for(ns, "nobody")
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/healthz"):
        assert raw_request(server, "GET", path, token=token)[0] == 200, path
    # ... but only GET: system:discovery grants no other verb on those URLs
    assert raw_request(server, "POST", "/api", {}, token=token)[0] == 403


def test_role_ref_is_immutable(admin, ns):
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("r", READ_PODS))
    created = rbac.create_namespaced_role_binding(ns, role_binding("b", "Role", "r",
                                                                   sa_subject("x", ns)))
    body = created.to_dict()
    changed = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding",
               "metadata": {"name": "b", "resourceVersion": body["metadata"]["resource_version"]},
               "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
               "subjects": [sa_subject("x", ns)]}
    with pytest.raises(client.ApiException) as err:
        rbac.replace_namespaced_role_binding("b", ns, changed)
    assert err.value.status == 422 and "roleRef" in err.value.body


def test_new_bindings_take_effect_immediately_and_deleting_them_revokes(
        server, admin, ns, token_for):
    token = token_for(ns, "reader")
    path = f"/api/v1/namespaces/{ns}/pods"
    assert raw_request(server, "GET", path, token=token)[0] == 403
    bind_pod_reader(admin, ns)
    assert raw_request(server, "GET", path, token=token)[0] == 200
    client.RbacAuthorizationV1Api(admin).delete_namespaced_role_binding("read-pods", ns)
    assert raw_request(server, "GET", path, token=token)[0] == 403


def test_resource_names_allow_one_object_and_a_pinned_list_or_watch(server, admin, ns, token_for):
    token = token_for(ns, "one")
    rbac = client.RbacAuthorizationV1Api(admin)
    client.CoreV1Api(admin).create_namespaced_config_map(ns, {"metadata": {"name": "settings"}})
    rbac.create_namespaced_role(ns, role("one-cm", {
        "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"],
        "verbs": ["get", "list", "watch", "create", "deletecollection"]}))
    rbac.create_namespaced_role_binding(ns, role_binding("one", "Role", "one-cm",
                                                         sa_subject("one", ns)))
    base = f"/api/v1/namespaces/{ns}/configmaps"
    assert raw_request(server, "GET", f"{base}/settings", token=token)[0] == 200
    assert raw_request(server, "GET", f"{base}/other", token=token)[0] == 403
    assert raw_request(server, "GET", base, token=token)[0] == 403
    pinned = f"{base}?fieldSelector=metadata.name%3Dsettings"
    assert raw_request(server, "GET", pinned, token=token)[0] == 200
    # resourceNames cannot restrict create or deletecollection: both denied
    assert raw_request(server, "POST", base, {"metadata": {"name": "settings2"}},
                       token=token)[0] == 403
    assert raw_request(server, "DELETE", base, token=token)[0] == 403


def test_subresources_need_their_own_rule(server, admin, ns, token_for):
    token = token_for(ns, "scaler")
    rbac = client.RbacAuthorizationV1Api(admin)
    client.AppsV1Api(admin).create_namespaced_deployment(ns, {
        "metadata": {"name": "web"}, "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "m", "image": "nginx"}]}}}})
    rbac.create_namespaced_role(ns, role("scaler", {
        "apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}))
    rbac.create_namespaced_role_binding(ns, role_binding("scaler", "Role", "scaler",
                                                         sa_subject("scaler", ns)))
    apps = client.AppsV1Api(server.client(token=token))
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment_scale("web", ns).spec.replicas == 3
    with pytest.raises(client.ApiException) as err:
        apps.read_namespaced_deployment("web", ns)
    assert err.value.status == 403


def test_aggregated_cluster_role_picks_up_a_labelled_role(admin, server, ns, token_for):
    # installing a role labelled aggregate-to-view extends "view" (how CRDs join the defaults)
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_cluster_role({"metadata": {"name": f"{ns}-nodes-view", "labels": {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]})
    names = [tuple(r.resources or []) for r in rbac.read_cluster_role("view").rules]
    assert ("nodes",) in names
    # view feeds edit, which feeds admin
    assert ("nodes",) in [tuple(r.resources or []) for r in rbac.read_cluster_role("admin").rules]
    rbac.delete_cluster_role(f"{ns}-nodes-view")
    assert ("nodes",) not in [tuple(r.resources or []) for r in rbac.read_cluster_role("view").rules]


def test_static_token_users_and_groups_are_rbac_subjects(tmp_path):
    # users from --token-auth-file are matched by name and by the groups the file lists
    from fromscratch.api.rbac import enable_rbac
    from fromscratch.api.server import APIServer

    tokens = tmp_path / "tokens.csv"
    tokens.write_text('alice-token,alice,1001,"dev"\nbob-token,bob,1002\n')
    with APIServer(token_file=str(tokens)) as srv:
        enable_rbac(srv)
        client.RbacAuthorizationV1Api(srv.client()).create_namespaced_role_binding(
            "default", role_binding("devs-view", "ClusterRole", "view",
                                    {"kind": "Group", "name": "dev"}))
        assert raw_request(srv, "GET", "/api/v1/namespaces/default/pods",
                           token="alice-token")[0] == 200
        code, status = raw_request(srv, "GET", "/api/v1/namespaces/default/pods",
                                   token="bob-token")
        assert code == 403 and 'User "bob" cannot list' in status["message"]
        assert srv.internal_errors == 0

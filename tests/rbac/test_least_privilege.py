"""Least privilege: a Role derived from what a task did grants that and nothing more."""

from __future__ import annotations

from kubernetes import client

from fromscratch.api.rbac import Policy, authorize
from fromscratch.api.rbac.attributes import request_attributes, service_account_user
from fromscratch.api.rbac.least_privilege import AuditRecorder, minimal_role
from tests.api.helpers import raw_request
from tests.rbac.conftest import role_binding, sa_subject

NEEDS = [("get", "", "pods", ""), ("list", "", "pods", ""), ("get", "", "configmaps", "cfg"),
         ("patch", "apps", "deployments", "web"), ("get", "", "pods/log", "")]


def test_minimal_role_merges_resources_sharing_group_verbs_and_names():
    role = minimal_role("r", "ns", NEEDS + [("get", "", "services", ""),
                                            ("list", "", "services", "")])
    assert role["metadata"] == {"name": "r", "namespace": "ns"}
    assert {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list"]} \
        in role["rules"]
    assert {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
            "resourceNames": ["cfg"]} in role["rules"]
    assert len(role["rules"]) == 4


def test_unnamed_request_widens_to_every_object():
    # RBAC cannot restrict a request without a name, so the name-less need wins
    role = minimal_role("r", "ns", [("get", "", "secrets", "a"), ("get", "", "secrets", "")])
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]


def test_derived_role_allows_every_need_and_nothing_nearby():
    role = minimal_role("r", "ns", NEEDS)
    policy = Policy.from_objects([role, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "ns"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot"}]}])
    bot = service_account_user("ns", "bot")

    def allowed(method: str, url: str) -> bool:
        return authorize(request_attributes(bot, method, url), policy).allowed

    assert allowed("GET", "/api/v1/namespaces/ns/pods")
    assert allowed("GET", "/api/v1/namespaces/ns/pods/p/log")
    assert allowed("GET", "/api/v1/namespaces/ns/configmaps/cfg")
    assert allowed("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web")
    for method, url in [("GET", "/api/v1/namespaces/ns/configmaps/other"),
                        ("GET", "/api/v1/namespaces/ns/configmaps"),
                        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/db"),
                        ("GET", "/apis/apps/v1/namespaces/ns/deployments/web"),
                        ("DELETE", "/api/v1/namespaces/ns/pods/p"),
                        ("GET", "/api/v1/namespaces/other/pods")]:
        assert not allowed(method, url), (method, url)


def test_audit_recorder_collects_one_users_requests(server, admin, ns, token_for):
    token = token_for(ns, "worker")
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(
        ns, role_binding("edit", "ClusterRole", "edit", sa_subject("worker", ns)))
    with AuditRecorder(server, f"system:serviceaccount:{ns}:worker") as audit:
        raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods", token=token)
        raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods", token=token)
        raw_request(server, "GET", f"/api/v1/namespaces/{ns}/secrets/x", token=token)
        raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods")  # the admin: not recorded
    assert audit.needs() == [("list", "", "pods", ""), ("get", "", "secrets", "x")]
    # the server's own authorizer is back in place
    assert raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods", token=token)[0] == 200
    assert server.authorizer is server.rbac.authorizer

"""Access reviews and ``kubectl auth can-i``: asking the authorizer through the API."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.api.helpers import raw_request
from tests.rbac.conftest import role, role_binding, sa_subject

READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@pytest.fixture
def reader(admin, ns, token_for) -> str:
    token = token_for(ns, "reader")
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("pod-reader", READ_PODS))
    rbac.create_namespaced_role_binding(ns, role_binding("read-pods", "Role", "pod-reader",
                                                         sa_subject("reader", ns)))
    return token


def ssar(verb: str, resource: str, namespace: str) -> dict:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource,
                                            "namespace": namespace}}}


def test_self_subject_access_review_answers_for_the_caller(server, ns, reader):
    api = client.AuthorizationV1Api(server.client(token=reader))
    allowed = api.create_self_subject_access_review(ssar("list", "pods", ns))
    assert allowed.status.allowed is True
    assert allowed.status.reason == (f'RBAC: allowed by RoleBinding "read-pods/{ns}" of Role '
                                     f'"pod-reader" to ServiceAccount "reader/{ns}"')
    denied = api.create_self_subject_access_review(ssar("create", "pods", ns))
    assert denied.status.allowed is False


def test_subject_access_review_needs_permission_and_asks_about_others(server, ns, reader):
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": f"system:serviceaccount:{ns}:reader",
                     "groups": ["system:serviceaccounts"],
                     "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": ns}}}
    # the reader itself may not ask about others
    assert raw_request(server, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                       body, token=reader)[0] == 403
    code, answer = raw_request(server, "POST",
                               "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    assert code == 201 and answer["status"]["allowed"] is True
    body["spec"]["resourceAttributes"]["verb"] = "delete"
    assert raw_request(server, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                       body)[1]["status"]["allowed"] is False


def test_local_subject_access_review_is_pinned_to_its_namespace(server, ns, reader):
    path = f"/apis/authorization.k8s.io/v1/namespaces/{ns}/localsubjectaccessreviews"
    body = {"kind": "LocalSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "spec": {"user": f"system:serviceaccount:{ns}:reader",
                     "resourceAttributes": {"verb": "list", "resource": "pods"}}}
    code, answer = raw_request(server, "POST", path, body)
    assert code == 201 and answer["status"]["allowed"] is True
    assert answer["spec"]["resourceAttributes"]["namespace"] == ns
    body["spec"]["resourceAttributes"]["namespace"] = "default"
    assert raw_request(server, "POST", path, body)[0] == 400


def test_bad_reviews_are_4xx(server):
    code, status = raw_request(server, "POST", SSAR, {"spec": {}})
    assert (code, status["reason"]) == (422, "Invalid")
    code, _ = raw_request(server, "POST", SSAR, {"spec": {
        "resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/x"}}})
    assert code == 422
    code, status = raw_request(server, "POST",
                               "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                               {"spec": {"resourceAttributes": {"verb": "get"}}})
    assert code == 422 and "user or group" in status["message"]
    assert raw_request(server, "GET", SSAR)[0] == 405


def test_non_resource_review(server, ns, token_for):
    api = client.AuthorizationV1Api(server.client(token=token_for(ns, "anyone")))
    for path, allowed in (("/healthz", True), ("/metrics", False)):
        review = api.create_self_subject_access_review({"spec": {"nonResourceAttributes": {
            "path": path, "verb": "get"}}})
        assert review.status.allowed is allowed, path


def test_rules_review_lists_what_the_caller_holds(server, ns, reader):
    api = client.AuthorizationV1Api(server.client(token=reader))
    status = api.create_self_subject_rules_review({"spec": {"namespace": ns}}).status
    resource_rules = [(tuple(r.verbs), tuple(r.resources)) for r in status.resource_rules]
    assert (("get", "list", "watch"), ("pods",)) in resource_rules
    assert (("create",), ("selfsubjectaccessreviews", "selfsubjectrulesreviews")) in resource_rules
    assert any("/healthz" in r.non_resource_urls for r in status.non_resource_rules)
    # in another namespace the Role does not apply
    other = api.create_self_subject_rules_review({"spec": {"namespace": "default"}}).status
    assert ("pods",) not in [tuple(r.resources) for r in other.resource_rules]


def test_kubectl_auth_can_i(kubectl, ns, reader):
    yes = kubectl("auth", "can-i", "list", "pods", "-n", ns, token=reader)
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes")
    no = kubectl("auth", "can-i", "create", "pods", "-n", ns, token=reader)
    assert (no.returncode, no.stdout.strip()) == (1, "no")
    assert kubectl("auth", "can-i", "get", "pods", "-n", "default",
                   token=reader).stdout.strip() == "no"


def test_kubectl_auth_can_i_as_another_user_via_impersonation(kubectl, ns, reader):
    # the admin (system:masters) may impersonate anyone: the answer is the other user's
    who = f"system:serviceaccount:{ns}:reader"
    assert kubectl("auth", "can-i", "list", "pods", "-n", ns, "--as", who).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "create", "pods", "-n", ns,
                   "--as", who).stdout.strip() == "no"
    assert kubectl("auth", "can-i", "create", "pods", "-n", ns).stdout.strip() == "yes"


def test_kubectl_auth_can_i_list(kubectl, ns, reader):
    result = kubectl("auth", "can-i", "--list", "-n", ns, token=reader)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0][:2] == ["Resources", "Non-Resource"]
    assert ["pods", "[]", "[]", "[get", "list", "watch]"] in lines
    assert ["[/healthz]", "[]", "[get]"] in lines


def test_kubectl_auth_whoami_as_a_service_account(kubectl, ns, reader):
    result = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", token=reader)
    assert result.stdout == f"system:serviceaccount:{ns}:reader"


def test_kubectl_create_role_and_rolebinding_then_can_i(kubectl, ns, token_for):
    # kubectl's imperative generators send RBAC objects as protobuf
    token = token_for(ns, "bot")
    kubectl("create", "role", "cm-reader", "--verb=get", "--resource=configmaps",
            "--resource-name=settings", "-n", ns)
    kubectl("create", "rolebinding", "bot-cm", "--role=cm-reader",
            f"--serviceaccount={ns}:bot", "-n", ns)
    assert kubectl("auth", "can-i", "get", "configmaps/settings", "-n", ns,
                   token=token).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "get", "configmaps/other", "-n", ns,
                   token=token).stdout.strip() == "no"
    created = kubectl("create", "clusterrolebinding", f"{ns}-admin", "--clusterrole=cluster-admin",
                      f"--serviceaccount={ns}:bot", token=token, check=False)
    assert created.returncode != 0 and "is forbidden" in created.stderr

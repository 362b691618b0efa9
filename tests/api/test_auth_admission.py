"""Authentication (401), the authorization plug point (403) and the admission chain."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fromscratch.api.admission import AdmissionDenied
from fromscratch.api.server import APIServer
from tests.api.helpers import pod, raw_request


def test_requests_without_a_valid_token_are_401(server):
    for token in (None, "not-a-token"):
        code, status = raw_request(server, "GET", "/api/v1/namespaces", token=token)
        assert (code, status["kind"], status["reason"]) == (401, "Status", "Unauthorized")
    assert raw_request(server, "GET", "/api/v1/namespaces")[0] == 200


def test_static_token_file_users(tmp_path):
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('s3cret,alice,1001,"dev,ops"\n')
    seen = []

    def remember(attributes):
        seen.append((attributes.user.name, attributes.user.groups))
        return True, ""

    with APIServer(token_file=str(tokens), authorizer=remember) as srv:
        assert raw_request(srv, "GET", "/api/v1/namespaces", token="s3cret")[0] == 200
    assert ("alice", ("dev", "ops")) in seen


def test_service_account_tokens_are_signed_and_die_with_their_account(server, core, ns):
    core.create_namespaced_service_account(ns, {"metadata": {"name": "robot"}})
    request = core.create_namespaced_service_account_token(
        "robot", ns, {"spec": {"expirationSeconds": 3600}})
    token = request.status.token
    assert token.count(".") == 2  # a JSON Web Token
    seen = []

    def remember(attributes):
        seen.append(attributes.user.name)
        return True, ""

    server.authorizer = remember
    try:
        assert raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods", token=token)[0] == 200
        assert seen[-1] == f"system:serviceaccount:{ns}:robot"
        core.delete_namespaced_service_account("robot", ns)
        assert raw_request(server, "GET", f"/api/v1/namespaces/{ns}/pods", token=token)[0] == 401
    finally:
        from fromscratch.api.auth import allow_all

        server.authorizer = allow_all


def test_an_authorizer_that_denies_gives_403_with_the_standard_message(server, ns):
    def read_only(attributes):
        return attributes.verb in ("get", "list", "watch"), "read-only for tests"

    server.authorizer = read_only
    try:
        code, status = raw_request(server, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                                   {"metadata": {"name": "x"}})
        assert (code, status["reason"]) == (403, "Forbidden")
        assert status["message"].startswith(
            f'configmaps is forbidden: User "admin" cannot create resource "configmaps" '
            f'in API group "" in the namespace "{ns}"')
        assert raw_request(server, "GET", f"/api/v1/namespaces/{ns}/configmaps")[0] == 200
    finally:
        from fromscratch.api.auth import allow_all

        server.authorizer = allow_all


def test_mutating_admission_changes_objects_before_they_are_stored(server, core, ns):
    def add_sidecar(request):
        if request.kind.kind == "Pod" and request.operation == "CREATE":
            request.object["spec"]["containers"].append({"name": "proxy", "image": "envoy"})
        return request.object

    server.admission.add_mutating("SidecarInjector", add_sidecar)
    try:
        created = core.create_namespaced_pod(ns, pod("app"))
    finally:
        server.admission.remove("SidecarInjector")
    assert [c.name for c in created.spec.containers] == ["main", "proxy"]
    # defaulting also ran on the injected container
    assert created.spec.containers[1].image_pull_policy == "Always"


def test_validating_admission_can_reject_with_403(server, core, ns):
    def no_latest(request):
        if request.kind.kind == "Pod":
            for container in request.object["spec"]["containers"]:
                if ":" not in container["image"]:
                    raise AdmissionDenied(f"image {container['image']!r} has no tag")

    server.admission.add_validating("PinnedImages", no_latest)
    try:
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod(ns, pod("unpinned", image="nginx"))
        assert err.value.status == 403 and "has no tag" in err.value.body
        core.create_namespaced_pod(ns, pod("pinned", image="nginx:1.27"))
    finally:
        server.admission.remove("PinnedImages")


def test_a_broken_admission_function_is_a_status_not_a_crash(server, core, ns):
    def broken(request):
        raise RuntimeError("oops")

    server.admission.add_validating("Broken", broken)
    try:
        with pytest.raises(ApiException) as err:
            core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
        assert err.value.status == 500 and '"kind":"Status"' in err.value.body
    finally:
        server.admission.remove("Broken")


def test_dry_run_validates_without_storing(core, ns):
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}}, dry_run="All")
    assert created.metadata.name == "dry"
    assert core.list_namespaced_config_map(ns).items == []


def test_the_server_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError, match="loopback"):
        APIServer(host="0.0.0.0")


def test_kubeconfig_token_and_ca_work_for_a_fresh_client(server):
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=server.kubeconfig_path)
    names = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
    assert "default" in names and "kube-system" in names


def test_kubectl_auth_can_i_and_whoami_ask_the_plugged_authorizer(server, kubectl):
    def policy(a):
        # like RBAC's system:basic-user, everyone may ask what they may do
        if a.verb == "impersonate" or a.user.name == "admin" \
                or a.resource == "selfsubjectaccessreviews":
            return True, ""
        return (a.resource == "pods" and a.verb in ("get", "list")), "pods are read-only for bob"

    server.authorizer = policy
    try:
        assert kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
        denied = kubectl("auth", "can-i", "create", "pods", "--as=bob", check=False)
        assert denied.stdout.strip().startswith("no")
        assert kubectl("auth", "can-i", "list", "pods", "--as=bob").stdout.strip() == "yes"
        assert "admin" in kubectl("auth", "whoami").stdout
        forbidden = kubectl("get", "secrets", "--as=bob", check=False)
        assert 'User "bob" cannot list resource "secrets"' in forbidden.stderr
    finally:
        from fromscratch.api.auth import allow_all

        server.authorizer = allow_all


def test_subject_access_review_for_another_user(server):
    def policy(a):
        return a.user.name == "carol", ""

    server.authorizer = lambda a: (True, "") if a.user.name == "admin" else policy(a)
    try:
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": "carol", "resourceAttributes": {"verb": "get",
                                                                 "resource": "pods"}}}
        code, answer = raw_request(server, "POST",
                                   "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
        assert (code, answer["status"]["allowed"]) == (201, True)
        body["spec"]["user"] = "dave"
        assert raw_request(server, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                           body)[1]["status"]["allowed"] is False
    finally:
        from fromscratch.api.auth import allow_all

        server.authorizer = allow_all

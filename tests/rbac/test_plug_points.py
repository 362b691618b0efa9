"""The learner's functions, plugged in, really decide what the running server allows."""

from __future__ import annotations

from fromscratch import exercises
from tests.api.helpers import raw_request

POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "m", "image": "nginx"}]}}


def test_plugged_rule_matches_decides_server_requests(server, ns, token_for):
    token = token_for(ns, "nobody")
    path = f"/api/v1/namespaces/{ns}/pods"
    assert raw_request(server, "POST", path, POD, token=token)[0] == 403

    def generous(rule, attributes):  # a (wrong) learner version: every rule matches
        return True

    with exercises.using(generous, name="rule_matches") as point:
        assert raw_request(server, "POST", path, POD, token=token)[0] == 201
        assert point.calls_to_learner > 0
    assert raw_request(server, "POST", path, {**POD, "metadata": {"name": "q"}},
                       token=token)[0] == 403


def test_plugged_authorize_decides_and_its_failure_is_a_named_500(server, ns, token_for):
    token = token_for(ns, "nobody")
    path = f"/api/v1/namespaces/{ns}/configmaps"

    def unwritten(attributes, policy):
        raise NotImplementedError

    with exercises.using(unwritten, name="authorize"):
        code, status = raw_request(server, "GET", path, token=token)
    assert code == 500 and "NotImplementedError" in status["message"]
    server.internal_errors -= 1  # expected: the fixture counts unexpected 5xx
    assert raw_request(server, "GET", path, token=token)[0] == 403


def test_plugged_uncovered_rules_is_the_escalation_check(server, admin, ns, token_for):
    from kubernetes import client

    from tests.rbac.conftest import role, role_binding, sa_subject

    token = token_for(ns, "maker")
    api = client.RbacAuthorizationV1Api(admin)
    api.create_namespaced_role(ns, role("maker", {
        "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["create"]}))
    api.create_namespaced_role_binding(ns, role_binding("maker", "Role", "maker",
                                                        sa_subject("maker", ns)))
    wide = {"metadata": {"name": "wide"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    roles = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"
    assert raw_request(server, "POST", roles, wide, token=token)[0] == 403

    def blind(held, requested):  # a (wrong) learner version that never sees an escalation
        return []

    with exercises.using(blind, name="uncovered_rules"):
        assert raw_request(server, "POST", roles, wide, token=token)[0] == 201

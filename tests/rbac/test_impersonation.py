"""Impersonation headers: acting as someone else, only when allowed to ``impersonate``."""

from __future__ import annotations

from kubernetes import client

from fromscratch.api.auth import UserInfo
from fromscratch.api.rbac.impersonation import impersonate
from tests.api.helpers import raw_request
from tests.rbac.conftest import role, role_binding, sa_subject

ALICE = UserInfo("alice", groups=("devs",))


def only(verb_resource_names: set[tuple[str, str]]):
    """An authorizer allowing exactly the (resource, name) pairs given for impersonate."""
    asked = []

    def authorizer(attributes):
        asked.append((attributes.resource, attributes.namespace, attributes.name))
        return (attributes.verb == "impersonate"
                and (attributes.resource, attributes.name) in verb_resource_names), ""
    authorizer.asked = asked  # type: ignore[attr-defined]
    return authorizer


def test_no_headers_means_no_impersonation():
    assert impersonate(ALICE, {}, only(set())) is ALICE


def test_user_and_groups_are_each_checked_and_become_the_request_user():
    authorizer = only({("users", "bob"), ("groups", "ops")})
    who = impersonate(ALICE, {"Impersonate-User": "bob", "Impersonate-Group": "ops"}, authorizer)
    assert (who.name, who.groups) == ("bob", ("ops", "system:authenticated"))
    assert authorizer.asked == [("users", "", "bob"), ("groups", "", "ops")]


def test_denied_group_refuses_the_whole_request():
    import pytest

    from fromscratch.api.errors import APIError

    with pytest.raises(APIError) as err:
        impersonate(ALICE, {"Impersonate-User": "bob", "Impersonate-Group": "root"},
                    only({("users", "bob")}))
    assert err.value.code == 403
    assert err.value.message == ('groups "root" is forbidden: User "alice" cannot impersonate '
                                 'resource "groups" in API group "" at the cluster scope')


def test_service_account_impersonation_is_checked_in_its_namespace_and_gets_its_groups():
    authorizer = only({("serviceaccounts", "ci")})
    who = impersonate(ALICE, {"Impersonate-User": "system:serviceaccount:dev:ci"}, authorizer)
    assert authorizer.asked == [("serviceaccounts", "dev", "ci")]
    assert who.groups == ("system:serviceaccounts", "system:serviceaccounts:dev",
                          "system:authenticated")


def test_groups_without_a_user_are_a_bad_request():
    import pytest

    from fromscratch.api.errors import APIError

    with pytest.raises(APIError) as err:
        impersonate(ALICE, {"Impersonate-Group": "ops"}, only(set()))
    assert err.value.code == 400


def test_impersonation_over_http(server, admin, ns, token_for):
    # a ServiceAccount allowed to impersonate "reader" acts with reader's rights only
    boss = token_for(ns, "boss")
    token_for(ns, "reader")
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(ns, role("pod-reader", {
        "apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}))
    rbac.create_namespaced_role_binding(ns, role_binding("r", "Role", "pod-reader",
                                                         sa_subject("reader", ns)))
    reader = f"system:serviceaccount:{ns}:reader"
    pods = f"/api/v1/namespaces/{ns}/pods"
    code, status = raw_request(server, "GET", pods, token=boss,
                               headers={"Impersonate-User": reader})
    assert code == 403 and "cannot impersonate" in status["message"]
    rbac.create_namespaced_role(ns, role("impersonator", {
        "apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
        "resourceNames": ["reader"]}))
    rbac.create_namespaced_role_binding(ns, role_binding("i", "Role", "impersonator",
                                                         sa_subject("boss", ns)))
    assert raw_request(server, "GET", pods, token=boss,
                       headers={"Impersonate-User": reader})[0] == 200
    code, status = raw_request(server, "POST", pods, {"metadata": {"name": "x"}}, token=boss,
                               headers={"Impersonate-User": reader})
    assert code == 403 and f'User "{reader}" cannot create' in status["message"]

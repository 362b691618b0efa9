"""Bindings -> roles -> rules: what a set of RBAC objects allows, and why.

Scenarios from the RBAC documentation ("RoleBinding and ClusterRoleBinding",
"Referring to subjects", "Default roles") and ``rule.go`` in kube-apiserver.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.rbac.attributes import request_attributes, service_account_user
from fromscratch.api.rbac.authorizer import RBACAuthorizer, authorize, rules_for
from fromscratch.api.rbac.policy import Policy

RBAC_V1 = "rbac.authorization.k8s.io/v1"
DAVE = UserInfo("dave", groups=("developers",))
JANE = UserInfo("jane")
ROBOT = service_account_user("dev", "robot")


def role(name: str, namespace: str, *rules: dict) -> dict:
    return {"apiVersion": RBAC_V1, "kind": "Role",
            "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def cluster_role(name: str, *rules: dict) -> dict:
    return {"apiVersion": RBAC_V1, "kind": "ClusterRole", "metadata": {"name": name},
            "rules": list(rules)}


def binding(name: str, namespace: str | None, ref_kind: str, ref_name: str, *subjects: dict
            ) -> dict:
    obj = {"apiVersion": RBAC_V1, "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
           "metadata": {"name": name},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind,
                       "name": ref_name},
           "subjects": list(subjects)}
    if namespace:
        obj["metadata"]["namespace"] = namespace
    return obj


def user(name: str) -> dict:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
READ_SECRETS = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}
READ_NODES = {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}

POLICY = Policy.from_objects([
    role("pod-reader", "default", READ_PODS),
    cluster_role("secret-reader", READ_SECRETS),
    cluster_role("node-reader", READ_NODES),
    binding("read-pods", "default", "Role", "pod-reader", user("jane")),
    # the docs' example: a RoleBinding to a ClusterRole grants it in "development" only
    binding("read-secrets", "development", "ClusterRole", "secret-reader", user("dave")),
    binding("read-secrets-global", None, "ClusterRole", "secret-reader", group("manager")),
    binding("nodes", None, "ClusterRole", "node-reader", group("developers")),
    binding("robot-pods", "dev", "ClusterRole", "secret-reader",
            {"kind": "ServiceAccount", "name": "robot"}),  # namespace defaults to "dev"
    binding("dangling", "default", "Role", "does-not-exist", user("jane")),
])


def decide(who: UserInfo, method: str, url: str, policy: Policy = POLICY):
    return authorize(request_attributes(who, method, url), policy)


def test_role_binding_grants_its_role_in_its_namespace():
    # a Role's rules apply in the Role's (and binding's) namespace
    assert decide(JANE, "GET", "/api/v1/namespaces/default/pods").allowed
    assert not decide(JANE, "GET", "/api/v1/namespaces/dev/pods").allowed
    assert not decide(JANE, "POST", "/api/v1/namespaces/default/pods").allowed


def test_role_binding_to_cluster_role_grants_only_inside_the_binding_namespace():
    # "dave can only read Secrets in the development namespace"
    assert decide(DAVE, "GET", "/api/v1/namespaces/development/secrets/s").allowed
    assert not decide(DAVE, "GET", "/api/v1/namespaces/default/secrets/s").allowed
    assert not decide(DAVE, "GET", "/api/v1/secrets").allowed  # all namespaces: no


def test_cluster_role_binding_grants_in_every_namespace_and_cluster_wide():
    manager = UserInfo("mary", groups=("manager",))
    for url in ("/api/v1/namespaces/a/secrets", "/api/v1/namespaces/b/secrets/x",
                "/api/v1/secrets"):
        assert decide(manager, "GET", url).allowed, url


def test_group_subjects_and_cluster_scoped_resources():
    assert decide(DAVE, "GET", "/api/v1/nodes/n1").allowed
    assert not decide(JANE, "GET", "/api/v1/nodes/n1").allowed


def test_service_account_subject_without_namespace_means_the_bindings_namespace():
    assert decide(ROBOT, "GET", "/api/v1/namespaces/dev/secrets/s").allowed
    other = service_account_user("prod", "robot")  # same name, another namespace
    assert not decide(other, "GET", "/api/v1/namespaces/dev/secrets/s").allowed


def test_default_deny_with_no_bindings_at_all():
    assert not decide(JANE, "GET", "/api/v1/namespaces/default/pods", Policy()).allowed


def test_binding_to_a_missing_role_grants_nothing_and_says_so():
    decision = decide(JANE, "GET", "/api/v1/namespaces/default/configmaps")
    assert not decision.allowed
    assert decision.reason == 'RBAC: [role.rbac.authorization.k8s.io "does-not-exist" not found]'


def test_reason_names_the_binding_role_and_subject_like_kube_apiserver():
    assert decide(JANE, "GET", "/api/v1/namespaces/default/pods").reason == (
        'RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to User "jane"')
    assert decide(ROBOT, "GET", "/api/v1/namespaces/dev/secrets").reason == (
        'RBAC: allowed by RoleBinding "robot-pods/dev" of ClusterRole "secret-reader" '
        'to ServiceAccount "robot/dev"')
    decision = decide(DAVE, "GET", "/api/v1/nodes")
    assert decision.reason == ('RBAC: allowed by ClusterRoleBinding "nodes" of ClusterRole '
                               '"node-reader" to Group "developers"')
    assert decision.rule == READ_NODES


def test_system_masters_bypasses_rbac_entirely():
    authorizer = RBACAuthorizer(Policy())
    admin = UserInfo("root", groups=("system:masters",))
    attributes = request_attributes(admin, "DELETE", "/api/v1/namespaces/kube-system")
    assert authorizer(attributes) == (True, "")
    # without the group, the same empty policy denies
    assert authorizer(request_attributes(JANE, "GET", "/api/v1/pods")) == (False, "")


def test_every_authenticated_user_gets_system_authenticated():
    policy = Policy.from_objects([
        cluster_role("basic", {"apiGroups": ["authorization.k8s.io"], "verbs": ["create"],
                               "resources": ["selfsubjectaccessreviews"]}),
        binding("basic", None, "ClusterRole", "basic", group("system:authenticated"))])
    bare = UserInfo("nobody-special")  # no groups at all from its token
    attributes = Attributes(user=bare, verb="create", is_resource_request=True, path="",
                            api_group="authorization.k8s.io",
                            resource="selfsubjectaccessreviews")
    assert RBACAuthorizer(policy)(attributes)[0]


def test_rules_for_lists_cluster_then_namespace_rules():
    assert rules_for(POLICY, DAVE, "development") == [READ_NODES, READ_SECRETS]
    assert rules_for(POLICY, DAVE, "") == [READ_NODES]


# --- property: RBAC is purely additive -----------------------------------------------------
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"]
RESOURCES = ["pods", "pods/log", "secrets", "deployments", "*", "*/scale", "deployments/scale"]
GROUPS = ["", "apps", "*"]
NAMES = ["", "a", "b"]

rules = st.fixed_dictionaries({
    "apiGroups": st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2),
    "resources": st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2),
    "verbs": st.lists(st.sampled_from(VERBS), min_size=1, max_size=3),
    "resourceNames": st.lists(st.sampled_from(["a", "b"]), max_size=1),
})
requests = st.builds(
    lambda verb, group_, resource, name, ns: Attributes(
        user=JANE, verb=verb, is_resource_request=True, path="", namespace=ns,
        api_group=group_, resource=resource.split("/")[0],
        subresource=resource.split("/")[1] if "/" in resource else "", name=name),
    st.sampled_from(VERBS[:-1]), st.sampled_from(GROUPS[:-1]),
    st.sampled_from(["pods", "pods/log", "secrets", "deployments", "deployments/scale"]),
    st.sampled_from(NAMES), st.sampled_from(["dev", "prod"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(rules, max_size=4), rules, requests, st.booleans())
def test_adding_a_rule_never_removes_a_permission(existing, extra, request_, cluster_wide):
    # rules only add: whatever was allowed stays allowed when a rule is added
    bind = binding("b", None if cluster_wide else "dev", "ClusterRole", "r", user("jane"))
    before = Policy.from_objects([cluster_role("r", *existing), bind])
    after = Policy.from_objects([cluster_role("r", *existing, extra), bind])
    if authorize(request_, before).allowed:
        assert authorize(request_, after).allowed

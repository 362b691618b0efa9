"""One rule against one request: the decision table of the Kubernetes RBAC documentation.

Cases come from https://kubernetes.io/docs/reference/access-authn-authz/rbac/
(referring to resources, resourceNames, wildcards, non-resource URLs) and from
``RuleAllows`` / ``evaluation_helpers.go`` in kube-apiserver.
"""

from __future__ import annotations

import pytest

from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.rbac.rules import describe_rule, rule_matches

ALICE = UserInfo("alice", groups=("system:authenticated",))


def req(verb: str, resource: str = "", *, group: str = "", namespace: str = "dev",
        name: str = "", subresource: str = "", path: str = "") -> Attributes:
    if path:
        return Attributes(user=ALICE, verb=verb, is_resource_request=False, path=path)
    return Attributes(user=ALICE, verb=verb, is_resource_request=True, path="",
                      namespace=namespace, api_group=group, api_version="v1",
                      resource=resource, subresource=subresource, name=name)


POD_READER = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}
LOGS = {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}
MY_CONFIGMAP = {"apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": ["my-configmap"], "verbs": ["update", "get"]}
EVERYTHING_EXAMPLE = {"apiGroups": ["example.com"], "resources": ["*"], "verbs": ["*"]}
ANY_SCALE = {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["get", "update"]}
HEALTHZ = {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}

# (rule, request, allowed, why)
TABLE = [
    (POD_READER, req("get", "pods", name="web"), True, "verb and resource listed"),
    (POD_READER, req("list", "pods"), True, "list of the collection"),
    (POD_READER, req("create", "pods"), False, "verb not listed"),
    (POD_READER, req("get", "pods", group="apps"), False, "pods in another group"),
    (POD_READER, req("get", "pods", name="web", subresource="log"), False,
     "pods does not cover pods/log"),
    (LOGS, req("get", "pods", name="web", subresource="log"), True, "pods/log listed"),
    (LOGS, req("get", "pods", name="web", subresource="exec"), False, "only the log subresource"),
    (MY_CONFIGMAP, req("get", "configmaps", name="my-configmap"), True, "named object"),
    (MY_CONFIGMAP, req("get", "configmaps", name="other"), False, "another name"),
    (MY_CONFIGMAP, req("list", "configmaps"), False, "an unpinned list has no name"),
    ({**MY_CONFIGMAP, "verbs": ["list"]}, req("list", "configmaps", name="my-configmap"), True,
     "a list pinned with fieldSelector metadata.name carries the name"),
    ({**MY_CONFIGMAP, "verbs": ["create"]}, req("create", "configmaps"), False,
     "resourceNames cannot restrict create"),
    ({**MY_CONFIGMAP, "verbs": ["deletecollection"]}, req("deletecollection", "configmaps"), False,
     "resourceNames cannot restrict deletecollection"),
    (EVERYTHING_EXAMPLE, req("delete", "widgets", group="example.com", name="w"), True,
     "* resources and * verbs in one group"),
    (EVERYTHING_EXAMPLE, req("get", "widgets", group="example.com", subresource="status",
                             name="w"), True, "* covers subresources too"),
    (EVERYTHING_EXAMPLE, req("get", "pods"), False, "not the core group"),
    (ANY_SCALE, req("update", "deployments", group="apps", name="web", subresource="scale"),
     True, "*/scale covers every scale subresource"),
    (ANY_SCALE, req("update", "deployments", group="apps", name="web"), False,
     "*/scale does not cover the resource itself"),
    (ANY_SCALE, req("get", "deployments", group="apps", name="web", subresource="status"),
     False, "*/scale does not cover status"),
    (HEALTHZ, req("get", path="/healthz"), True, "exact URL"),
    (HEALTHZ, req("get", path="/healthz/etcd"), True, "suffix * glob"),
    (HEALTHZ, req("get", path="/healthzfoo"), False, "/healthz/* needs the slash"),
    (HEALTHZ, req("delete", path="/healthz"), False, "verb for a URL is the lowercased method"),
    (HEALTHZ, req("get", "healthz"), False, "nonResourceURLs never match a resource request"),
    (POD_READER, req("get", path="/api/v1/pods"), False, "resource rules never match a URL"),
    ({"nonResourceURLs": ["*"], "verbs": ["*"]}, req("put", path="/anything/at/all"), True,
     "the cluster-admin URL rule"),
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
     req("escalate", "roles", group="rbac.authorization.k8s.io"), True,
     "* verbs include the special verbs"),
    ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
     req("impersonate", "users", name="bob", namespace=""), True, "impersonate is a verb"),
]


@pytest.mark.parametrize(("rule", "request_", "allowed", "why"), TABLE,
                         ids=[case[3] for case in TABLE])
def test_rule_decision_table(rule, request_, allowed, why):
    # each row is one sentence of the RBAC documentation
    assert rule_matches(rule, request_) is allowed, why


def test_empty_rule_matches_nothing():
    # a rule with no verbs (invalid anyway) or no resources grants nothing
    assert not rule_matches({"apiGroups": [""], "resources": ["pods"]}, req("get", "pods"))
    assert not rule_matches({"apiGroups": [""], "verbs": ["get"]}, req("get", "pods"))


def test_describe_rule_is_one_line():
    assert describe_rule(MY_CONFIGMAP) == 'update,get configmaps in apiGroups "" named my-configmap'
    assert describe_rule(HEALTHZ) == "get,post /healthz,/healthz/*"

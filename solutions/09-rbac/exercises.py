# %% [markdown]
# # Exercises 9 — RBAC: who may do what
#
# Every request our API server answers has passed one question: *may this user do this?* You
# will write the five pieces behind the answer, and after each one the running API server (and
# `kubectl`) uses **your** version to allow or refuse real requests.
#
# **You will write:** `rule_matches` (does one rule allow one request), `request_attributes`
# (the question, built from a URL), `authorize` (roles and bindings for a subject),
# `minimal_role` (least privilege for a task) and `uncovered_rules` (spot the escalation).
# **The references** are in `fromscratch/api/rbac/` (`rules.py`, `attributes.py`,
# `authorizer.py`, `least_privilege.py`, `escalation.py`) — try the exercises before reading them.
#
# **Prerequisites:** the lesson notebook of this chapter (`rbac.ipynb`).

# %%
from fromscratch import exercises, host

host.show_mode()

# %% [markdown]
# A small helper starts the course's API server with RBAC switched on (127.0.0.1 only), makes a
# namespace `ex9`, and gives us two ways to talk to it: the official client as the admin (who is
# in `system:masters`, so RBAC never stops them), and `http(token, method, path)`, one raw HTTPS
# request as the owner of a token, returning the status code.

# %%
import contextlib
import json
import ssl
import urllib.error
import urllib.request

from kubernetes import client as k8s

from fromscratch.api.rbac import enable_rbac
from fromscratch.api.server import APIServer

stack = contextlib.ExitStack()
server = stack.enter_context(APIServer())
rbac = enable_rbac(server)
core = k8s.CoreV1Api(server.client())
rbac_api = k8s.RbacAuthorizationV1Api(server.client())
core.create_namespace({"metadata": {"name": "ex9"}})
_tls = ssl.create_default_context(cafile=str(server.pki.ca_cert))


def token_of(name: str, namespace: str = "ex9") -> str:
    """A token for ServiceAccount namespace/name (created if needed)."""
    with contextlib.suppress(k8s.ApiException):
        core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    return core.create_namespaced_service_account_token(name, namespace, {"spec": {}}).status.token


def http(token: str, method: str, path: str, body: dict | None = None) -> int:
    """The HTTP status of one request to the server, sent with ``token``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"
        if method == "PATCH" else "application/json"})
    try:
        with urllib.request.urlopen(request, context=_tls) as response:
            return response.status
    except urllib.error.HTTPError as err:
        if err.code >= 500:  # a bug (or an unwritten exercise) in the server: show it
            raise RuntimeError(err.read().decode()) from None
        return err.code


def bind(role_name: str, account: str, role_kind: str = "Role", binding: str | None = None):
    """RoleBinding in ex9: ServiceAccount ex9/account gets the role."""
    rbac_api.create_namespaced_role_binding("ex9", {
        "metadata": {"name": binding or f"{account}-{role_name}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                    "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "ex9"}]})


print("API server with RBAC at", server.url)

# %% [markdown]
# ## Exercise 1 — does a rule allow a request? (4 points)
#
# A Role is a list of *rules*. Each rule is a dict exactly as in YAML:
#
# ```python
# {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"],
#  "resourceNames": ["web"]}          # optional
# {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get"]}
# ```
#
# A request is described by an `Attributes` object with fields `verb`, `is_resource_request`,
# `path`, `namespace`, `api_group`, `resource`, `subresource` and `name`. Write
# `rule_matches(rule, attributes)`, following the RBAC documentation:
#
# * **resource requests** need all four: the **verb** is listed (or `"*"`), the **API group**
#   is listed (`""` is the core group; or `"*"`), the **resource** matches, and the **name**
#   matches;
# * the resource matches if the rule lists `"*"`, or exactly `resource` when the request has no
#   subresource, or exactly `resource/subresource` when it has one (`pods` does **not** cover
#   `pods/log`), or `*/subresource` (`*/scale` covers `deployments/scale`);
# * the name matches if the rule has no `resourceNames` (any name), or lists the request's name.
#   A `create` or `deletecollection` has no name, so a rule with `resourceNames` never allows it;
# * **non-resource requests** (`/healthz`, `/version`) need the verb and a `nonResourceURLs`
#   entry equal to the path, `"*"`, or ending in `*` and being a prefix of the path
#   (`/healthz/*` covers `/healthz/etcd`).
#
# A rule never matches the other kind of request.

# %%
from fromscratch.api.auth import Attributes, UserInfo

# %% nbgrader={"grade_id": "ch09_rule_matches", "solution": true}
def rule_matches(rule: dict, attributes: Attributes) -> bool:
    """True if ``rule`` allows the request described by ``attributes``."""
    ### BEGIN SOLUTION
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attributes.verb not in verbs:
        return False
    if not attributes.is_resource_request:
        for url in rule.get("nonResourceURLs") or []:
            if url in ("*", attributes.path):
                return True
            if url.endswith("*") and attributes.path.startswith(url[:-1]):
                return True
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attributes.api_group not in groups:
        return False
    wanted = attributes.resource
    if attributes.subresource:
        wanted += "/" + attributes.subresource
    resources = rule.get("resources") or []
    if not ("*" in resources or wanted in resources
            or (attributes.subresource and f"*/{attributes.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names
    ### END SOLUTION


# %% [markdown]
# The first test is the RBAC documentation's own examples, in the small language of `ask`:
# `ask("get", "pods", name="web")` is "get the pod web in namespace dev".

# %% nbgrader={"grade_id": "ch09_test_rule_matches_resources", "grade": true, "points": 2}
def ask(verb, resource="", *, group="", name="", subresource="", path=""):
    user = UserInfo("alice", groups=("system:authenticated",))
    if path:
        return Attributes(user=user, verb=verb, is_resource_request=False, path=path)
    return Attributes(user=user, verb=verb, is_resource_request=True, path="", namespace="dev",
                      api_group=group, resource=resource, subresource=subresource, name=name)


pod_reader = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}
with exercises.checking(rule_matches):
    assert rule_matches(pod_reader, ask("get", "pods", name="web"))
    assert rule_matches(pod_reader, ask("list", "pods"))
    assert not rule_matches(pod_reader, ask("delete", "pods", name="web"))
    assert not rule_matches(pod_reader, ask("get", "pods", group="apps", name="web"))
    assert not rule_matches(pod_reader, ask("get", "pods", name="web", subresource="log"))
    ### BEGIN HIDDEN TESTS
    logs = {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}
    assert rule_matches(logs, ask("get", "pods", name="web", subresource="log"))
    assert not rule_matches(logs, ask("get", "pods", name="web", subresource="exec"))
    scale = {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["update"]}
    assert rule_matches(scale, ask("update", "deployments", group="apps", name="w",
                                   subresource="scale"))
    assert not rule_matches(scale, ask("update", "deployments", group="apps", name="w"))
    everything = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    assert rule_matches(everything, ask("escalate", "roles", group="rbac.authorization.k8s.io"))
    assert rule_matches(everything, ask("get", "pods", name="x", subresource="status"))
    named = {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"],
             "verbs": ["get", "create", "deletecollection", "list"]}
    assert rule_matches(named, ask("get", "configmaps", name="cfg"))
    assert not rule_matches(named, ask("get", "configmaps", name="other"))
    assert not rule_matches(named, ask("create", "configmaps"))
    assert not rule_matches(named, ask("deletecollection", "configmaps"))
    assert not rule_matches(named, ask("list", "configmaps"))
    assert not rule_matches(pod_reader, ask("get", path="/api/v1/pods"))
    ### END HIDDEN TESTS

# %% [markdown]
# The second test covers non-resource URLs, which the `system:discovery` role uses to let
# everyone read `/api`, `/apis/*` and `/version`.

# %% nbgrader={"grade_id": "ch09_test_rule_matches_urls", "grade": true, "points": 2}
health = {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get"]}
with exercises.checking(rule_matches):
    assert rule_matches(health, ask("get", path="/healthz"))
    assert rule_matches(health, ask("get", path="/healthz/etcd"))
    assert not rule_matches(health, ask("post", path="/healthz"))
    ### BEGIN HIDDEN TESTS
    assert not rule_matches(health, ask("get", path="/healthzfoo"))
    assert not rule_matches(health, ask("get", path="/version"))
    assert not rule_matches(health, ask("get", "healthz"))
    assert rule_matches({"nonResourceURLs": ["*"], "verbs": ["*"]}, ask("put", path="/a/b"))
    assert rule_matches({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]},
                        ask("get", path="/apis/apps/v1"))
    assert not rule_matches({"nonResourceURLs": ["/apis/*"], "verbs": ["get"]},
                            ask("get", path="/apis"))
    ### END HIDDEN TESTS

# %% [markdown]
# Now plug it in. The server's RBAC authorizer calls the pluggable `rule_matches` for every rule
# it considers, so inside this block **your** function decides: ServiceAccount `reader` is bound
# to a Role that can only read Pods, and tries to read and to create one.

# %%
rbac_api.create_namespaced_role("ex9", {"metadata": {"name": "pod-reader"}, "rules": [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]})
bind("pod-reader", "reader")
reader = token_of("reader")
pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}}
with exercises.using(rule_matches) as plugged:
    print("list pods   ->", http(reader, "GET", "/api/v1/namespaces/ex9/pods"))
    print("create pod  ->", http(reader, "POST", "/api/v1/namespaces/ex9/pods", pod))
    print("list secrets->", http(reader, "GET", "/api/v1/namespaces/ex9/secrets"))
    print("calls to your rule_matches:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 2 — the question RBAC answers (3 points)
#
# Before authorizing, kube-apiserver turns the HTTP request into *attributes*. Chapter 6's
# `request_info` did the URL part in general; here write the compact version RBAC needs,
# `request_attributes(user, method, url)`, returning an `Attributes`:
#
# * `user`: the `UserInfo` given, with `"system:authenticated"` **added to its groups** (once):
#   every authenticated user is in that group, which is how default roles reach everyone;
# * resource URLs are `/api/v1/...` (core group `""`) and `/apis/<group>/<version>/...`, then
#   optionally `namespaces/<ns>/`, then `<resource>[/<name>[/<subresource>]]`;
#   `/api/v1/namespaces/<ns>` is the namespace object itself (resource `namespaces`, name and
#   namespace `<ns>`);
# * the verb: POST `create`, GET/HEAD `get` — or `list` without a name, or `watch` with the query
#   `watch=true` (or `1`) — PUT `update`, PATCH `patch`, DELETE `delete`, or `deletecollection`
#   without a name;
# * anything else (`/healthz`, `/version`, `/apis`) is a non-resource request: `path` is the URL
#   path, verb is the lowercased method, `is_resource_request=False`;
# * `path` is always the URL path without the query. A URL not starting with `/` is a `ValueError`.

# %%
from urllib.parse import parse_qs, urlsplit

from fromscratch.api.rbac.attributes import service_account_user

# %% nbgrader={"grade_id": "ch09_request_attributes", "solution": true}
def request_attributes(user: UserInfo, method: str, url: str) -> Attributes:
    """What RBAC is asked when ``user`` sends ``method url``."""
    ### BEGIN SOLUTION
    if not url.startswith("/"):
        raise ValueError(f"not a URL path: {url!r}")
    groups = user.groups if "system:authenticated" in user.groups \
        else (*user.groups, "system:authenticated")
    user = UserInfo(user.name, user.uid, groups)
    split = urlsplit(url)
    path, query = split.path, parse_qs(split.query)
    method = method.upper()
    plain = Attributes(user=user, verb=method.lower(), is_resource_request=False, path=path)
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return plain
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 2:
        namespace = rest[1]
        if len(rest) > 2:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method, method.lower())
    if verb == "get" and not name:
        watch = query.get("watch", ["false"])[0].lower()
        verb = "watch" if watch in ("true", "1") else "list"
    if verb == "delete" and not name:
        verb = "deletecollection"
    return Attributes(user=user, verb=verb, is_resource_request=True, path=path,
                      namespace=namespace, api_group=group, api_version=version,
                      name=name, resource=resource, subresource=subresource)
    ### END SOLUTION


# %% [markdown]
# The test reads like a table of `kubectl` commands and the question each one asks.

# %% nbgrader={"grade_id": "ch09_test_request_attributes", "grade": true, "points": 3}
def summary(a):
    return (a.verb, a.api_group, a.namespace, a.resource, a.subresource, a.name)


alice = UserInfo("alice", groups=("devs",))
with exercises.checking(request_attributes):
    a = request_attributes(alice, "GET", "/api/v1/namespaces/dev/pods")
    assert summary(a) == ("list", "", "dev", "pods", "", "")
    assert a.user.name == "alice" and a.user.groups == ("devs", "system:authenticated")
    assert a.is_resource_request and a.path == "/api/v1/namespaces/dev/pods"
    a = request_attributes(alice, "PATCH", "/apis/apps/v1/namespaces/dev/deployments/web/scale")
    assert summary(a) == ("patch", "apps", "dev", "deployments", "scale", "web")
    a = request_attributes(alice, "GET", "/healthz")
    assert (a.is_resource_request, a.verb, a.path) == (False, "get", "/healthz")
    ### BEGIN HIDDEN TESTS
    assert summary(request_attributes(alice, "GET", "/api/v1/pods?watch=true")) == (
        "watch", "", "", "pods", "", "")
    assert summary(request_attributes(alice, "GET", "/api/v1/pods?watch=false")) == (
        "list", "", "", "pods", "", "")
    assert summary(request_attributes(alice, "DELETE", "/apis/batch/v1/namespaces/x/jobs")) == (
        "deletecollection", "batch", "x", "jobs", "", "")
    assert summary(request_attributes(alice, "DELETE", "/apis/batch/v1/namespaces/x/jobs/j")
                   ) == ("delete", "batch", "x", "jobs", "", "j")
    assert summary(request_attributes(alice, "HEAD", "/api/v1/nodes/n1")) == (
        "get", "", "", "nodes", "", "n1")
    assert summary(request_attributes(alice, "POST", "/api/v1/namespaces")) == (
        "create", "", "", "namespaces", "", "")
    assert summary(request_attributes(alice, "GET", "/api/v1/namespaces/dev")) == (
        "get", "", "dev", "namespaces", "", "dev")
    assert summary(request_attributes(alice, "PUT",
                                      "/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
                   ) == ("update", "rbac.authorization.k8s.io", "", "clusterroles", "", "view")
    a = request_attributes(alice, "POST", "/apis")
    assert (a.is_resource_request, a.verb, a.path) == (False, "post", "/apis")
    already = UserInfo("bob", groups=("system:authenticated",))
    assert request_attributes(already, "GET", "/version").user.groups == ("system:authenticated",)
    try:
        request_attributes(alice, "GET", "api/v1/pods")
        raise AssertionError("a URL without a leading / must be refused")
    except ValueError:
        pass
    ### END HIDDEN TESTS

# %% [markdown]
# `rbac.can(user, method, url)` asks the server's authorizer without any HTTP; it builds the
# question with the pluggable `request_attributes` — yours, in this block.

# %%
reader_user = service_account_user("ex9", "reader")
with exercises.using(request_attributes):
    for method, url in [("GET", "/api/v1/namespaces/ex9/pods"),
                        ("GET", "/api/v1/namespaces/ex9/pods?watch=1"),
                        ("DELETE", "/api/v1/namespaces/ex9/pods"),
                        ("GET", "/api/v1/namespaces/default/pods"),
                        ("GET", "/version")]:
        decision = rbac.can(reader_user, method, url)
        print(f"{method:<7}{url:<42}{'allowed' if decision.allowed else 'denied'}")

# %% [markdown]
# ## Exercise 3 — roles and bindings for a subject (4 points)
#
# Now the whole decision. `policy` is a `Policy` with four lists of API objects (dicts):
# `policy.roles`, `policy.cluster_roles`, `policy.role_bindings`, `policy.cluster_role_bindings`.
# Write `authorize(attributes, policy)` returning a `Decision`:
#
# 1. every **ClusterRoleBinding** whose `subjects` include the user grants its ClusterRole's rules;
# 2. if the request has a namespace, every **RoleBinding in that namespace** whose subjects
#    include the user grants the rules of its `roleRef`: a Role *of the binding's namespace*, or
#    a ClusterRole — either way only inside the binding's namespace;
# 3. the first granted rule that matches (use `rule_matches`) allows the request:
#    `Decision(True, binding=<the binding dict>, subject=<the subject dict>, rule=<the rule>)`;
#    `library_rule_matches` (imported below) is the library's `rule_matches`, if you prefer it;
#    no match: `Decision(False)`. A `roleRef` naming a missing role grants nothing.
#
# A subject `{"kind": "User", "name": n}` applies if the user's name is `n`; `Group` if `n` is in
# the user's groups; `{"kind": "ServiceAccount", "name": n, "namespace": ns}` if the user is
# `system:serviceaccount:<ns>:<n>` — and a RoleBinding's ServiceAccount subject **without**
# `namespace` means the binding's own namespace. RBAC has no deny rules: order only decides which
# binding the decision names.

# %%
from fromscratch.api.rbac import Decision, Policy
from fromscratch.api.rbac.rules import rule_matches as library_rule_matches

# %% nbgrader={"grade_id": "ch09_authorize", "solution": true}
def authorize(attributes: Attributes, policy: Policy) -> Decision:
    """RBAC's decision on one request."""
    ### BEGIN SOLUTION
    user = attributes.user

    def applies(subject, namespace):
        if subject.get("kind") == "User":
            return subject.get("name") == user.name
        if subject.get("kind") == "Group":
            return subject.get("name") in user.groups
        if subject.get("kind") == "ServiceAccount":
            ns = subject.get("namespace") or namespace
            return bool(ns) and user.name == f"system:serviceaccount:{ns}:{subject.get('name')}"
        return False

    def rules_of(ref, namespace):
        if ref.get("kind") == "ClusterRole":
            found = [r for r in policy.cluster_roles if r["metadata"]["name"] == ref.get("name")]
        elif ref.get("kind") == "Role" and namespace:
            found = [r for r in policy.roles if r["metadata"]["name"] == ref.get("name")
                     and r["metadata"].get("namespace") == namespace]
        else:
            found = []
        return found[0].get("rules") or [] if found else []

    candidates = [(b, "") for b in policy.cluster_role_bindings]
    if attributes.namespace:
        candidates += [(b, attributes.namespace) for b in policy.role_bindings
                       if b["metadata"].get("namespace") == attributes.namespace]
    for binding, namespace in candidates:
        for subject in binding.get("subjects") or []:
            if applies(subject, namespace):
                for rule in rules_of(binding.get("roleRef") or {}, namespace):
                    if library_rule_matches(rule, attributes):
                        return Decision(True, binding=binding, subject=subject, rule=rule)
                break
    return Decision(False)
    ### END SOLUTION


# %% [markdown]
# The first test is the documentation's example: a RoleBinding in `development` to the
# ClusterRole `secret-reader` lets dave read Secrets in `development` — and nowhere else — while
# a ClusterRoleBinding lets the `manager` group read them everywhere.

# %% nbgrader={"grade_id": "ch09_test_authorize_docs", "grade": true, "points": 2}
from fromscratch.api.rbac.attributes import request_attributes as ref_attributes


def obj(kind, name, namespace=None, **fields):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            **fields}


def ref(kind, name):
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


read_secrets = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
docs = Policy.from_objects([
    obj("ClusterRole", "secret-reader", rules=[read_secrets]),
    obj("RoleBinding", "read-secrets", "development", roleRef=ref("ClusterRole", "secret-reader"),
        subjects=[{"kind": "User", "name": "dave"}]),
    obj("ClusterRoleBinding", "read-secrets-global", roleRef=ref("ClusterRole", "secret-reader"),
        subjects=[{"kind": "Group", "name": "manager"}]),
])
dave, mary = UserInfo("dave"), UserInfo("mary", groups=("manager",))
with exercises.checking(authorize):
    yes = authorize(ref_attributes(dave, "GET", "/api/v1/namespaces/development/secrets/s"), docs)
    assert yes.allowed and yes.binding["metadata"]["name"] == "read-secrets"
    assert yes.rule == read_secrets
    assert not authorize(ref_attributes(dave, "GET", "/api/v1/namespaces/prod/secrets/s"),
                         docs).allowed
    assert authorize(ref_attributes(mary, "GET", "/api/v1/namespaces/prod/secrets"), docs).allowed
    ### BEGIN HIDDEN TESTS
    assert not authorize(ref_attributes(dave, "GET", "/api/v1/secrets"), docs).allowed
    assert authorize(ref_attributes(mary, "GET", "/api/v1/secrets"), docs).allowed
    assert not authorize(ref_attributes(dave, "DELETE",
                                        "/api/v1/namespaces/development/secrets/s"), docs).allowed
    assert not authorize(ref_attributes(dave, "GET", "/api/v1/namespaces/development/secrets"),
                         Policy()).allowed
    ### END HIDDEN TESTS

# %% [markdown]
# The second test is about subjects and role references: ServiceAccounts (with and without a
# namespace in the subject), Roles that live in another namespace, and missing roles.

# %% nbgrader={"grade_id": "ch09_test_authorize_subjects", "grade": true, "points": 2}
read_pods = {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}
subjects = Policy.from_objects([
    obj("Role", "pods", "dev", rules=[read_pods]),
    obj("Role", "pods", "prod", rules=[read_secrets]),
    obj("RoleBinding", "ci", "dev", roleRef=ref("Role", "pods"),
        subjects=[{"kind": "ServiceAccount", "name": "ci"}]),
    obj("RoleBinding", "ops", "prod", roleRef=ref("Role", "pods"),
        subjects=[{"kind": "ServiceAccount", "name": "ci", "namespace": "dev"}]),
])
ci = service_account_user("dev", "ci")
with exercises.checking(authorize):
    decision = authorize(ref_attributes(ci, "GET", "/api/v1/namespaces/dev/pods"), subjects)
    assert decision.allowed and decision.subject == {"kind": "ServiceAccount", "name": "ci"}
    assert not authorize(ref_attributes(service_account_user("prod", "ci"), "GET",
                                        "/api/v1/namespaces/dev/pods"), subjects).allowed
    ### BEGIN HIDDEN TESTS
    # in prod, ci gets prod's Role "pods" (secrets), not dev's
    in_prod = ref_attributes(ci, "GET", "/api/v1/namespaces/prod/secrets")
    assert authorize(in_prod, subjects).allowed
    in_prod = ref_attributes(ci, "GET", "/api/v1/namespaces/prod/pods")
    assert not authorize(in_prod, subjects).allowed
    dangling = Policy.from_objects([obj("ClusterRoleBinding", "x", roleRef=ref("ClusterRole",
                                                                               "gone"),
                                        subjects=[{"kind": "User", "name": "dave"}])])
    assert not authorize(ref_attributes(dave, "GET", "/api/v1/pods"), dangling).allowed
    group_sa = Policy.from_objects([
        obj("ClusterRole", "r", rules=[read_pods]),
        obj("ClusterRoleBinding", "all-sa", roleRef=ref("ClusterRole", "r"),
            subjects=[{"kind": "Group", "name": "system:serviceaccounts:dev"}])])
    assert authorize(ref_attributes(ci, "GET", "/api/v1/pods"), group_sa).allowed
    assert not authorize(ref_attributes(dave, "GET", "/api/v1/pods"), group_sa).allowed
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your `authorize` is what the API server runs on every request from anyone not in
# `system:masters`. `kubectl auth can-i` asks the server the same question through a
# SelfSubjectAccessReview, which here runs your function too.

# %%
reader_authz = k8s.AuthorizationV1Api(server.client(token=reader))
with exercises.using(authorize):
    for verb, resource in [("list", "pods"), ("create", "pods"), ("get", "secrets")]:
        review = reader_authz.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "verb": verb, "resource": resource, "namespace": "ex9"}}})
        print(f"can reader {verb} {resource}? {review.status.allowed}  {review.status.reason or ''}")

# %% [markdown]
# ## Exercise 4 — least privilege for a task (4 points)
#
# The release bot of team `ex9` makes exactly these requests (verb, API group, resource, name —
# `""` when the request names no object). Write `minimal_role(name, namespace, needs)`, a Role
# that grants **every need and nothing more**, with **as few rules as possible**:
#
# * no wildcards, and `resourceNames` wherever all requests for that verb named an object;
# * a request without a name (list, watch, create) can only be granted for every object;
# * resources that share the API group, the verbs and the names go in one rule.
#
# The tests create your Role on the live server, bind it to the ServiceAccount `bot`, and try
# the bot's requests (all must succeed) and near misses (all must be refused with 403).

# %%
release_bot_needs = [
    ("get", "", "pods", ""), ("list", "", "pods", ""), ("watch", "", "pods", ""),
    ("get", "", "pods/log", ""),
    ("get", "", "configmaps", "release-notes"),
    ("patch", "apps", "deployments", "web"),
    ("get", "apps", "deployments/scale", "web"), ("update", "apps", "deployments/scale", "web"),
    ("create", "", "events", ""),
]

# %% nbgrader={"grade_id": "ch09_minimal_role", "solution": true}
def minimal_role(name: str, namespace: str, needs: list[tuple[str, str, str, str]]) -> dict:
    """A Role granting every need and nothing more, in as few rules as possible."""
    ### BEGIN SOLUTION
    verbs_by_object: dict = {}
    for verb, group, resource, object_name in needs:
        verbs_by_object.setdefault((group, resource, object_name), set()).add(verb)
    names_by_resource: dict = {}
    for (group, resource, object_name), verbs in verbs_by_object.items():
        names_by_resource.setdefault((group, resource, frozenset(verbs)), set()).add(object_name)
    grouped: dict = {}
    for (group, resource, verbs), names in names_by_resource.items():
        restricted = () if "" in names else tuple(sorted(names))
        grouped.setdefault((group, verbs, restricted), []).append(resource)
    rules = []
    for (group, verbs, restricted), resources in grouped.items():
        rule = {"apiGroups": [group], "resources": sorted(resources), "verbs": sorted(verbs)}
        if restricted:
            rule["resourceNames"] = list(restricted)
        rules.append(rule)
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": namespace}, "rules": rules}
    ### END SOLUTION


# %% [markdown]
# The test: everything the bot needs works, the near misses are refused, and the Role has no
# more rules than necessary (six).

# %% nbgrader={"grade_id": "ch09_test_minimal_role_live", "grade": true, "points": 4}
import copy

apps = k8s.AppsV1Api(server.client())


def deployment(name: str, image: str) -> dict:
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels}, "spec": {"containers": [{"name": "main",
                                                                     "image": image}]}}}}


for create, body in [(core.create_namespaced_config_map, {"metadata": {"name": "release-notes"}}),
                     (core.create_namespaced_config_map, {"metadata": {"name": "passwords"}}),
                     (apps.create_namespaced_deployment, deployment("web", "nginx")),
                     (apps.create_namespaced_deployment, deployment("db", "postgres"))]:
    with contextlib.suppress(k8s.ApiException):  # already there when the cell runs again
        create("ex9", body)
bot = token_of("bot")


def try_role(role: dict, account: str, token: str) -> None:
    """Install ``role`` for ServiceAccount ``account`` (replacing an earlier attempt)."""
    for delete in (rbac_api.delete_namespaced_role_binding, rbac_api.delete_namespaced_role):
        with contextlib.suppress(k8s.ApiException):
            delete(f"{account}-{role['metadata']['name']}" if "binding" in delete.__name__
                   else role["metadata"]["name"], "ex9")
    rbac_api.create_namespaced_role("ex9", copy.deepcopy(role))
    bind(role["metadata"]["name"], account)


deploy = "/apis/apps/v1/namespaces/ex9/deployments"
event = {"metadata": {"generateName": "release-"}, "involvedObject": {"kind": "Deployment",
         "name": "web", "namespace": "ex9"}, "reason": "Released", "message": "v2"}
with exercises.checking(minimal_role):
    role = minimal_role("release-bot", "ex9", release_bot_needs)
    assert role["kind"] == "Role" and role["metadata"] == {"name": "release-bot",
                                                            "namespace": "ex9"}
    try_role(role, "bot", bot)
    allowed = [("GET", "/api/v1/namespaces/ex9/pods", None),
               ("GET", "/api/v1/namespaces/ex9/configmaps/release-notes", None),
               ("PATCH", f"{deploy}/web", {"metadata": {"labels": {"release": "v2"}}}),
               ("GET", f"{deploy}/web/scale", None),
               ("POST", "/api/v1/namespaces/ex9/events", event)]
    for method, path, body in allowed:
        assert http(bot, method, path, body) in (200, 201), f"{method} {path} must be allowed"
    refused = [("GET", "/api/v1/namespaces/ex9/configmaps/passwords", None),
               ("DELETE", "/api/v1/namespaces/ex9/pods/web", None),
               ("PATCH", f"{deploy}/db", {"metadata": {"labels": {"x": "y"}}})]
    for method, path, body in refused:
        assert http(bot, method, path, body) == 403, f"{method} {path} must be refused"
    ### BEGIN HIDDEN TESTS
    refused = [("GET", "/api/v1/namespaces/ex9/configmaps", None),
               ("GET", f"{deploy}/web", None),
               ("GET", f"{deploy}/db/scale", None),
               ("DELETE", f"{deploy}/web", None),
               ("GET", "/api/v1/namespaces/ex9/secrets", None),
               ("GET", "/api/v1/namespaces/default/pods", None),
               ("POST", "/api/v1/namespaces/ex9/pods", {"metadata": {"name": "p"}}),
               ("GET", "/api/v1/namespaces/ex9/pods/web/exec", None)]
    for method, path, body in refused:
        assert http(bot, method, path, body) == 403, f"{method} {path} must be refused"
    assert http(bot, "GET", "/api/v1/namespaces/ex9/pods?watch=true&timeoutSeconds=1") == 200
    assert len(role["rules"]) <= 6, f"{len(role['rules'])} rules: some can be merged"
    assert all("*" not in r.get("verbs", []) + r.get("resources", []) + r.get("apiGroups", [])
               for r in role["rules"])
    # a name and no name for the same verb: the unnamed request wins (any object)
    mixed = minimal_role("m", "ex9", [("get", "", "secrets", "a"), ("get", "", "secrets", "")])
    assert [r.get("resourceNames") for r in mixed["rules"]] == [None]
    assert minimal_role("e", "ex9", [])["rules"] == []
    ### END HIDDEN TESTS

# %% [markdown]
# In real life the needs come from an **audit log**. `AuditRecorder` records every request one
# user makes; run a task as the ServiceAccount `auditor` with wide rights (`edit`), derive the
# Role with your `minimal_role`, then re-run the task with only that Role.

# %%
from fromscratch.api.rbac.least_privilege import AuditRecorder

bind("edit", "auditor", role_kind="ClusterRole")
auditor = token_of("auditor")


def nightly_report(token: str) -> list[int]:
    """The task: read pods and one config map, scale web to 2."""
    return [http(token, "GET", "/api/v1/namespaces/ex9/pods"),
            http(token, "GET", "/api/v1/namespaces/ex9/configmaps/release-notes"),
            http(token, "PATCH", f"{deploy}/web/scale", {"spec": {"replicas": 2}})]


with AuditRecorder(server, "system:serviceaccount:ex9:auditor") as audit:
    print("with edit:", nightly_report(auditor))
with exercises.using(minimal_role):
    derived = minimal_role("nightly", "ex9", audit.needs())
for rule in derived["rules"]:
    print(rule)
reporter = token_of("reporter")
try_role(derived, "reporter", reporter)
print("with the derived Role:", nightly_report(reporter),
      "| delete a pod:", http(reporter, "DELETE", "/api/v1/namespaces/ex9/pods/x"))

# %% [markdown]
# ## Exercise 5 — spot the escalation (4 points)
#
# If anyone allowed to create Roles could write any rule, a Role editor could make themself an
# admin. So the API server refuses to create or update a Role (or a binding) that grants a
# permission the requester does not hold — unless they have the `escalate` (or `bind`) verb.
#
# Write `uncovered_rules(held, requested)`: break every requested rule into pieces with **one**
# API group, **one** resource, **one** verb (and one resource name, if it has `resourceNames`),
# or one non-resource URL and one verb; return, in that order, the pieces no held rule covers.
# A held rule covers a piece when:
#
# * its verbs contain `"*"` or the piece's verb; its apiGroups contain `"*"` or the piece's group;
# * its resources contain `"*"`, or the piece's resource, or — for a piece `r/sub` — `"*/sub"`;
# * its `resourceNames` are empty (any name), or the piece has a name that they list (a held rule
#   restricted to names never covers an unrestricted piece);
# * for URL pieces: a held nonResourceURL equals the URL, or ends in `*` and is a prefix of it.
#   Resource pieces need no URL and URL pieces no resource.
#
# Be careful with wildcards *in the request*: a requested `"*"` verb is only covered by a held
# `"*"`, since the piece's verb is the string `"*"`.

# %% nbgrader={"grade_id": "ch09_uncovered_rules", "solution": true}
def uncovered_rules(held: list[dict], requested: list[dict]) -> list[dict]:
    """The pieces of ``requested`` that ``held`` does not cover; [] means no escalation."""
    ### BEGIN SOLUTION
    pieces = []
    for rule in requested:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                    names = rule.get("resourceNames") or []
                    pieces += [{**base, "resourceNames": [n]} for n in names] or [base]
        for url in rule.get("nonResourceURLs") or []:
            for verb in rule.get("verbs") or []:
                pieces.append({"nonResourceURLs": [url], "verbs": [verb]})

    def covers(owner, piece):
        verbs, groups = owner.get("verbs") or [], owner.get("apiGroups") or []
        if "*" not in verbs and piece["verbs"][0] not in verbs:
            return False
        if "nonResourceURLs" in piece:
            url = piece["nonResourceURLs"][0]
            return any(u == url or (u.endswith("*") and url.startswith(u[:-1]))
                       for u in owner.get("nonResourceURLs") or [])
        if "*" not in groups and piece["apiGroups"][0] not in groups:
            return False
        resources, resource = owner.get("resources") or [], piece["resources"][0]
        if not ("*" in resources or resource in resources
                or ("/" in resource and "*/" + resource.split("/", 1)[1] in resources)):
            return False
        owner_names = owner.get("resourceNames") or []
        return not owner_names or ("resourceNames" in piece
                                   and piece["resourceNames"][0] in owner_names)

    return [p for p in pieces if not any(covers(owner, p) for owner in held)]
    ### END SOLUTION


# %% [markdown]
# The test: a user who can read Pods tries to grant reading Secrets and deleting Pods.

# %% nbgrader={"grade_id": "ch09_test_uncovered_rules", "grade": true, "points": 4}
held = [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]
with exercises.checking(uncovered_rules):
    assert uncovered_rules(held, [{"apiGroups": [""], "resources": ["pods"],
                                   "verbs": ["get"]}]) == []
    assert uncovered_rules(held, [{"apiGroups": [""], "resources": ["pods", "secrets"],
                                   "verbs": ["get", "delete"]}]) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["delete"]}]
    ### BEGIN HIDDEN TESTS
    star = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    assert uncovered_rules(star, held + [{"apiGroups": ["apps"], "resources": ["x/scale"],
                                          "verbs": ["patch"], "resourceNames": ["a"]}]) == []
    assert uncovered_rules(held, [{"apiGroups": [""], "resources": ["pods"],
                                   "verbs": ["*"]}]) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]
    scale = [{"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]}]
    assert uncovered_rules(scale, [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                                    "verbs": ["update"]}]) == []
    assert uncovered_rules(scale, [{"apiGroups": ["apps"], "resources": ["deployments"],
                                    "verbs": ["update"]}]) != []
    named = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
              "resourceNames": ["a"]}]
    all_secrets = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    assert uncovered_rules(named, [all_secrets]) == [all_secrets]
    assert uncovered_rules(named, [{"apiGroups": [""], "resources": ["secrets"],
                                    "verbs": ["get"], "resourceNames": ["a", "b"]}]) == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["b"]}]
    urls = [{"nonResourceURLs": ["/metrics/*"], "verbs": ["get"]}]
    wanted_urls = {"nonResourceURLs": ["/metrics/x", "/healthz"], "verbs": ["get"]}
    health_piece = {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}
    assert uncovered_rules(urls, [wanted_urls]) == [health_piece]
    assert uncovered_rules(held, urls) == [{"nonResourceURLs": ["/metrics/*"], "verbs": ["get"]}]
    assert uncovered_rules(urls, held) != []
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your function is the server's escalation check. ServiceAccount `manager` may read
# Pods and create Roles in `ex9`; it tries to create a harmless Role and a sneaky one.

# %%
rbac_api.create_namespaced_role("ex9", {"metadata": {"name": "manager"}, "rules": [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["create"]}]})
bind("manager", "manager")
manager = token_of("manager")
harmless = {"metadata": {"name": "pod-lister"}, "rules": [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]}
sneaky = {"metadata": {"name": "secret-lister"}, "rules": [
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}
roles_path = "/apis/rbac.authorization.k8s.io/v1/namespaces/ex9/roles"
with exercises.using(uncovered_rules):
    print("harmless Role ->", http(manager, "POST", roles_path, harmless))
    print("sneaky Role   ->", http(manager, "POST", roles_path, sneaky))

# %%
stack.close()  # stop the server

# %% [markdown]
# ## Summary
#
# You wrote the RBAC authorizer's pieces and watched the API server enforce them: a rule is
# matched field by field with wildcards, subresources and names; a request becomes attributes;
# bindings bring rules to subjects (RoleBindings only inside their namespace); a task's audit
# trail becomes a least-privilege Role; and escalation prevention compares rule sets piece by
# piece. Next: chapter 10, the Horizontal Pod Autoscaler.

# %% [markdown]
# # Exercises 6 — the API server's pure pieces
#
# Every request to kube-apiserver passes through a handful of small, pure functions before it
# touches the store: one classifies the request, one filters by labels, one applies patches, one
# decides whether an update lost a race. You will write six of them, and after each one the
# running API server (and `kubectl`) will use **your** version.
#
# **You will write:** `matches`, `merge_patch`, `merge_list_by_key`, `request_info`,
# `update_conflicts` and `three_way_merge_patch`.
# **The references** are in `fromscratch/api/selectors.py`, `fromscratch/api/request_info.py`
# and `fromscratch/api/patch/` — try the exercises before reading them.
#
# **Prerequisites:** the lesson notebook of this chapter (`api-server.ipynb`).

# %%
import pytest

from fromscratch import exercises, host

host.show_mode()

# %% [markdown]
# A small helper starts the course's API server in the background for the demos (it binds to
# 127.0.0.1 only) and gives us the official Kubernetes client for it.

# %%
import contextlib

from kubernetes import client as k8s

from fromscratch.api.server import APIServer

stack = contextlib.ExitStack()
server = stack.enter_context(APIServer())
core = k8s.CoreV1Api(server.client())
print("API server at", server.url)

# %% [markdown]
# ## Exercise 1 — match a label selector (4 points)
#
# `kubectl get pods -l 'app=web,tier in (fe,be),!canary'` sends the selector to the server, which
# parses it into *requirements* and keeps only the objects whose labels satisfy **all** of them.
# The parser is done for you: `parse_label_selector(text)` returns a `LabelSelector` whose
# `.requirements` is a tuple of `Requirement(key, operator, values)`, with `operator` one of
#
# | operator | written as | matches when |
# |---|---|---|
# | `"="`, `"=="`, `"in"` | `app=web`, `tier in (fe,be)` | the label exists and its value is one of `values` |
# | `"!="`, `"notin"` | `app!=web`, `tier notin (fe)` | the label is **missing**, or not in `values` |
# | `"exists"` | `canary` | the label exists (any value) |
# | `"!"` | `!canary` | the label does not exist |
# | `"gt"`, `"lt"` | `gen>3` | the label exists, is an integer, and is greater / less than `values[0]` |
#
# A `LabelSelector` with `nothing=True` is the *null* selector: it matches no object at all.
# (An empty selector — no requirements — matches everything.)

# %% nbgrader={"grade_id": "ch06_matches", "solution": true}
import re

from fromscratch.api.selectors import LabelSelector, parse_label_selector


def matches(selector: LabelSelector, labels: dict[str, str]) -> bool:
    """Does ``selector`` select an object carrying ``labels``?"""
    ### BEGIN SOLUTION
    if selector.nothing:
        return False
    for req in selector.requirements:
        present = req.key in labels
        value = labels.get(req.key)
        if req.operator in ("=", "==", "in"):
            ok = present and value in req.values
        elif req.operator in ("!=", "notin"):
            ok = not present or value not in req.values
        elif req.operator == "exists":
            ok = present
        elif req.operator == "!":
            ok = not present
        elif req.operator in ("gt", "lt"):
            ok = present and re.fullmatch(r"[-+]?\d+", value or "") is not None
            if ok:
                have, want = int(value), int(req.values[0])
                ok = have > want if req.operator == "gt" else have < want
        else:
            ok = False
        if not ok:
            return False
    return True
    ### END SOLUTION


# %% [markdown]
# The first test uses the examples of the Kubernetes documentation page *Labels and Selectors*.
# Watch the second assert: `tier != frontend` also selects objects with **no** `tier` label.

# %% nbgrader={"grade_id": "ch06_test_matches_docs", "grade": true, "points": 2}
with exercises.checking(matches):
    sel = parse_label_selector("environment = production, tier != frontend")
    assert matches(sel, {"environment": "production", "tier": "backend"})
    assert matches(sel, {"environment": "production"})
    assert not matches(sel, {"environment": "production", "tier": "frontend"})
    sel = parse_label_selector("environment in (production, qa)")
    assert matches(sel, {"environment": "qa"}) and not matches(sel, {"environment": "dev"})
    ### BEGIN HIDDEN TESTS
    assert not matches(parse_label_selector("environment in (production)"), {})
    assert matches(parse_label_selector("tier notin (frontend, backend)"), {})
    assert not matches(parse_label_selector("tier notin (frontend)"), {"tier": "frontend"})
    assert matches(parse_label_selector(""), {"anything": "at-all"})
    assert matches(parse_label_selector("x in (,a)"), {"x": ""})
    ### END HIDDEN TESTS

# %% [markdown]
# The second test covers existence, integer comparisons and the null selector, the cases a
# Deployment's `matchExpressions` and node affinity rely on.

# %% nbgrader={"grade_id": "ch06_test_matches_exists_and_null", "grade": true, "points": 2}
from fromscratch.api.selectors import label_selector_from_dict

with exercises.checking(matches):
    assert matches(parse_label_selector("partition"), {"partition": ""})
    assert matches(parse_label_selector("!partition"), {"app": "x"})
    assert not matches(label_selector_from_dict(None), {"app": "x"})
    ### BEGIN HIDDEN TESTS
    assert not matches(parse_label_selector("partition"), {})
    assert not matches(parse_label_selector("!partition"), {"partition": "a"})
    assert matches(parse_label_selector("gen>3"), {"gen": "4"})
    assert not matches(parse_label_selector("gen>3"), {"gen": "3"})
    assert not matches(parse_label_selector("gen<3"), {"gen": "two"})
    assert not matches(parse_label_selector("gen<3"), {})
    assert matches(label_selector_from_dict({}), {"a": "b"})
    both = parse_label_selector("app=web,!canary")
    assert not matches(both, {"app": "web", "canary": "1"})
    assert not matches(both, {"app": "db"})
    ### END HIDDEN TESTS

# %% [markdown]
# Now plug it in: the API server filters every `list` and `watch` with the pluggable `matches`,
# so `kubectl get -l` and the official client's `label_selector=` run your function.
# `exercises.using(fn)` plugs it in for one block; `exercises.use(fn)` would keep it plugged in.

# %%
core.create_namespace({"metadata": {"name": "ex6"}})
for name, labels in [("web-1", {"app": "web", "tier": "fe"}), ("web-2", {"app": "web"}),
                     ("db-1", {"app": "db", "tier": "be"})]:
    core.create_namespaced_config_map("ex6", {"metadata": {"name": name, "labels": labels}})

with exercises.using(matches) as plugged:  # your matches, for the length of this block
    for selector in ["app=web", "tier", "app=web,!tier", "tier notin (fe)"]:
        found = core.list_namespaced_config_map("ex6", label_selector=selector).items
        print(f"{selector:<18} -> {[cm.metadata.name for cm in found]}")
    print("calls to your matches:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 2 — apply a JSON merge patch (3 points)
#
# RFC 7386 defines the simplest patch: it looks like the object, objects merge key by key,
# `null` deletes a key, and every other value — **lists included** — replaces the old one. If the
# patch is not an object at all, it replaces the whole target. Do not modify your inputs.

# %% nbgrader={"grade_id": "ch06_merge_patch", "solution": true}
import copy


def merge_patch(target, patch):
    """Apply the JSON merge patch ``patch`` to ``target`` and return the result."""
    ### BEGIN SOLUTION
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
    ### END SOLUTION


# %% [markdown]
# The test is the table of RFC 7386's Appendix A. Row 7 is the nested case; rows 9–12 are the
# "not an object" cases.

# %% nbgrader={"grade_id": "ch06_test_merge_patch_rfc_table", "grade": true, "points": 3}
with exercises.checking(merge_patch):
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    ### BEGIN HIDDEN TESTS
    assert merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "c"}, {"a": ["b"]}) == {"a": ["b"]}
    assert merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]
    assert merge_patch({"a": "b"}, ["c"]) == ["c"]
    assert merge_patch({"a": "foo"}, None) is None
    assert merge_patch({"a": "foo"}, "bar") == "bar"
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    original, patch = {"x": {"y": 1}}, {"x": {"z": 2}}
    merge_patch(original, patch)
    assert original == {"x": {"y": 1}} and patch == {"x": {"z": 2}}, "do not modify the inputs"
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your function serves every `Content-Type: application/merge-patch+json` request —
# here the official client sends one for us.

# %%
with exercises.using(merge_patch) as plugged:
    patched = core.patch_namespaced_config_map(
        "web-1", "ex6",
        {"metadata": {"labels": {"tier": None, "patched": "yes"}}, "data": {"k": "v"}},
        _content_type="application/merge-patch+json")
    print(patched.metadata.labels, patched.data)
    print("calls to your merge_patch:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 3 — a strategic merge of two container lists (4 points)
#
# A merge patch cannot add one container to a Pod without restating all the others. The
# *strategic* merge patch knows that `containers` is a list **keyed by** `name`, `ports` by
# `containerPort`, `env` by `name`. Write the list merge at its heart:
#
# * a patch element `{"$patch": "delete", <key>: v}` removes the original element(s) with that key;
# * a patch element `{"$patch": "replace"}` means: the result is just the *other* patch elements;
# * a patch element whose key matches an original element is merged into it with
#   `merge_item(old, new)` — the library passes its recursive strategic merge, so nested lists
#   (ports, env) merge too;
# * any other patch element is appended;
# * an element without the merge key is an error: raise `PatchError` (a `ValueError`).
#
# Return a new list; the library fixes the final order afterwards (new elements go first, as the
# `kubectl patch` page of the Kubernetes docs shows), so order is not graded.

# %% nbgrader={"grade_id": "ch06_merge_list_by_key", "solution": true}
from fromscratch.api.patch import PatchError


def merge_list_by_key(original, patch, merge_key, merge_item):
    """Merge the list of objects ``patch`` into ``original`` by ``merge_key``."""
    ### BEGIN SOLUTION
    result = list(original)
    plain, replace = [], False
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"{item!r} is not an object")
        directive = item.get("$patch")
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise PatchError(f"{item} has no merge key {merge_key!r}")
            result = [o for o in result if o.get(merge_key) != item[merge_key]]
        elif directive == "replace":
            replace = True
        else:
            raise PatchError(f"unknown directive {directive!r}")
    if replace:
        return plain
    for item in plain:
        if merge_key not in item:
            raise PatchError(f"{item} has no merge key {merge_key!r}")
        for index, old in enumerate(result):
            if old.get(merge_key) == item[merge_key]:
                result[index] = merge_item(old, item)
                break
        else:
            result.append(item)
    return result
    ### END SOLUTION


# %% [markdown]
# The tests use a shallow `merge_item` (`{**old, **new}`) and compare lists by key, since the
# order is the library's job.

# %% nbgrader={"grade_id": "ch06_test_merge_list_by_key", "grade": true, "points": 4}
def shallow(old, new):
    return {**old, **new}


def by_name(items, key="name"):
    return {item[key]: item for item in items}


WEB = {"name": "web", "image": "nginx:1.25"}
LOG = {"name": "log", "image": "busybox"}

with exercises.checking(merge_list_by_key):
    out = merge_list_by_key([WEB], [{"name": "sidecar", "image": "envoy"}], "name", shallow)
    assert by_name(out) == {"web": WEB, "sidecar": {"name": "sidecar", "image": "envoy"}}
    out = merge_list_by_key([WEB, LOG], [{"name": "web", "image": "nginx:1.26"}], "name", shallow)
    assert by_name(out) == {"web": {"name": "web", "image": "nginx:1.26"}, "log": LOG}
    out = merge_list_by_key([WEB, LOG], [{"$patch": "delete", "name": "log"}], "name", shallow)
    assert by_name(out) == {"web": WEB}
    ### BEGIN HIDDEN TESTS
    only_x = [{"$patch": "replace"}, {"name": "x", "image": "y"}]
    assert merge_list_by_key([WEB, LOG], only_x, "name", shallow) == [{"name": "x", "image": "y"}]
    ports = [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]
    out = merge_list_by_key(ports, [{"containerPort": 80, "name": "web"}], "containerPort",
                            shallow)
    assert by_name(out, "containerPort") == {80: {"containerPort": 80, "name": "web"},
                                             443: {"containerPort": 443}}
    assert merge_list_by_key([], [], "name", shallow) == []
    calls = []
    merge_list_by_key([WEB], [{"name": "web", "x": 1}], "name",
                      lambda old, new: calls.append((old, new)) or new)
    assert calls == [(WEB, {"name": "web", "x": 1})], "merge matching elements with merge_item"
    with pytest.raises(ValueError):
        merge_list_by_key([WEB], [{"image": "no-name"}], "name", shallow)
    with pytest.raises(ValueError):
        merge_list_by_key([WEB], [{"$patch": "delete"}], "name", shallow)
    before = [dict(WEB), dict(LOG)]
    merge_list_by_key(before, [{"$patch": "delete", "name": "web"}], "name", shallow)
    assert before == [WEB, LOG], "do not modify the original list"
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, every strategic merge patch the server applies — the official client's default
# `patch_*` calls, `kubectl patch`, `kubectl apply` — merges lists with your function.

# %%
pod = {"metadata": {"name": "demo"}, "spec": {"containers": [
    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}
core.create_namespaced_pod("ex6", pod)
with exercises.using(merge_list_by_key) as plugged:
    patched = core.patch_namespaced_pod("demo", "ex6", {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.26"}]}})  # the client sends a strategic merge patch
    print([(c.name, c.image, [p.container_port for p in c.ports])
           for c in patched.spec.containers])
    print("calls to your merge_list_by_key:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 4 — map an HTTP request to its request info (4 points)
#
# Before authorization, kube-apiserver's `RequestInfoFactory` turns `GET
# /apis/apps/v1/namespaces/dev/deployments/web/scale` into *(verb get, group apps, version v1,
# namespace dev, resource deployments, name web, subresource scale)*. The rules:
#
# 1. Split the path on `/`. Fewer than 3 segments, or a first segment other than `api`/`apis`:
#    a **non-resource** request whose verb is the lowercased HTTP method.
# 2. After `api` comes the version (the core group, `""`); after `apis` come group **and**
#    version — and `/apis/...` needs at least 4 segments, or it is non-resource too.
# 3. If the next segment is `watch` or `proxy`, it is the verb (and is consumed; with nothing
#    after it, raise `ValueError`). Otherwise the method decides: POST create, GET/HEAD get,
#    PUT update, PATCH patch, DELETE delete, anything else `""`.
# 4. `namespaces/<ns>/...`: the namespace is `<ns>`; if a third segment follows and it is not
#    `status` or `finalize`, drop `namespaces/<ns>` so the rest starts at the resource. (One
#    special case: `PATCH /api/v1/namespaces/<ns>` has namespace `""`.)
# 5. The remaining `parts` are resource / name / subresource (no subresource for `proxy`).
# 6. A `get` without a name is a `list`, or a `watch` if the query has `watch` with any value
#    other than `false` or `0`; a `delete` without a name is a `deletecollection`.
#
# Return a `RequestInfo` (import it from `fromscratch.api.request_info`). `query` is a dict of
# parameter to value (or `None`). The `fieldSelector=metadata.name=x` refinement is not asked.

# %% nbgrader={"grade_id": "ch06_request_info", "solution": true}
from fromscratch.api.request_info import RequestInfo

VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete"}


def request_info(method, path, query=None):
    """Classify an HTTP request the way kube-apiserver does."""
    ### BEGIN SOLUTION
    query = query or {}
    basic = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return basic
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return basic
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts[0] in ("watch", "proxy"):
        if len(parts) < 2:
            raise ValueError(f"no resource after /{parts[0]}/ in {path}")
        verb, parts = parts[0], parts[1:]
    else:
        verb = VERBS.get(method.upper(), "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1 and not (len(parts) == 2 and verb == "patch"):
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in ("status", "finalize"):
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 and verb != "proxy" else ""
    if not name and verb == "get":
        watch = str(query.get("watch", "false")) if "watch" in query else None
        verb = "watch" if watch is not None and watch.lower() not in ("false", "0") else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(is_resource_request=True, path=path, verb=verb, api_prefix=prefix,
                       api_group=group, api_version=version, namespace=namespace,
                       resource=resource, subresource=subresource, name=name, parts=tuple(parts))
    ### END SOLUTION


# %% [markdown]
# The tests are rows of the table in kube-apiserver's own `requestinfo_test.go`.

# %% nbgrader={"grade_id": "ch06_test_request_info_table", "grade": true, "points": 2}
def summary(info):
    return (info.verb, info.api_group, info.api_version, info.namespace, info.resource,
            info.subresource, info.name)


with exercises.checking(request_info):
    assert summary(request_info("GET", "/api/v1/namespaces/other/pods/foo")) == (
        "get", "", "v1", "other", "pods", "", "foo")
    assert summary(request_info("GET", "/api/v1/namespaces/other/pods")) == (
        "list", "", "v1", "other", "pods", "", "")
    assert summary(request_info("POST", "/apis/extensions/v1/namespaces/other/pods")) == (
        "create", "extensions", "v1", "other", "pods", "", "")
    assert summary(request_info("GET", "/api/v1/namespaces/other/pods/foo/status")) == (
        "get", "", "v1", "other", "pods", "status", "foo")
    ### BEGIN HIDDEN TESTS
    assert summary(request_info("HEAD", "/api/v1/pods")) == ("list", "", "v1", "", "pods", "", "")
    assert summary(request_info("GET", "/api/v1/namespaces")) == (
        "list", "", "v1", "", "namespaces", "", "")
    assert summary(request_info("GET", "/api/v1/namespaces/other")) == (
        "get", "", "v1", "other", "namespaces", "", "other")
    assert summary(request_info("PATCH", "/api/v1/namespaces/new-namespace")) == (
        "patch", "", "v1", "", "namespaces", "", "new-namespace")
    assert summary(request_info("PUT", "/api/v1/namespaces/other/finalize")) == (
        "update", "", "v1", "other", "namespaces", "finalize", "other")
    assert summary(request_info("DELETE", "/api/v1/namespaces/other/pods")) == (
        "deletecollection", "", "v1", "other", "pods", "", "")
    assert summary(request_info("DELETE", "/api/v1/nodes")) == (
        "deletecollection", "", "v1", "", "nodes", "", "")
    assert summary(request_info("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale")) == (
        "patch", "apps", "v1", "a", "deployments", "scale", "d")
    assert request_info("GET", "/api/v1/namespaces/other/pods").parts == ("pods",)
    assert request_info("OPTIONS", "/api/v1/pods/x").verb == ""
    ### END HIDDEN TESTS

# %% [markdown]
# The second test is about watches, proxies and the paths that are not resources at all.

# %% nbgrader={"grade_id": "ch06_test_request_info_special", "grade": true, "points": 2}
with exercises.checking(request_info):
    assert request_info("GET", "/api/v1/pods", {"watch": "true"}).verb == "watch"
    assert request_info("GET", "/api/v1/watch/namespaces/other/pods").verb == "watch"
    assert not request_info("GET", "/healthz").is_resource_request
    assert request_info("POST", "/healthz").verb == "post"
    ### BEGIN HIDDEN TESTS
    assert request_info("GET", "/api/v1/pods", {"watch": "false"}).verb == "list"
    assert request_info("GET", "/api/v1/pods", {"watch": "0"}).verb == "list"
    assert request_info("GET", "/api/v1/pods", {"watch": "1"}).verb == "watch"
    assert request_info("GET", "/api/v1/pods", {"watch": ""}).verb == "watch"
    assert request_info("GET", "/api/v1/pods", {}).verb == "list"
    info = request_info("GET", "/api/v1/watch/namespaces/other/pods")
    assert (info.namespace, info.resource, info.name) == ("other", "pods", "")
    info = request_info("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/x")
    assert (info.verb, info.name, info.subresource) == ("proxy", "foo", "")
    assert info.parts == ("pods", "foo", "subpath", "x")
    for path in ["/", "", "/api", "/api/v1", "/apis/apps/v1", "/apis/apps/v1/",
                 "/version", "/badprefix/version/resource", "/apis/version/resource"]:
        assert not request_info("GET", path).is_resource_request, path
    assert request_info("GET", "/apis/batch/v1/jobs").resource == "jobs"
    with pytest.raises(ValueError):
        request_info("GET", "/api/v1/watch")
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, your function classifies every request the server receives — the authorizer and
# the audit line below see what you computed.

# %%
with exercises.using(request_info) as plugged:
    names = [p.metadata.name for p in core.list_namespaced_pod("ex6").items]
    image = core.read_namespaced_pod("demo", "ex6").spec.containers[0].image
    print("pods:", names, "- demo runs", image)
    print("requests classified by your request_info:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 5 — decide whether an update conflicts (3 points)
#
# Two controllers read the same object at resourceVersion 7 and both send an update. The first
# wins and the object moves to 8; the second still says "I read 7" — it would silently overwrite
# the first one's change, so the server refuses it with **409 Conflict** and the client re-reads
# and retries. That is *optimistic concurrency*. The rules (kube-apiserver's registry `Update`):
#
# * no resourceVersion in the update (`None`, `""` or `"0"`): an unconditional update, no conflict;
# * otherwise a conflict exactly when it differs from the stored one;
# * a resourceVersion that is not a whole number raises `ValueError`.
#
# resourceVersions are *strings* in the API: compare them as numbers (`"07"` is `7`).

# %% nbgrader={"grade_id": "ch06_update_conflicts", "solution": true}
def update_conflicts(stored_rv, submitted_rv):
    """True when an update carrying ``submitted_rv`` must be refused with 409 Conflict."""
    ### BEGIN SOLUTION
    def number(value):
        if value is None or value == "":
            return 0
        if not str(value).isdigit():
            raise ValueError(f"resourceVersion {value!r} is not an integer")
        return int(value)

    submitted = number(submitted_rv)
    return submitted != 0 and submitted != number(stored_rv)
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch06_test_update_conflicts", "grade": true, "points": 3}
with exercises.checking(update_conflicts):
    assert update_conflicts("8", "7") is True
    assert update_conflicts("7", "7") is False
    assert update_conflicts("7", None) is False
    ### BEGIN HIDDEN TESTS
    assert update_conflicts("7", "") is False
    assert update_conflicts("7", "0") is False
    assert update_conflicts("7", "07") is False
    assert update_conflicts("7", "70") is True
    assert update_conflicts("100", "99") is True
    for bad in ["abc", "-1", "1.5", " 7"]:
        with pytest.raises(ValueError):
            update_conflicts("7", bad)
    ### END HIDDEN TESTS

# %% [markdown]
# Now watch the race happen on the server, with **your** `update_conflicts` plugged in: the
# server's registry asks it whether each update is stale. Two writers read the same ConfigMap,
# the first one writes, and the second one's update still carries the resourceVersion it read.

# %%
first = core.read_namespaced_config_map("web-2", "ex6")
second = core.read_namespaced_config_map("web-2", "ex6")
with exercises.using(update_conflicts) as plugged:
    first.data = {"writer": "first"}
    stored = core.replace_namespaced_config_map("web-2", "ex6", first).metadata.resource_version
    second.data = {"writer": "second"}
    try:
        core.replace_namespaced_config_map("web-2", "ex6", second)
        verdict = "accepted"
    except k8s.ApiException as err:
        verdict = f"refused with {err.status} {err.reason}"
print(f"second writer read rv {second.metadata.resource_version}, stored is now {stored}")
print("server, deciding with your function:", verdict)
print("calls to your update_conflicts:", plugged.calls_to_learner)
print("data now:", core.read_namespaced_config_map("web-2", "ex6").data)

# %% [markdown]
# ## Exercise 6 — the three-way patch `kubectl apply` sends (4 points)
#
# `kubectl apply -f widget.yaml` compares three documents: **original** (what you applied last
# time — kept in the `kubectl.kubernetes.io/last-applied-configuration` annotation), **modified**
# (your file now) and **current** (the live object, with fields *other* writers set). For a kind
# kubectl has no schema for, it sends a JSON merge patch made of
#
# * **deletions**: a `None` for every field that was in *original* but is gone from *modified*
#   (you removed it from your file) — recurse into objects;
# * **additions and changes**: every field of *modified* whose value differs from *current*
#   (objects recursively; lists and scalars compared whole);
#
# and nothing else: fields only *current* has belong to someone else and stay. Return `{}` when
# there is nothing to do.

# %% nbgrader={"grade_id": "ch06_three_way_merge_patch", "solution": true}
def three_way_merge_patch(original, modified, current):
    """The JSON merge patch kubectl apply sends (original = last applied, current = live)."""
    ### BEGIN SOLUTION
    def deletions(old, new):
        out = {}
        for key, value in old.items():
            if key not in new:
                out[key] = None
            elif isinstance(value, dict) and isinstance(new[key], dict):
                sub = deletions(value, new[key])
                if sub:
                    out[key] = sub
        return out

    def changes(live, new):
        out = {}
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(live.get(key), dict):
                sub = changes(live[key], value)
                if sub:
                    out[key] = sub
            elif key not in live or live[key] != value:
                out[key] = copy.deepcopy(value)
        return out

    def combine(base, extra):
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                combine(base[key], value)
            else:
                base[key] = value
        return base

    return combine(deletions(original, modified), changes(current, modified))
    ### END SOLUTION


# %% [markdown]
# The test replays an apply: the file dropped `color` and changed `size`; a controller had set
# `owner` and `status` on the live object.

# %% nbgrader={"grade_id": "ch06_test_three_way_merge_patch", "grade": true, "points": 4}
LAST = {"kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1, "color": "red"}}
NEW = {"kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}}
LIVE = {"kind": "Widget", "metadata": {"name": "w", "uid": "u1"},
        "spec": {"size": 1, "color": "red", "owner": "ctrl"}, "status": {"ready": True}}

with exercises.checking(three_way_merge_patch):
    assert three_way_merge_patch(LAST, NEW, LIVE) == {"spec": {"size": 2, "color": None}}
    assert three_way_merge_patch(LAST, LAST, LIVE) == {}
    ### BEGIN HIDDEN TESTS
    drifted = copy.deepcopy(LIVE)
    drifted["spec"]["color"] = "blue"
    assert three_way_merge_patch(LAST, LAST, drifted) == {"spec": {"color": "red"}}
    added = copy.deepcopy(NEW)
    added["spec"]["tags"] = ["a", "b"]
    assert three_way_merge_patch(LAST, added, LIVE) == {
        "spec": {"size": 2, "color": None, "tags": ["a", "b"]}}
    live_tags = copy.deepcopy(LIVE)
    live_tags["spec"]["tags"] = ["a"]
    assert three_way_merge_patch(LAST, added, live_tags)["spec"]["tags"] == ["a", "b"]
    assert three_way_merge_patch({}, NEW, LIVE) == {"spec": {"size": 2}}
    nested_old = {"spec": {"template": {"a": 1, "b": 2}}}
    nested_new = {"spec": {"template": {"a": 1}}}
    assert three_way_merge_patch(nested_old, nested_new, nested_old) == {
        "spec": {"template": {"b": None}}}
    gone = {"metadata": {"name": "w"}}
    assert three_way_merge_patch(LAST, gone, LIVE) == {"kind": None, "spec": None}
    live_copy = copy.deepcopy(LIVE)
    three_way_merge_patch(copy.deepcopy(LAST), NEW, live_copy)
    assert live_copy == LIVE, "do not modify the inputs"
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: `apply_patch_for` — the library's client-side `kubectl apply` — computes the merge
# patch with your function when we force the JSON-merge flavour, and the server applies it.

# %%
import json

from fromscratch.api.patch import apply_patch_for, with_last_applied

config = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "settings", "namespace": "ex6"},
          "data": {"size": "1", "color": "red"}}
core.create_namespaced_config_map("ex6", with_last_applied(config))
core.patch_namespaced_config_map("settings", "ex6", {"data": {"owner": "controller"}})
config["data"] = {"size": "2"}
live = server.client().sanitize_for_serialization(core.read_namespaced_config_map("settings", "ex6"))
with exercises.using(three_way_merge_patch) as plugged:
    patch, content_type = apply_patch_for(config, live, strategy="merge")
    print(content_type, json.dumps(patch["data"]))
    print("calls to your three_way_merge_patch:", plugged.calls_to_learner)
result = core.patch_namespaced_config_map("settings", "ex6", patch, _content_type=content_type)
print("live data after apply:", result.data)

# %% [markdown]
# ## Clean up, summary and going further
#
# Stop the server (each demo above plugged your function in only for its own block).

# %%
exercises.reset()
stack.close()

# %% [markdown]
# You wrote six of the functions every request to kube-apiserver depends on. The real ones:
#
# * label selectors — `k8s.io/apimachinery/pkg/labels/selector.go` (parser and `Matches`);
# * JSON merge patch — `github.com/evanphx/json-patch` (`merge.go`), RFC 7386;
# * strategic merge patch — `k8s.io/apimachinery/pkg/util/strategicpatch/patch.go`, and the
#   design note *preserve-order-in-strategic-merge-patch*;
# * request info — `k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`;
# * optimistic concurrency — `k8s.io/apiserver/pkg/registry/generic/registry/store.go` (`Update`);
# * three-way apply — `k8s.io/apimachinery/pkg/util/jsonmergepatch/patch.go` and kubectl's
#   `apply` command; server-side apply (`kubectl apply --server-side`) replaces all this with
#   field ownership (`managedFields`).
#
# **Next:** chapter 7, controllers — the informer, the work queue and the reconcile loop.

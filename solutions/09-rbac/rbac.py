# %% [markdown]
# # Chapter 9 — RBAC: who may do what, enforced by our API server
#
# Everything in a cluster goes through the API server, so the API server is where access is
# decided. Every request is **authenticated** (who is this? a token → a user and groups), then
# **authorized** (may they do *this*?), and only then handled. This chapter switches on
# Kubernetes' standard authorizer, **RBAC** (role-based access control), in our API server and
# uses it the way a cluster administrator does.
#
# **You will see:** Roles (lists of rules) and RoleBindings (who gets a Role); a ServiceAccount
# acting through the token a Pod would carry, allowed to list Pods and refused (`403`) when it
# creates one; `kubectl auth can-i`, with `--as` and `--list`; a matrix of who may do what; the
# "why" of a decision; the default roles; escalation prevention; and advice about the `default`
# ServiceAccount.
#
# **What to know first:** chapter 6 (the API server: objects, URLs, the official client).
#
# **Where the code lives:** `fromscratch/api/rbac/` — `rules.py` (does a rule match a request),
# `authorizer.py` (bindings → roles → rules, and the reason), `defaults.py` (cluster-admin,
# admin, edit, view), `escalation.py`, `reviews.py` (`kubectl auth can-i`), `impersonation.py`
# (`--as`), `serviceaccounts.py` and `install.py` (`enable_rbac`). The exercises are in
# `exercises.ipynb`. The cluster is `fromscratch/cluster/`; the kubelet's token volume is
# `fromscratch/kubelet/volumes.py`.

# %%
from fromscratch import host

host.show_mode()

# %% [markdown]
# RBAC does not use any kernel feature: it behaves the same in every mode. The API server is a
# real HTTPS server on `127.0.0.1`, and we talk to it with the official Kubernetes client and the
# real `kubectl`.

# %% [markdown]
# ## 1. A cluster with RBAC switched on
#
# We start the embedded cluster of chapters 7–8 — API server, controllers, scheduler and one
# kubelet running Pods as plain processes — with `rbac=True`. That calls `enable_rbac(server)`,
# which does what `kube-apiserver --authorization-mode=RBAC` does: it plugs the RBAC authorizer
# in, writes the **bootstrap roles** every cluster starts with, and starts the controllers RBAC
# relies on (a `default` ServiceAccount in every namespace). Our admin token is in the group
# `system:masters`, which is allowed everything *before* RBAC is consulted — that is how the
# first administrator can create the first Roles. (The controllers and the kubelet use that admin
# token too; in a real cluster each has its own identity and its own, narrower, roles.)

# %%
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from kubernetes import client as k8s

from fromscratch.cluster import Cluster

stack = contextlib.ExitStack()
cluster = stack.enter_context(Cluster(nodes=1, runtime="process", rbac=True))
server = cluster.server
rbac = server.rbac
admin = server.client()
core = k8s.CoreV1Api(admin)
rbac_api = k8s.RbacAuthorizationV1Api(admin)
print("API server with RBAC at", server.url)
print("cluster roles:", ", ".join(r.metadata.name for r in rbac_api.list_cluster_role().items))

# %% [markdown]
# ## 2. A namespace, a ServiceAccount, a Role and a RoleBinding
#
# People are *users* (names the authenticator vouches for); programs running in Pods are
# **ServiceAccounts**, namespaced API objects. A **Role** is a list of rules — *verbs* on
# *resources* of *API groups* — inside one namespace. A **RoleBinding** grants a Role to
# *subjects* (users, groups, ServiceAccounts), through its `roleRef`. Nothing is allowed unless
# some rule allows it; there is no "deny" rule at all.

# %%
core.create_namespace({"metadata": {"name": "shop"}})
core.create_namespaced_service_account("shop", {"metadata": {"name": "catalog"}})
pod_reader = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
    "metadata": {"name": "pod-reader", "namespace": "shop"},
    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
}
read_pods = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
    "metadata": {"name": "catalog-reads-pods", "namespace": "shop"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
    "subjects": [{"kind": "ServiceAccount", "name": "catalog", "namespace": "shop"}],
}
rbac_api.create_namespaced_role("shop", pod_reader)
rbac_api.create_namespaced_role_binding("shop", read_pods)
print(yaml.safe_dump([pod_reader, read_pods], sort_keys=False))

# %% [markdown]
# The `roleRef` of a binding can never change (to grant another role, delete the binding and
# make a new one — so nobody can silently widen what a binding means):

# %%
changed = dict(read_pods, roleRef={**read_pods["roleRef"], "kind": "ClusterRole",
                                   "name": "cluster-admin"})
try:
    rbac_api.replace_namespaced_role_binding("catalog-reads-pods", "shop", changed)
except k8s.ApiException as err:
    print(err.status, json.loads(err.body)["message"])

# %% [markdown]
# ## 3. Inside a Pod: the ServiceAccount's token
#
# Every Pod runs as a ServiceAccount — `default` if it names none. The *ServiceAccount admission
# plugin* adds a volume to the Pod, and the **kubelet** fills it with a signed token, the
# cluster's CA certificate and the namespace, mounted at
# `/var/run/secrets/kubernetes.io/serviceaccount`. It also tells every container where the API
# server is, in the environment variables `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`.
#
# The program below runs *inside* a Pod that runs as `catalog`. It builds an official-client
# configuration from those three files and two variables — exactly what the client's
# `load_incluster_config()` does — and then tries to list Pods and to create one. (Our Pods are
# plain processes here, which cannot have a private `/var/run/…`: the kubelet passes the
# volume's real directory wherever the mount path appears on the command line, so the program
# takes the path as its argument.)

# %%
IN_POD = r"""
import base64, json, os, sys
from kubernetes import client

secrets = sys.argv[1]
token = open(os.path.join(secrets, "token")).read()
namespace = open(os.path.join(secrets, "namespace")).read()
configuration = client.Configuration()
configuration.host = "https://{KUBERNETES_SERVICE_HOST}:{KUBERNETES_SERVICE_PORT}".format(**os.environ)
configuration.ssl_ca_cert = os.path.join(secrets, "ca.crt")
configuration.api_key = {"authorization": "Bearer " + token}
core = client.CoreV1Api(client.ApiClient(configuration))

claims = token.split(".")[1]
print("token says I am:", json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"])
print("list pods:", [p.metadata.name for p in core.list_namespaced_pod(namespace).items])
try:
    core.create_namespaced_pod(namespace, {"metadata": {"name": "evil"},
                                           "spec": {"containers": [{"name": "x", "image": "busybox"}]}})
except client.ApiException as err:
    status = json.loads(err.body)
    print("create pod:", err.status, status["reason"], "-", status["message"])
"""
SECRETS = "/var/run/secrets/kubernetes.io/serviceaccount"
pod = core.create_namespaced_pod("shop", {
    "metadata": {"name": "catalog"},
    "spec": {"serviceAccountName": "catalog", "restartPolicy": "Never",
             "containers": [{"name": "app", "image": "python",
                             "command": [sys.executable, "-c", IN_POD, SECRETS]}]}}).to_dict()
print("serviceAccountName:", pod["spec"]["service_account_name"])
print("volume:", pod["spec"]["volumes"][0]["name"], "→",
      [next(k for k, v in s.items() if v) for s in pod["spec"]["volumes"][0]["projected"]["sources"]])
print("mounted at:", pod["spec"]["containers"][0]["volume_mounts"][0]["mount_path"])

# %% [markdown]
# The token is a JSON Web Token signed by the API server; its middle part is readable by anyone
# (it is signed, not encrypted) and names the ServiceAccount. As `catalog`, listing Pods works
# and creating one is refused with `403 Forbidden`, with the very message kube-apiserver writes.
# Here is what the Pod printed (`kubectl logs catalog -n shop`):

# %%
cluster.wait_for(lambda: core.read_namespaced_pod("catalog", "shop").status.phase
                 in ("Succeeded", "Failed"), timeout=60, message="the Pod to finish")
print(core.read_namespaced_pod_log("catalog", "shop"))

# %% [markdown]
# The same token, taken from the API (`kubectl create token catalog -n shop` does this through the
# *TokenRequest* API), lets us act as `catalog` from here too:

# %%
token = core.create_namespaced_service_account_token("catalog", "shop", {"spec": {}}).status.token
as_catalog = k8s.CoreV1Api(server.client(token=token))
print("list pods as catalog:", [p.metadata.name for p in as_catalog.list_namespaced_pod("shop").items])

# %% [markdown]
# ## 4. `kubectl auth can-i`
#
# `kubectl auth can-i VERB RESOURCE` asks the server through a *SelfSubjectAccessReview*: an
# object you create and get back with `status.allowed` filled in. `--as` asks on someone else's
# behalf through **impersonation** (allowed here because the admin is in `system:masters`), and
# `--list` lists everything you may do in a namespace (a *SelfSubjectRulesReview*).

# %%
KUBECTL = str(Path(sys.executable).parent / "kubectl")
workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rbac-")))


def kubectl(*args: str, token: str | None = None) -> str:
    config = workdir / "kubeconfig"
    config.write_text(yaml.safe_dump(server.kubeconfig(token=token)))
    result = subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "KUBECONFIG": str(config)})
    return (result.stdout + result.stderr).strip()


catalog = "system:serviceaccount:shop:catalog"
for args in (["list", "pods"], ["create", "pods"], ["get", "secrets"]):
    print(f"as catalog: can-i {' '.join(args):<14} →", kubectl("auth", "can-i", *args, "-n",
                                                              "shop", token=token))
print("admin --as catalog: can-i delete pods →",
      kubectl("auth", "can-i", "delete", "pods", "-n", "shop", "--as", catalog))
print(kubectl("auth", "can-i", "--list", "-n", "shop", token=token))

# %% [markdown]
# ## 5. Who may do what: a matrix
#
# Let us add a few more subjects — a developer bound to the built-in `edit` ClusterRole in `shop`
# (a RoleBinding to a ClusterRole grants it *in the binding's namespace only*), an auditor group
# bound to `view` cluster-wide (ClusterRoleBinding), and the `default` ServiceAccount with no
# bindings at all — then ask the authorizer for every combination.

# %%
from fromscratch.api.auth import UserInfo
from fromscratch.api.rbac.attributes import service_account_user

rbac_api.create_namespaced_role_binding("shop", {
    "metadata": {"name": "dana-edits"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
    "subjects": [{"kind": "User", "name": "dana"}]})
rbac_api.create_cluster_role_binding({
    "metadata": {"name": "auditors-view"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "Group", "name": "auditors"}]})
subjects = {"catalog (SA)": service_account_user("shop", "catalog"),
            "default (SA)": service_account_user("shop", "default"),
            "dana (edit in shop)": UserInfo("dana"),
            "eve (auditors)": UserInfo("eve", groups=("auditors",)),
            "admin (masters)": UserInfo("admin", groups=("system:masters",))}
checks = [("GET", "/api/v1/namespaces/shop/pods", "list pods"),
          ("POST", "/api/v1/namespaces/shop/pods", "create pods"),
          ("GET", "/api/v1/namespaces/shop/secrets/db", "get secrets"),
          ("DELETE", "/apis/apps/v1/namespaces/shop/deployments/web", "delete deploy"),
          ("GET", "/api/v1/namespaces/default/pods", "list pods (default ns)"),
          ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings",
           "create rolebindings"),
          ("GET", "/api/v1/nodes", "list nodes")]
matrix = [[rbac.can(user, method, url).allowed for method, url, _ in checks]
          for user in subjects.values()]

# %%
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

fig, ax = plt.subplots(figsize=(9, 3.2))
ax.imshow(matrix, cmap=ListedColormap(["#d9534f", "#5cb85c"]), vmin=0, vmax=1)
ax.set_xticks(range(len(checks)), [label for *_, label in checks], rotation=30, ha="right")
ax.set_yticks(range(len(subjects)), list(subjects))
for row, values in enumerate(matrix):
    for col, allowed in enumerate(values):
        ax.text(col, row, "yes" if allowed else "no", ha="center", va="center", color="white")
ax.set_title("RBAC decisions (green: allowed, red: denied)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Read it row by row: `catalog` can only read Pods in `shop`; `default` can do nothing; `dana`
# edits `shop` but cannot read elsewhere, nor grant permissions (`edit` has no RBAC rights);
# `eve` reads everywhere but never Secrets (`view` leaves them out, because a Secret may hold a
# token that grants more); the admin bypasses RBAC.

# %% [markdown]
# Pick a subject and a request to see the decision and the reason the authorizer gives (in a
# live notebook the menus are interactive; the first pair is shown when the cell runs):

# %%
import ipywidgets as widgets


def decide(subject: str, request: str) -> None:
    method, url, _ = next(c for c in checks if c[2] == request)
    decision = rbac.can(subjects[subject], method, url)
    print("allowed" if decision.allowed else "denied", "—",
          decision.reason or ("system:masters" if decision.allowed else "no rule matches"))


_ = widgets.interact(decide, subject=list(subjects), request=[label for *_, label in checks])

# %% [markdown]
# ## 6. Why? Tracing a decision
#
# `rbac.explain(user, method, url)` walks the bindings exactly as the authorizer does —
# ClusterRoleBindings first, then the RoleBindings of the request's namespace — and marks the
# rule that matched. The reason string is the one kube-apiserver puts in audit logs and in a
# SubjectAccessReview's `status.reason`.

# %%
print(rbac.explain(UserInfo("dana"), "DELETE", "/apis/apps/v1/namespaces/shop/deployments/web"))

# %%
print(rbac.explain(service_account_user("shop", "catalog"), "POST",
                   "/api/v1/namespaces/shop/pods"))

# %% [markdown]
# ## 7. No granting what you do not hold
#
# `dana` may create RoleBindings? No — but suppose she could (an `admin` of `shop` can). Even
# then, she could only grant permissions she holds herself: the API server compares the rules of
# the Role being granted with hers, piece by piece, and refuses an **escalation** unless she has
# the special verbs `escalate` (for Roles) or `bind` (for bindings). Here the namespace admin
# `olga` tries to hand out `cluster-admin`:

# %%
core.create_namespaced_service_account("shop", {"metadata": {"name": "olga"}})
rbac_api.create_namespaced_role_binding("shop", {
    "metadata": {"name": "olga-admin"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
    "subjects": [{"kind": "ServiceAccount", "name": "olga", "namespace": "shop"}]})
olga_token = core.create_namespaced_service_account_token("olga", "shop", {"spec": {}}).status.token
as_olga = k8s.RbacAuthorizationV1Api(server.client(token=olga_token))
for role_name in ("edit", "cluster-admin"):
    try:
        as_olga.create_namespaced_role_binding("shop", {
            "metadata": {"name": f"catalog-{role_name}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": "catalog", "namespace": "shop"}]})
        print(f"olga grants {role_name}: created")
    except k8s.ApiException as err:
        print(f"olga grants {role_name}: {err.status}", json.loads(err.body)["message"][:300], "…")

# %% [markdown]
# ## 8. The `default` ServiceAccount
#
# Every namespace gets a ServiceAccount named `default`, and every Pod that names none runs as it,
# with its token mounted. Two pieces of advice follow from the matrix above:
#
# * **give `default` nothing, or only read-only roles**: anything granted to it is granted to
#   every Pod in the namespace that did not ask for an identity. If the applications need to read,
#   bind `default` to `view`; give anything that writes its own ServiceAccount;
# * **do not mount a token a Pod does not need**: `automountServiceAccountToken: false` on the
#   ServiceAccount (or the Pod) keeps the token out of the Pod altogether.

# %%
rbac_api.create_namespaced_role_binding("shop", {
    "metadata": {"name": "default-view"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]})
default_sa = service_account_user("shop", "default")
for method, url, label in checks[:3]:
    print(f"default may {label:<12}: {rbac.can(default_sa, method, url).allowed}")
core.patch_namespaced_service_account("default", "shop", {"automountServiceAccountToken": False})
quiet = core.create_namespaced_pod("shop", {"metadata": {"name": "quiet"}, "spec": {
    "containers": [{"name": "app", "image": "nginx"}]}})
print("volumes of a Pod running as default now:", quiet.spec.volumes)

# %%
stack.close()  # stop the cluster, remove the temporary files

# %% [markdown]
# ## Summary
#
# * Every request is authenticated (token → user and groups; ServiceAccounts are
#   `system:serviceaccount:<ns>:<name>` in `system:serviceaccounts[:<ns>]`), then authorized.
# * RBAC is **additive and default-deny**: a rule is verbs × API groups × resources (with
#   `resource/subresource`, `*`, optional `resourceNames`) or verbs × non-resource URLs.
# * A **Role** and a **RoleBinding** live in a namespace and grant only there; a RoleBinding may
#   reuse a **ClusterRole** inside its namespace; a **ClusterRoleBinding** grants everywhere.
#   A binding's `roleRef` is immutable.
# * `system:masters` bypasses RBAC; `cluster-admin`, `admin`, `edit` and `view` are the default
#   roles (the last three *aggregated* from labelled ClusterRoles).
# * You cannot grant what you do not hold, unless you may `escalate` or `bind`.
# * `kubectl auth can-i` (with `--as` and `--list`) asks the server itself; the reason string
#   names the binding that allowed a request.
# * Every Pod runs as a ServiceAccount and carries its token: keep `default` powerless.
#
# ## Going further
#
# * The Kubernetes documentation: *Using RBAC Authorization*, *Authenticating* (ServiceAccount
#   tokens, impersonation), *Managing Service Accounts*, and *RBAC Good Practices*.
# * kube-apiserver's source: `plugin/pkg/auth/authorizer/rbac/` (the authorizer),
#   `pkg/registry/rbac/validation/` (rule resolution and escalation checks),
#   `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` (the default roles).
# * `audit2rbac` (github.com/liggitt/audit2rbac) derives least-privilege roles from audit logs —
#   exercise 4 builds a small version.
#
# **Now:** `exercises.ipynb` in this folder — write five of the pieces you just watched.
# **Next chapter:** 10, the Horizontal Pod Autoscaler.

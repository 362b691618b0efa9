# %% [markdown]
# # Chapter 7 — Controllers: loops that make the cluster match what you asked for
#
# You never tell Kubernetes *do this*; you tell it *I want this* — three replicas of nginx 1.27 —
# and a **controller** works, over and over, until what runs matches what you wrote. Every
# controller in `kube-controller-manager` is the same loop: compare the **desired** state (the
# object's `spec`) with the **actual** state (other objects, what the kubelets report), and create,
# update or delete objects to close the gap. This chapter builds up that idea:
#
# 1. the control loop as ten lines of plain Python;
# 2. the machinery every real controller is built from: the **informer** (a watched, indexed
#    cache) and the **workqueue** of `namespace/name` keys;
# 3. a **ReplicaSet** healing itself; a **Deployment** — a controller of ReplicaSets — rolling
#    out a new version under `maxSurge`/`maxUnavailable`, plotted step by step, then rolled back;
# 4. a **StatefulSet** creating `web-0` before `web-1` and keeping each one's volume claim;
#    a **DaemonSet** following nodes as they join; a **Job** running to completion;
# 5. **garbage collection** through `ownerReferences`.
#
# **Prerequisites:** chapter 5 (Pods) and chapter 6 (the API server, watch, resourceVersion).
# **Where the code lives:** `fromscratch/controllers/` — `informer.py`, `reflector.py`, `fifo.py`,
# `cache.py` and `workqueue.py` (the client-side machinery), `base.py` (the skeleton every
# controller shares), `replicaset.py`, `deployment.py` + `rollout.py`, `statefulset.py`,
# `daemonset.py`, `job.py`, `garbagecollector.py`; the cluster is `fromscratch/cluster/`.

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# ## 1. The control loop in ten lines
#
# Here is the whole idea with dictionaries instead of an API server. `desired` is what a user
# wrote; `actual` is what is running. `reconcile` never looks at *what happened* (which Pod
# died, who scaled what): it only compares the two states and closes the gap. That is why a
# controller can crash, miss events or run twice, and still end up right.

# %%
import itertools

desired = {"web": 3}  # name -> replicas (the spec)
actual = {"web": ["web-1"]}  # name -> running Pods (the status of the world)
names = itertools.count(2)


def reconcile(name: str) -> None:
    pods, want = actual.setdefault(name, []), desired.get(name, 0)
    while len(pods) < want:
        pods.append(f"{name}-{next(names)}")  # create what is missing
    while len(pods) > want:
        pods.pop()  # delete what is too much


for round_ in range(3):
    reconcile("web")
    print(f"round {round_}: {actual['web']}")
    actual["web"].remove(actual["web"][0]) if round_ == 0 else None  # a Pod dies after round 0

# %% [markdown]
# The real thing adds three concerns: the state lives in the API server (so the controller must
# *watch* it efficiently), many objects change at once (so work is queued by key), and writes
# can fail or conflict (so a failed key is retried later, with back-off).
#
# ## 2. A cluster, an informer and a workqueue
#
# We start the embedded cluster: our API server, the controller manager running every
# controller, the scheduler and three kubelets. The kubelets use the `process` runtime: each
# container is a plain child process of this notebook — no namespaces or cgroups (chapters 1–5
# did that), because this chapter is about the control plane, and plain processes work in every
# mode, as root or not. The controllers talk HTTPS to the API server exactly as they would to a
# real cluster.

# %%
from fromscratch.cluster import Cluster

cluster = Cluster(nodes=3, runtime="process").start()
print(cluster)
print(cluster.kubectl("get", "nodes"))

# %% [markdown]
# An **informer** is how a controller sees the cluster without hammering the API server. It
# *lists* a resource once, then *watches* from the list's `resourceVersion`; each change goes
# through a Delta FIFO into a local, indexed **Store**, and then to event handlers. A
# controller's handlers do one thing only: put the key `namespace/name` of the object to
# reconcile in a **workqueue**. Workers take keys from the queue and call `reconcile(key)`,
# which reads the Store (never the API server) and writes what is missing.

# %%
from fromscratch.viz.flow import flow_diagram

flow_diagram([
    ("API server", "list, then watch\nfrom resourceVersion"),
    ("Reflector", "relists on\n410 Gone"),
    ("Delta FIFO", "what happened,\nper object, in order"),
    ("Store", "indexed cache:\nby namespace, by owner"),
    ("handlers", "on_add / on_update /\non_delete -> a key"),
    ("workqueue", "dedup, one worker\nper key, back-off"),
    ("reconcile(key)", "desired vs actual;\nwrite the difference"),
], title="client-go's informer and workqueue, as in fromscratch/controllers")

# %% [markdown]
# Let us build one by hand: an informer on Pods whose handlers print what they hear, and a
# custom index "Pods by node". Then we create and delete a Pod with `kubectl`.

# %%
import time

from fromscratch.controllers.client import PODS
from fromscratch.controllers.informer import EventHandler, InformerFactory

factory = InformerFactory(cluster.api)
pods_informer = factory.informer(PODS)
pods_informer.add_indexers({"by-node": lambda pod: [pod["spec"].get("nodeName") or "<none>"]})
heard: list[str] = []
pods_informer.add_event_handler(EventHandler(
    on_add=lambda pod: heard.append(f"ADDED    {pod['metadata']['name']}"),
    on_update=lambda old, new: heard.append(
        f"MODIFIED {new['metadata']['name']} phase={new.get('status', {}).get('phase')} "
        f"node={new['spec'].get('nodeName')}"),
    on_delete=lambda pod: heard.append("DELETED")))
factory.start()
factory.wait_for_sync()

POD = """
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
"""
cluster.apply(POD)
cluster.wait_for(lambda: len(cluster.ready_pods(selector="")) >= 1, message="the Pod to run")
print("in the Store, by node:", {node: [p["metadata"]["name"] for p in pods_informer.store.by_index("by-node", node)]
                                 for node in ("node-1", "node-2", "node-3")})
cluster.kubectl("delete", "pod", "hello", "--wait=true")
time.sleep(0.3)
print("\n".join(dict.fromkeys(heard)))  # each distinct line once
factory.stop()

# %% [markdown]
# The informer heard the Pod being created, scheduled (its `nodeName` set by the scheduler),
# started (phase Running, reported by a kubelet) and deleted — all through one watch.
#
# The **workqueue** has three properties that make controllers safe: a key queued twice is
# processed once; a key being processed is never handed to a second worker; and a failed key
# comes back after an **exponential back-off** (5 ms, 10 ms, 20 ms, … up to 1000 s — client-go's
# default), until `forget` resets it on success.

# %%
from fromscratch.controllers.workqueue import WorkQueue

queue = WorkQueue("demo")
for key in ["default/web", "default/web", "default/db", "default/web"]:
    queue.add(key)
print("queued 4 times, length:", len(queue))
key, _ = queue.get()
print("a worker took", key, "| delays for its next failures:",
      [round(queue.add_rate_limited(key) * 1000) for _ in range(6)], "ms")
queue.forget(key)
print("after forget, failures counted:", queue.num_requeues(key))
queue.done(key)
queue.shutdown()

# %% [markdown]
# ## 3. A ReplicaSet heals itself
#
# A ReplicaSet wants `replicas` Pods matching its selector. Delete one and the controller
# notices (the informer's delete event enqueues the ReplicaSet's key) and creates another.
# Each Pod carries an `ownerReference` to its ReplicaSet with `controller: true`.
#
# `terminationGracePeriodSeconds: 0`: our containers run `sleep`. In a real container `sleep`
# is PID 1 of its PID namespace, and the kernel gives PID 1 no default signal actions, so it
# ignores the kubelet's SIGTERM and every deletion would wait out the default 30 s grace period
# before the SIGKILL. A grace period of 0 makes this chapter's deletions immediate.

# %%
REPLICASET = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {tier: frontend}}
  template:
    metadata: {labels: {tier: frontend}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
"""
cluster.apply(REPLICASET)
cluster.wait_for(lambda: len(cluster.ready_pods(selector="tier=frontend")) == 3, message="3 Pods")
before = sorted(p["metadata"]["name"] for p in cluster.ready_pods(selector="tier=frontend"))
print("before:", before)
cluster.kubectl("delete", "pod", before[0])
after = cluster.wait_for(lambda: (names := sorted(p["metadata"]["name"] for p in cluster.ready_pods(
    selector="tier=frontend"))) != before and len(names) == 3 and names, message="a replacement")
print("after deleting", before[0], ":", after)
owner = cluster.pods(selector="tier=frontend")[0]["metadata"]["ownerReferences"][0]
print("owner of each Pod:", {k: owner[k] for k in ("kind", "name", "controller")})
cluster.kubectl("delete", "replicaset", "frontend")

# %% [markdown]
# ## 4. A Deployment rolls out, step by step
#
# A Deployment does not manage Pods: it manages **ReplicaSets**, one per version of the Pod
# template, named `<deployment>-<pod-template-hash>`. Changing the template starts a **rolling
# update**: the new ReplicaSet is scaled up and the old one down, within two bounds:
#
# - `maxSurge`: at most `replicas + maxSurge` Pods in total (a percentage rounds **up**);
# - `maxUnavailable`: at least `replicas - maxUnavailable` Pods available (rounds **down**).
#
# We create 6 replicas with `maxSurge: 2`, `maxUnavailable: 1`, then `kubectl set image` and
# record both ReplicaSets' sizes until the rollout completes.

# %%
from fromscratch.viz.rollout import RolloutRecorder

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 2, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: "nginx:1.27"
        command: [sleep, "3600"]
        resources: {requests: {cpu: 50m, memory: 32Mi}}
"""


def rolled_out() -> bool:
    """What `kubectl rollout status` checks: the new ReplicaSet has every replica, all available."""
    d = cluster.apps.read_namespaced_deployment("web", "default")
    s = d.status
    return (s.observed_generation == d.metadata.generation and s.updated_replicas == 6
            and s.replicas == 6 and s.available_replicas == 6)


print(cluster.apply(DEPLOYMENT))
cluster.wait_for(rolled_out, message="the first rollout")
print(cluster.kubectl("rollout", "status", "deployment/web", "--timeout=10s"))

recorder = RolloutRecorder(cluster.api, "default", "web")
recorder.sample()
cluster.kubectl("set", "image", "deployment/web", "web=nginx:1.28")
recorder.record_until(rolled_out, timeout=60, interval=0.05)
recorder.plot(replicas=6, max_surge=2, max_unavailable=1)
print(cluster.kubectl("get", "replicasets", "-l", "app=web"))

# %% [markdown]
# Read the plot from left to right: the new ReplicaSet jumps by the surge first (its dotted
# "ready" line follows once the kubelets report the Pods ready), the old one shrinks only as
# far as the availability floor allows, and the grey total never crosses the red line.
#
# The same rollout replayed one observation at a time — press play, or drag the slider
# (in a static copy of this notebook only the first step shows):

# %%
from IPython.display import display

display(recorder.player(replicas=6, max_surge=2, max_unavailable=1))

# %% [markdown]
# Each rollout is a **revision** (an annotation on its ReplicaSet). `kubectl rollout history`
# lists them, and `kubectl rollout undo` goes back: the Deployment's template is set to the
# old ReplicaSet's, which therefore has the same `pod-template-hash` — the old ReplicaSet is
# scaled up again rather than a new one created, and it becomes revision 3.

# %%
print(cluster.kubectl("rollout", "history", "deployment/web"))
print(cluster.kubectl("rollout", "undo", "deployment/web"))
cluster.wait_for(lambda: rolled_out() and cluster.apps.read_namespaced_deployment(
    "web", "default").spec.template.spec.containers[0].image == "nginx:1.27", message="the rollback")
print(cluster.kubectl("rollout", "status", "deployment/web", "--timeout=10s"))
print(cluster.kubectl("get", "replicasets", "-l", "app=web",
                      "-o", "custom-columns=NAME:.metadata.name,REVISION:.metadata.annotations.deployment\\.kubernetes\\.io/revision,"
                            "DESIRED:.spec.replicas,IMAGE:.spec.template.spec.containers[0].image"))

# %% [markdown]
# ## 5. A StatefulSet: ordered names, one volume claim each
#
# A StatefulSet gives its Pods **stable identities**: `web-0`, `web-1`, … created *in order*
# (each only once its predecessor is Running and Ready), deleted in reverse, and each with its
# own PersistentVolumeClaim from `volumeClaimTemplates` — `www-web-0`, `www-web-1` — that
# **outlives the Pod**: a recreated `web-1` gets `www-web-1` back. We record the order in
# which Pods appear with an informer handler.

# %%
STATEFULSET = """
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: nginx
        image: nginx:1.27
        command: [sleep, "3600"]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""
factory = InformerFactory(cluster.api)
order: list[str] = []
factory.informer(PODS).add_event_handler(EventHandler(on_add=lambda pod: order.append(pod["metadata"]["name"])))
factory.start()
factory.wait_for_sync()
order.clear()
cluster.apply(STATEFULSET)
cluster.wait_for(lambda: len(cluster.ready_pods(selector="app=nginx")) == 2, message="web-0 and web-1")
factory.stop()
print("Pods appeared in this order:", order)
print(cluster.kubectl("get", "pvc"))

# %% [markdown]
# Now delete `web-1`: the controller recreates a Pod with the *same name*, which mounts the same
# claim. Scale the StatefulSet to 0 and the Pods go (`web-1` first), but the claims stay — the
# data survives until you delete the claims yourself.

# %%
uid_before = next(p["metadata"]["uid"] for p in cluster.pods(selector="app=nginx")
                  if p["metadata"]["name"] == "web-1")
cluster.kubectl("delete", "pod", "web-1")
web1 = cluster.wait_for(lambda: next((p for p in cluster.ready_pods(selector="app=nginx")
                                      if p["metadata"]["name"] == "web-1"
                                      and p["metadata"]["uid"] != uid_before), None), message="a new web-1")
print("new web-1 (another uid) uses claim:",
      [v["persistentVolumeClaim"]["claimName"] for v in web1["spec"]["volumes"] if "persistentVolumeClaim" in v])
cluster.kubectl("scale", "statefulset", "web", "--replicas=0")
cluster.wait_for(lambda: not cluster.pods(selector="app=nginx"), message="no Pods")
print(cluster.kubectl("get", "pvc"))

# %% [markdown]
# ## 6. A DaemonSet follows the nodes
#
# A DaemonSet runs one Pod on **every** eligible node — log shippers, node agents, kube-proxy.
# When a node joins, it gets a Pod; when a node leaves, its Pod goes. (The controller pins each
# Pod to its node with node affinity and adds tolerations for the node-problem taints, so even a
# node under pressure keeps its agent.)

# %%
DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: agent, image: fluentd, command: [sleep, "3600"]}]
"""


def agents() -> dict[str, str]:
    return {p["spec"].get("nodeName") or "?": p["metadata"]["name"]
            for p in cluster.ready_pods(selector="app=node-agent")}


cluster.apply(DAEMONSET)
print("3 nodes:", cluster.wait_for(lambda: len(agents()) == 3 and agents(), message="3 agents"))
cluster.add_node("node-4")
print("node-4 joins:", cluster.wait_for(lambda: len(agents()) == 4 and agents(), message="4 agents"))
cluster.remove_node("node-4")
print("node-4 leaves:", cluster.wait_for(lambda: "node-4" not in agents() and len(agents()) == 3 and agents(),
                                         message="3 agents again"))

# %% [markdown]
# ## 7. A Job runs to completion
#
# Deployments keep Pods running forever; a **Job** runs Pods until `completions` of them have
# *succeeded*, at most `parallelism` at a time, and replaces failed ones up to `backoffLimit`.

# %%
JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: busybox, command: [sh, -c, "echo computing; sleep 0.5"]}]
"""
cluster.apply(JOB)
job = cluster.wait_for(lambda: (j := cluster.kubectl("get", "job", "pi", "-o",
                                                     "jsonpath={.status.succeeded}/{.spec.completions}")) == "4/4" and j,
                       timeout=60, message="4 completions")
print("succeeded/completions:", job)
print(cluster.kubectl("get", "pods", "-l", "job-name=pi"))

# %% [markdown]
# ## 8. Garbage collection through ownerReferences
#
# Who deletes a Deployment's ReplicaSets and Pods when you delete the Deployment? Not the
# Deployment controller: the **garbage collector**. Each object lists its owners in
# `metadata.ownerReferences` (Pod → ReplicaSet → Deployment); when every owner of an object is
# gone, the collector deletes it. `--cascade=orphan` asks it instead to *remove the references*
# and leave the dependents alone.

# %%
chain = cluster.pods(selector="app=web")[0]
rs_name = chain["metadata"]["ownerReferences"][0]["name"]
rs = cluster.apps.read_namespaced_replica_set(rs_name, "default")
print("Pod", chain["metadata"]["name"], "-> ReplicaSet", rs_name, "-> Deployment",
      rs.metadata.owner_references[0].name)
cluster.kubectl("delete", "deployment", "web", "--cascade=orphan")
time.sleep(1)
print("after an orphaning delete:\n", cluster.kubectl("get", "replicasets", "-l", "app=web"))
for item in cluster.apps.list_namespaced_replica_set("default", label_selector="app=web").items:
    cluster.kubectl("delete", "replicaset", item.metadata.name)  # background cascade: Pods follow
cluster.wait_for(lambda: not cluster.pods(selector="app=web"), message="the Pods to be collected")
print("after deleting the ReplicaSets: Pods left with app=web:", len(cluster.pods(selector="app=web")))

# %% [markdown]
# ## Clean up

# %%
cluster.stop()

# %% [markdown]
# ## Summary
#
# - A controller compares desired with actual state and writes the difference — *level*
#   triggered, so missed events, restarts and conflicts only delay it.
# - Informers (list + watch + Delta FIFO + indexed Store) keep a local cache; handlers enqueue
#   `namespace/name` keys; workers reconcile one key at a time, with back-off on failure.
# - ReplicaSets keep N Pods; Deployments keep ReplicaSets, rolling between them within
#   `maxSurge`/`maxUnavailable`, with revisions to roll back to. StatefulSets give ordered,
#   stable identities and storage; DaemonSets one Pod per node; Jobs run to completion.
# - Ownership is data (`ownerReferences`), and the garbage collector acts on it.
#
# **Going further:** client-go's `tools/cache` (informers) and `util/workqueue`; the
# [sample-controller](https://github.com/kubernetes/sample-controller); `pkg/controller/` in
# kubernetes/kubernetes (`deployment/rolling.go`, `replicaset/replica_set.go`,
# `statefulset/stateful_set_control.go`, `garbagecollector/`); the documentation pages
# [Deployments](https://kubernetes.io/docs/concepts/workloads/controllers/deployment/),
# [StatefulSets](https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/) and
# [Garbage Collection](https://kubernetes.io/docs/concepts/architecture/garbage-collection/).
#
# **Next:** `exercises.ipynb` in this folder — write the decisions inside these controllers —
# then chapter 8, the scheduler.

# %% [markdown]
# # Chapter 8 — The scheduler: which node should run this Pod, and why?
#
# A new Pod has no `spec.nodeName`. Until something sets it, no kubelet will run it. That
# something is **kube-scheduler**: it takes unscheduled Pods one at a time from a **queue**,
# **filters** the nodes (which ones *can* run it?), **scores** the ones left (which is *best*?),
# and **binds** the Pod to the winner by posting a `Binding`. This chapter opens each step:
#
# 1. the scheduling cycle and its queue (priorities, back-off);
# 2. the **"why" record** of each decision — which filter rejected which node, each node's
#    scores — shown as a table and a chart, as the kube-scheduler-simulator does;
# 3. what Pods ask for: `nodeSelector`, **node affinity** (required and preferred), **resources**;
# 4. **taints and tolerations**: the seed's `kubectl taint nodes node1 foo=bar:NoSchedule`, a
#    tainted control-plane node and a Pod that tolerates it;
# 5. **cordon** and **drain**;
# 6. the **kubelet** on the other side of the binding: heartbeats through a Lease, static Pods,
#    and what happens when a node goes silent (taints, and eviction five minutes later).
#
# **Prerequisites:** chapter 7 (controllers, informers, the embedded cluster).
# **Where the code lives:** `fromscratch/scheduler/` — `queue.py` (the scheduling queue),
# `predicates.py` (taints, tolerations, affinity), `filters.py` (the Filter plugins),
# `scores.py` (the Score plugins), `scheduler.py` (the cycle and the "why" record); the pictures
# come from `fromscratch/viz/scheduling.py`. The kubelet is `fromscratch/kubelet/` (`kubelet.py`
# wires `node.py`, `lease.py`, `podworkers.py`, `static.py`); the node lifecycle and taint
# eviction controllers are `fromscratch/controllers/nodelifecycle.py` and `taint_eviction.py`.

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# ## 1. The scheduling cycle
#
# For each Pod: pop it from the queue; run every **Filter** plugin on every node (a node that
# fails any filter is out, with a reason); run every **Score** plugin on the nodes left (0–100
# each, multiplied by the plugin's weight, summed); bind to the highest total. A Pod no node
# takes goes back to the queue, marked `Unschedulable`, until the cluster changes.

# %%
from fromscratch.viz.flow import flow_diagram

flow_diagram([
    ("scheduling queue", "highest priority first,\nthen the oldest"),
    ("Filter", "NodeUnschedulable, NodeAffinity,\nTaintToleration, NodeResourcesFit"),
    ("Score", "LeastAllocated ×1, NodeAffinity ×2,\nTaintToleration ×3"),
    ("Bind", "POST pods/<name>/binding"),
    ("kubelet", "sees spec.nodeName,\nruns the Pod"),
], title="one scheduling cycle in kube-scheduler (and fromscratch/scheduler)")

# %% [markdown]
# The queue on its own, on a fake clock: higher `spec.priority` first, then the oldest; a Pod
# whose attempt failed waits 1 s, then 2 s, 4 s … up to 10 s before its next try
# (`podInitialBackoffDuration`, `podMaxBackoffDuration`).

# %%
from fromscratch.controllers.clock import FakeClock
from fromscratch.scheduler.queue import SchedulingQueue

clock = FakeClock()
queue = SchedulingQueue(clock)
for key, priority in [("default/batch", 0), ("default/web", 1000), ("default/db", 1000)]:
    queue.add(key, priority)
    clock.advance(1)
print("pop order:", [queue.pop(timeout=0).key for _ in range(3)])
queue.add("default/flaky")
item, waits = queue.pop(timeout=0), []
for _ in range(6):
    queue.requeue_error(item)  # the attempt failed (a binding conflict, say)
    failed_at = clock.now()
    while (item := queue.pop(timeout=0)) is None:  # nothing to do until the back-off is over
        clock.advance(0.5)
    waits.append(clock.now() - failed_at)
print("waits before each retry (s):", waits)
queue.close()

# %% [markdown]
# ## 2. A cluster to schedule on
#
# The embedded cluster with a **control-plane** node (labelled and tainted the way kubeadm marks
# it: `node-role.kubernetes.io/control-plane:NoSchedule`) and two workers, 4 cpu and 8 GiB each.
# We add a small node with an SSD label. The kubelets run containers as plain processes
# (the `process` runtime), which works in every mode.

# %%
import tempfile
import time
from pathlib import Path

from fromscratch.cluster import Cluster
from fromscratch.viz.scheduling import show_decision

cluster = Cluster(nodes=2, control_plane=True, runtime="process").start()
cluster.add_node("node-ssd", labels={"disk": "ssd"}, capacity={"cpu": "2", "memory": "4Gi", "pods": "110"})
print(cluster.kubectl("get", "nodes", "-L", "disk"))
print(cluster.kubectl("describe", "node", "control-plane").split("Unschedulable")[0].split("Taints:")[1])


def run(name: str, *, cpu: str = "100m", memory: str = "64Mi", extra: str = "", wait: bool = True):
    """Create a Pod (YAML ``extra`` goes into its spec) and return the scheduler's decision."""
    cluster.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {{requests: {{cpu: "{cpu}", memory: "{memory}"}}}}
{extra}""")
    key = f"default/{name}"
    return cluster.wait_for(lambda: cluster.scheduler.decisions.get(key), message=f"a decision about {name}")


# %% [markdown]
# ## 3. The "why" of one decision
#
# A Pod asking for 1 cpu and 1 GiB. The table shows each node: the control plane is rejected by
# **TaintToleration**; the others are feasible and scored. `NodeResourcesFit` (LeastAllocated)
# gives the emptiest node the most points: the small SSD node scores lower because 1 cpu is half
# of it.

# %%
rows = show_decision(run("first", cpu="1", memory="1Gi"))

# %% [markdown]
# ## 4. What a Pod can ask for
#
# **`nodeSelector`**: only nodes with these labels. The other nodes fail the **NodeAffinity**
# filter (upstream uses that plugin for `nodeSelector` too).

# %%
rows = show_decision(run("wants-ssd", extra="  nodeSelector: {disk: ssd}"), plot=False)

# %% [markdown]
# **Node affinity** is the richer form. A *required* term (`In`, `NotIn`, `Exists`,
# `DoesNotExist`, `Gt`, `Lt`) filters like a selector; *preferred* terms only add
# **weight** to a node's NodeAffinity score. We label the nodes with zones, then ask for
# "zone a or b, preferably b".

# %%
cluster.kubectl("label", "node", "node-1", "topology.kubernetes.io/zone=a")
cluster.kubectl("label", "node", "node-2", "topology.kubernetes.io/zone=b")
cluster.kubectl("label", "node", "node-ssd", "topology.kubernetes.io/zone=c")
cluster.wait_for(lambda: all((cluster.scheduler.nodes.get("", n) or {}).get("metadata", {}).get("labels", {})
                             .get("topology.kubernetes.io/zone") for n in ("node-1", "node-2", "node-ssd")),
                 message="the scheduler to see the zone labels")
AFFINITY = """  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [a, b]}]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 50
        preference:
          matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [b]}]"""
rows = show_decision(run("zonal", extra=AFFINITY))

# %% [markdown]
# **Resources**: the NodeResourcesFit filter adds the Pod's requests to what the node's Pods
# already request and compares with the node's *allocatable*. A Pod asking for 6 cpu fits
# nowhere: it stays Pending, with the scheduler's message in a `FailedScheduling` Event —
# `kubectl describe pod` shows it. When a bigger node joins, the queue retries the Pod at once.

# %%
decision = run("huge", cpu="6")
print(decision.message)
print(cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=huge",
                      "-o", "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message"))
cluster.add_node("node-big", capacity={"cpu": "16", "memory": "64Gi", "pods": "110"})
node = cluster.wait_for(lambda: cluster.core.read_namespaced_pod("huge", "default").spec.node_name,
                        message="huge to be scheduled")
print("after node-big joined, huge runs on:", node)

# %% [markdown]
# ## 5. Taints and tolerations
#
# A **taint** on a node repels every Pod that does not **tolerate** it. The seed's example
# taints a node with `foo=bar:NoSchedule`. A Pod pinned to that node (with `nodeSelector` on the
# hostname label) cannot go there any more; a second Pod with the matching toleration can. The
# effects: `NoSchedule` (filter), `PreferNoSchedule` (only a lower TaintToleration score) and
# `NoExecute` (also evicts Pods already running that do not tolerate it).

# %%
print(cluster.kubectl("taint", "nodes", "node-1", "foo=bar:NoSchedule"))
cluster.wait_for(lambda: (cluster.scheduler.nodes.get("", "node-1") or {}).get("spec", {}).get("taints"),
                 message="the scheduler to see the taint")
PINNED = "  nodeSelector: {kubernetes.io/hostname: node-1}"
print(run("intolerant", extra=PINNED).message)
TOLERATES = PINNED + """
  tolerations: [{key: foo, operator: Equal, value: bar, effect: NoSchedule}]"""
print(run("tolerant", extra=TOLERATES).message)

# %% [markdown]
# The control-plane node works the same way: kubeadm taints it
# `node-role.kubernetes.io/control-plane:NoSchedule`, and the components that must run there
# (its static Pods, DaemonSets like kube-proxy) tolerate that taint. A Pod with the toleration
# and a `nodeSelector` for the control-plane role lands there:

# %%
CONTROL_PLANE = """  nodeSelector: {node-role.kubernetes.io/control-plane: ""}
  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]"""
rows = show_decision(run("on-control-plane", extra=CONTROL_PLANE), plot=False)

# %% [markdown]
# ## 6. Cordon and drain
#
# `kubectl cordon` marks a node `spec.unschedulable` (the NodeUnschedulable filter then rejects it
# for new Pods); `kubectl drain` cordons it *and* evicts its Pods through the Eviction API, so
# that their controllers recreate them elsewhere. We put a Deployment of 4 on the cluster, then
# drain `node-2`.

# %%
cluster.apply("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: web, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 100m}}}]
""")


def placement() -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in cluster.ready_pods(selector="app=web"):
        counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
    return dict(sorted(counts.items()))


print("before:", cluster.wait_for(lambda: sum(placement().values()) == 4 and placement(), message="4 Pods"))
print(cluster.kubectl("drain", "node-2", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                      "--timeout=60s"))
print("after draining node-2:", cluster.wait_for(
    lambda: sum((p := placement()).values()) == 4 and "node-2" not in p and p, message="4 Pods elsewhere"))
print(cluster.kubectl("get", "nodes"))
cluster.kubectl("uncordon", "node-2")

# %% [markdown]
# ## 7. The other side of the binding: the kubelet
#
# Binding only writes a node's name into the Pod. On that node, the **kubelet** watches for Pods
# bound to it (a watch with the field selector `spec.nodeName=<node>`), runs them through its
# container runtime — here chapter 5's Pods as plain processes — and writes their `status` back.
# It also keeps its **Node** object alive: it registered it with the node's capacity, and it
# renews a **Lease** in the `kube-node-lease` namespace every 10 s. That heartbeat is how the
# control plane knows the node is still there.

# %%
print(cluster.kubectl("get", "leases", "-n", "kube-node-lease"))
described = cluster.kubectl("describe", "node", "node-1")
print(described[described.index("Conditions:"):described.index("System Info:")])

# %% [markdown]
# **Static Pods.** A kubelet can also run Pods nobody asked the API server for: every manifest in
# its *static Pod directory*. That is how kubeadm starts the control plane itself — the API
# server cannot schedule the API server. So that you can see them, the kubelet creates a
# **mirror Pod** in the API, named `<pod>-<node>`; deleting the mirror does not stop the static
# Pod, and the kubelet puts the mirror back. Let us add a node with one static Pod.

# %%
manifests = Path(tempfile.mkdtemp(prefix="static-pods-"))
(manifests / "node-agent.yaml").write_text("""
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: kube-system}
spec:
  containers: [{name: agent, image: busybox, command: [sleep, "3600"]}]
""")
cluster.add_node("edge", static_pod_dir=manifests)
mirror = cluster.wait_for(lambda: next((p for p in cluster.pods("kube-system")
                                        if p["metadata"]["name"] == "node-agent-edge"), None),
                          message="the mirror Pod")
print("mirror Pod:", mirror["metadata"]["name"], "on", mirror["spec"]["nodeName"],
      "annotations:", sorted(mirror["metadata"]["annotations"]))
cluster.kubectl("delete", "pod", "node-agent-edge", "-n", "kube-system", "--wait=false")
back = cluster.wait_for(lambda: next((p for p in cluster.pods("kube-system")
                                      if p["metadata"]["name"] == "node-agent-edge"
                                      and p["metadata"]["uid"] != mirror["metadata"]["uid"]), None),
                        message="the mirror Pod to come back")
print("deleted and back, with a new uid:", back["metadata"]["uid"] != mirror["metadata"]["uid"])
cluster.remove_node("edge")

# %% [markdown]
# ## 8. When a node goes silent
#
# What if a kubelet dies? Its Lease stops being renewed. The **node lifecycle controller** waits a
# grace period (40 s), then sets the node's `Ready` condition to `Unknown` and **taints** it
# `node.kubernetes.io/unreachable` with effects `NoSchedule` (no new Pods) and `NoExecute` (Pods
# that do not tolerate it must leave). Every Pod got a toleration for that taint with
# `tolerationSeconds: 300` from the *DefaultTolerationSeconds* admission plugin — so its Pods
# stay five more minutes (the node may come back), then the **taint eviction** controller
# deletes them, and their ReplicaSet recreates them on a healthy node.
#
# Five minutes is long to wait in a notebook, so we run this on a **simulated** cluster in
# **virtual time**: the same API server, controllers, scheduler and kubelets, but the clock only
# moves when we call `advance()`.

# %%
sim = Cluster(nodes=2, virtual_time=True).start()
sim.apply("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: busybox, command: [sleep, "3600"]}]
""")
sim.advance(5)
print("tolerations added by admission:", [
    (t["key"], t.get("tolerationSeconds")) for t in sim.pods()[0]["spec"]["tolerations"]])


def snapshot(t: float) -> dict:
    node = sim.core.read_node("node-1").to_dict()
    ready = next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")
    pods = [p for p in sim.pods(selector="app=web") if not p["metadata"].get("deletionTimestamp")]
    return {"t": t, "ready": ready, "taints": len(node["spec"].get("taints") or []),
            "node-1": sum(p["spec"].get("nodeName") == "node-1" for p in pods),
            "node-2": sum(p["spec"].get("nodeName") == "node-2" for p in pods)}


sim.stop_node("node-1")  # the kubelet dies; the Node object stays
timeline = [snapshot(0)]
for _ in range(70):
    sim.advance(5, step=5)
    timeline.append(snapshot(timeline[-1]["t"] + 5))
for row in timeline:
    if row["t"] in (0, 35, 45, 300, 345, 350):
        print(row)

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(9, 3.2))
times = [r["t"] for r in timeline]
ax.step(times, [r["node-1"] for r in timeline], where="post", linewidth=4, alpha=0.6,
        label="Pods bound to node-1 (silent)")
ax.step(times, [r["node-2"] for r in timeline], where="post", linestyle="--", label="Pods on node-2")
unknown = next(r["t"] for r in timeline if r["ready"] == "Unknown")
ax.axvline(unknown, color="grey", linestyle=":")
ax.text(unknown + 3, 3.6, "Ready=Unknown,\ntainted unreachable", fontsize=8)
ax.axvline(unknown + 300, color="grey", linestyle=":")
ax.text(unknown + 300 - 4, 3.6, "300 s later:\nevicted", fontsize=8, ha="right")
ax.set_xlabel("virtual seconds since node-1's kubelet stopped")
ax.set_ylabel("Pods")
ax.set_ylim(0, 4.5)
ax.legend(loc="center left", fontsize=8)
plt.show()
sim.stop()

# %% [markdown]
# ## Clean up

# %%
cluster.stop()

# %% [markdown]
# ## Summary
#
# - The scheduler is a loop over a priority queue of unscheduled Pods: filter, score, bind.
# - Filters say *no* with a reason (NodeUnschedulable, NodeAffinity, TaintToleration,
#   NodeResourcesFit); scores say *how good* (LeastAllocated, preferred affinity, soft taints),
#   weighted and summed. The decision record explains every placement.
# - `nodeSelector` and required affinity are hard constraints; preferred affinity and
#   `PreferNoSchedule` are soft. Taints repel, tolerations let through — which is how the
#   control plane keeps ordinary Pods off.
# - Cordon stops new Pods; drain also evicts the old ones, which their controllers recreate.
# - The kubelet runs what is bound to its node, reports status and renews its Lease; static
#   Pods come from files and show up as mirror Pods. A node silent for 40 s is `Unknown` and
#   tainted; its Pods are evicted after their 300 s toleration and recreated elsewhere.
#
# **Going further:** the documentation's
# [Scheduling Framework](https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/),
# [Assigning Pods to Nodes](https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/),
# [Taints and Tolerations](https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/)
# and [Resource Bin Packing](https://kubernetes.io/docs/concepts/scheduling-eviction/resource-bin-packing/);
# the source in `pkg/scheduler/` (`schedule_one.go`, `framework/plugins/`); and the
# [kube-scheduler-simulator](https://github.com/kubernetes-sigs/kube-scheduler-simulator).
#
# **Next:** `exercises.ipynb` in this folder — write the toleration check, the filter and the
# LeastAllocated score — then chapter 9, RBAC.

# %% [markdown]
# # Exercises 8 — The scheduler's filters and scores
#
# For every Pod, kube-scheduler **filters** the nodes (can the Pod run there at all?) and
# **scores** the ones left (which is best?). In these exercises you write three pieces the
# library's scheduler calls; once a version works, it is plugged into the scheduler running
# against our API server, and you watch your code place Pods:
#
# 1. **taints and tolerations**: does one toleration tolerate one taint? (3 points)
# 2. **the filter**: every reason a Pod cannot run on a node (4 points);
# 3. **the LeastAllocated score** of the `NodeResourcesFit` plugin (3 points).
#
# **Read first:** the chapter notebook `scheduling.ipynb` in this folder.
# **The reference** is in `fromscratch/scheduler/` (`predicates.py`, `filters.py`, `scores.py`) —
# try the exercises before reading it. The hidden tests use the Kubernetes documentation's
# examples and the worked cases of upstream's `least_allocated_test.go`.

# %%
import pytest

from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# ## The running system for the demos
#
# An API server, three Node objects and the scheduler. Scheduling needs no kubelet: the
# scheduler only reads Nodes and Pods and writes a *binding* — so here the nodes are just API
# objects with `status.allocatable` (the `scheduling.ipynb` lesson runs a whole cluster).

# %%
from fromscratch.api.server import APIServer
from fromscratch.controllers.client import NODES, PODS, ResourceClient
from fromscratch.scheduler.scheduler import Scheduler

server = APIServer().start()
api = server.client()
nodes_api, pods_api = ResourceClient(api, NODES), ResourceClient(api, PODS)


def add_node(name: str, cpu: str = "2", memory: str = "4Gi", *, taints=None, labels=None,
             unschedulable: bool = False) -> None:
    node = nodes_api.create("", {"metadata": {"name": name, "labels": labels or {}},
                                 "spec": {"taints": taints or [], "unschedulable": unschedulable}})
    node["status"] = {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                      "capacity": {"cpu": cpu, "memory": memory, "pods": "110"}}
    nodes_api.update_status(node)


add_node("master", "2", "4Gi", taints=[{"key": "foo", "value": "bar", "effect": "NoSchedule"}],
         labels={"node-role.kubernetes.io/control-plane": ""})
add_node("node-1", "2", "4Gi", labels={"disk": "ssd"})
add_node("node-2", "4", "8Gi", labels={"disk": "hdd"})
scheduler = Scheduler(api).start()


def run_pod(name: str, cpu: str = "100m", memory: str = "64Mi", **spec) -> dict:
    """Create a Pod and wait for the scheduler's decision about it."""
    import time

    pods_api.create("default", {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "nginx",
                        "resources": {"requests": {"cpu": cpu, "memory": memory}}}], **spec}})
    deadline = time.monotonic() + 10
    while f"default/{name}" not in scheduler.decisions and time.monotonic() < deadline:
        time.sleep(0.02)
    decision = scheduler.decisions[f"default/{name}"]
    print(f"{name}: -> {decision.node or 'nowhere'}  {decision.message}")
    return decision


# %% [markdown]
# ## Exercise 1 — does a toleration tolerate a taint? (3 points)
#
# A **taint** on a node (`key`, `value`, `effect`) repels Pods; a **toleration** in a Pod lets it
# through. The documentation's rules (`Toleration.ToleratesTaint`), all of which must hold:
#
# - **effect**: the toleration's `effect` is empty (it matches every effect) or equals the taint's;
# - **key**: the toleration's `key` is empty (only meaningful with `Exists`: it matches every key)
#   or equals the taint's;
# - **operator**: `Exists` matches whatever the value; `Equal` — the default when `operator` is
#   empty or missing — needs the values to be equal (a missing value is `""`); any other operator
#   tolerates nothing.
#
# Both are plain dicts as in a manifest; any field may be missing.

# %% nbgrader={"grade_id": "ch08_tolerates_taint", "solution": true}
def tolerates_taint(toleration: dict, taint: dict) -> bool:
    """Does ``toleration`` tolerate ``taint``?"""
    ### BEGIN SOLUTION
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False
    ### END SOLUTION


# %% [markdown]
# The test is the seed's example: `kubectl taint nodes node1 foo=bar:NoSchedule` and the
# tolerations from the documentation that do (and don't) tolerate it.

# %% nbgrader={"grade_id": "ch08_test_tolerates_taint", "grade": true, "points": 3}
FOO_BAR = {"key": "foo", "value": "bar", "effect": "NoSchedule"}

with exercises.checking(tolerates_taint):
    assert tolerates_taint({"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}, FOO_BAR)
    assert tolerates_taint({"key": "foo", "operator": "Exists", "effect": "NoSchedule"}, FOO_BAR)
    assert not tolerates_taint({"key": "foo", "operator": "Equal", "value": "baz", "effect": "NoSchedule"},
                               FOO_BAR)
    assert not tolerates_taint({"key": "other", "operator": "Exists", "effect": "NoSchedule"}, FOO_BAR)
    ### BEGIN HIDDEN TESTS
    assert tolerates_taint({"key": "foo", "value": "bar", "effect": "NoSchedule"}, FOO_BAR)  # empty op: Equal
    assert tolerates_taint({"key": "foo", "operator": "", "value": "bar"}, FOO_BAR)
    assert tolerates_taint({"key": "foo", "operator": "Exists"}, FOO_BAR)  # empty effect: all effects
    assert tolerates_taint({"operator": "Exists"}, FOO_BAR)  # empty key + Exists: everything
    assert tolerates_taint({"operator": "Exists"}, {"key": "x", "effect": "NoExecute"})
    assert not tolerates_taint({"key": "foo", "operator": "Exists", "effect": "NoExecute"}, FOO_BAR)
    assert not tolerates_taint({"key": "foo", "operator": "Equal", "effect": "NoSchedule"}, FOO_BAR)
    assert not tolerates_taint({"key": "foo", "operator": "Gt", "value": "bar"}, FOO_BAR)
    # a taint without a value: Equal with no value matches it
    no_value = {"key": "dedicated", "effect": "NoSchedule"}
    assert tolerates_taint({"key": "dedicated", "operator": "Equal", "effect": "NoSchedule"}, no_value)
    assert not tolerates_taint({"key": "dedicated", "value": "x"}, no_value)
    # empty key with Equal matches only an empty-key taint with an equal value
    assert not tolerates_taint({"operator": "Equal", "value": "bar"}, {"key": "", "value": "baz",
                                                                       "effect": "NoSchedule"})
    assert tolerates_taint({"operator": "Equal", "value": "bar"}, {"key": "", "value": "bar",
                                                                   "effect": "NoSchedule"})
    # the documentation's PreferNoSchedule and NoExecute effects
    assert tolerates_taint({"key": "k", "operator": "Exists", "effect": "PreferNoSchedule"},
                           {"key": "k", "value": "v", "effect": "PreferNoSchedule"})
    assert tolerates_taint({"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": 6000},
                           {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"})
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: the `master` node carries `foo=bar:NoSchedule`. A plain Pod is kept off it; a Pod
# with a toleration *and* a `nodeSelector` for the control-plane label lands there.

# %%
print("your answer for the seed's example:", tolerates_taint({"key": "foo", "operator": "Exists"}, FOO_BAR))
with exercises.using(tolerates_taint) as plugged:
    run_pod("plain", nodeSelector={"node-role.kubernetes.io/control-plane": ""})
    run_pod("tolerant", nodeSelector={"node-role.kubernetes.io/control-plane": ""},
            tolerations=[{"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}])
    print("calls to your tolerates_taint:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 2 — filter a node (4 points)
#
# `filter_node(pod, node_info)` returns the list of reasons `pod` cannot run on
# `node_info.node` — `[]` if it can. `node_info` is a `NodeInfo`: the `node`, the `pods` already
# on it and their summed `requested` `(millicpu, memory bytes)`. Run the default profile's filter
# plugins **in this order**, adding upstream's message for each failure:
#
# 1. **NodeUnschedulable**: the node has `spec.unschedulable` (cordoned) and the Pod does not
#    tolerate `UNSCHEDULABLE_TAINT` → `"node(s) were unschedulable"`;
# 2. **NodeAffinity**: `pod_matches_node_labels(pod, node)` is false (it checks `nodeSelector`
#    and required node affinity) → `"node(s) didn't match Pod's node affinity/selector"`;
# 3. **TaintToleration**: the node's first taint with effect `NoSchedule` or `NoExecute` that no
#    toleration of the Pod tolerates → `"node(s) had untolerated taint {<key>: <value>}"`
#    (use `untolerated_taints(taints, tolerations, effects)`, which calls *your* `tolerates_taint`
#    once plugged in);
# 4. **NodeResourcesFit**, with `node_allocatable(node)` → `(millicpu, memory, max pods)` and
#    `pod_requests(pod)` → `(millicpu, memory)`: one more Pod than `max pods` → `"Too many pods"`;
#    then, *if the Pod requests any* cpu, its request plus the node's `requested` above the
#    allocatable → `"Insufficient cpu"`; the same for memory → `"Insufficient memory"`.

# %%
from fromscratch.scheduler.filters import UNSCHEDULABLE_TAINT, NodeInfo, node_allocatable, pod_requests
from fromscratch.scheduler.predicates import pod_matches_node_labels, untolerated_taints

example = {"metadata": {"name": "n"}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}
print(node_allocatable(example), UNSCHEDULABLE_TAINT)


# %% nbgrader={"grade_id": "ch08_filter_node", "solution": true}
def filter_node(pod: dict, node_info: NodeInfo) -> list[str]:
    """Why ``pod`` cannot run on ``node_info.node``; [] if it can."""
    ### BEGIN SOLUTION
    node = node_info.node
    node_spec = node.get("spec") or {}
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    reasons = []
    if node_spec.get("unschedulable") and untolerated_taints([UNSCHEDULABLE_TAINT], tolerations):
        reasons.append("node(s) were unschedulable")
    if not pod_matches_node_labels(pod, node):
        reasons.append("node(s) didn't match Pod's node affinity/selector")
    bad = untolerated_taints(node_spec.get("taints") or [], tolerations, ("NoSchedule", "NoExecute"))
    if bad:
        reasons.append(f"node(s) had untolerated taint {{{bad[0].get('key', '')}: {bad[0].get('value', '')}}}")
    cpu, memory, max_pods = node_allocatable(node)
    want_cpu, want_memory = pod_requests(pod)
    used_cpu, used_memory = node_info.requested
    if len(node_info.pods) + 1 > max_pods:
        reasons.append("Too many pods")
    if want_cpu and want_cpu + used_cpu > cpu:
        reasons.append("Insufficient cpu")
    if want_memory and want_memory + used_memory > memory:
        reasons.append("Insufficient memory")
    return reasons
    ### END SOLUTION


# %% [markdown]
# The test: a node of 4 cpu and 8 GiB already running a Pod of 3 cpu and 7 GiB has no room for
# 2 cpu and 2 GiB (both reasons), but room for 1 and 1; the seed's tainted master rejects a
# plain Pod and takes one that tolerates `foo=bar:NoSchedule`.

# %% nbgrader={"grade_id": "ch08_test_filter_node", "grade": true, "points": 4}
def node(name="n", cpu="4", memory="8Gi", pods="110", *, labels=None, taints=None, unschedulable=False):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(cpu=None, memory=None, **spec):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    pod.count = getattr(pod, "count", 0) + 1
    return {"metadata": {"name": f"p{pod.count}", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": requests}}], **spec}}


with exercises.checking(filter_node):
    busy = NodeInfo.of(node(), [pod("3", "7Gi")])
    assert filter_node(pod("2", "2Gi"), busy) == ["Insufficient cpu", "Insufficient memory"]
    assert filter_node(pod("1", "1Gi"), busy) == []
    master = NodeInfo.of(node("master", taints=[FOO_BAR]))
    assert filter_node(pod(), master) == ["node(s) had untolerated taint {foo: bar}"]
    assert filter_node(pod(tolerations=[{"key": "foo", "operator": "Equal", "value": "bar",
                                         "effect": "NoSchedule"}]), master) == []
    ### BEGIN HIDDEN TESTS
    assert filter_node(pod(), NodeInfo.of(node(pods="2"), [pod(), pod()])) == ["Too many pods"]
    assert filter_node(pod(), NodeInfo.of(node(pods="3"), [pod(), pod()])) == []
    cordoned = NodeInfo.of(node(unschedulable=True))
    assert filter_node(pod(), cordoned) == ["node(s) were unschedulable"]
    assert filter_node(pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                         "effect": "NoSchedule"}]), cordoned) == []
    assert filter_node(pod(nodeSelector={"disk": "ssd"}), NodeInfo.of(node())) == \
        ["node(s) didn't match Pod's node affinity/selector"]
    assert filter_node(pod(nodeSelector={"disk": "ssd"}), NodeInfo.of(node(labels={"disk": "ssd"}))) == []
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}
    assert filter_node(pod(affinity=affinity), NodeInfo.of(node(labels={"zone": "c"}))) == \
        ["node(s) didn't match Pod's node affinity/selector"]
    assert filter_node(pod(affinity=affinity), NodeInfo.of(node(labels={"zone": "b"}))) == []
    # PreferNoSchedule does not filter; NoExecute does; only the first untolerated taint is named
    assert filter_node(pod(), NodeInfo.of(node(taints=[{"key": "spot", "value": "y",
                                                        "effect": "PreferNoSchedule"}]))) == []
    two = NodeInfo.of(node(taints=[{"key": "a", "value": "1", "effect": "NoExecute"},
                                   {"key": "b", "value": "2", "effect": "NoSchedule"}]))
    assert filter_node(pod(), two) == ["node(s) had untolerated taint {a: 1}"]
    assert filter_node(pod(tolerations=[{"key": "a", "operator": "Exists"}]), two) == \
        ["node(s) had untolerated taint {b: 2}"]
    # a Pod requesting nothing fits a full node (only the pod count limits it)
    assert filter_node(pod(), NodeInfo.of(node(cpu="1", memory="1Gi"), [pod("1", "1Gi")])) == []
    assert filter_node(pod("1"), NodeInfo.of(node(cpu="1"), [pod("1m")])) == ["Insufficient cpu"]
    assert filter_node(pod("4", "8Gi"), NodeInfo.of(node())) == []  # exactly full fits
    # every reason at once, in the plugins' order
    everything = NodeInfo.of(node(pods="1", cpu="1", memory="1Gi", taints=[FOO_BAR], unschedulable=True),
                             [pod("1")])
    assert filter_node(pod("2", "2Gi", nodeSelector={"disk": "ssd"}), everything) == [
        "node(s) were unschedulable", "node(s) didn't match Pod's node affinity/selector",
        "node(s) had untolerated taint {foo: bar}", "Too many pods", "Insufficient cpu", "Insufficient memory"]
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: a Pod asking for 3 cpu fits only `node-2`; a Pod asking for 16 cpu fits nowhere,
# and the scheduler's message counts *your* reasons, node by node.

# %%
print("your reasons for 3 cpu on node-1:", filter_node(pod("3"), NodeInfo.of(node("node-1", cpu="2"))))
with exercises.using(filter_node) as plugged:
    run_pod("big", cpu="3")
    too_big = run_pod("huge", cpu="16")
    for name, reasons in sorted(too_big.rejected.items()):
        print(f"  {name:8} {reasons}")
    print("calls to your filter_node:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 3 — the LeastAllocated score (3 points)
#
# Among the nodes that fit, `NodeResourcesFit` (with its default `LeastAllocated` strategy)
# prefers the emptiest. For cpu and for memory, with this Pod added to what the node already has:
#
# $$\text{score}_r = \left\lfloor\frac{(\text{allocatable}_r - \text{requested}_r)\times 100}{\text{allocatable}_r}\right\rfloor$$
#
# — 0 if the node has none of that resource or the request exceeds it — and the node's score is
# the integer average of the two (weights 1 and 1): `(cpu + memory) // 2`.
#
# One twist: when *scoring*, a container that requests no cpu counts as **100m** and no memory
# as **200 MiB** (`DefaultMilliCPURequest`, `DefaultMemoryRequest`), so that Pods without
# requests still spread out. `non_zero_requests(pod)` gives the Pod's `(millicpu, memory)` with
# those defaults; `node_info.non_zero_requested` is the same sum for the Pods already on the node.

# %%
from fromscratch.scheduler.filters import non_zero_requests

print(non_zero_requests(pod()), non_zero_requests(pod("1", "1Gi")))


# %% nbgrader={"grade_id": "ch08_least_allocated_score", "solution": true}
def least_allocated_score(pod: dict, node_info: NodeInfo) -> int:
    """0..100: how much cpu and memory stay free on the node once ``pod`` is there."""
    ### BEGIN SOLUTION
    cpu, memory, _ = node_allocatable(node_info.node)
    wanted = non_zero_requests(pod)
    scores = []
    for index, allocatable in enumerate((cpu, memory)):
        requested = node_info.non_zero_requested[index] + wanted[index]
        scores.append(0 if allocatable == 0 or requested > allocatable
                      else (allocatable - requested) * 100 // allocatable)
    return sum(scores) // 2
    ### END SOLUTION


# %% [markdown]
# The test is upstream's "nothing scheduled, resources requested, differently sized nodes": a
# Pod requesting 3000 cpu and 5000 bytes of memory scores 37 on a node of 4000/10000
# (cpu 25, memory 50) and 50 on a node of 6000/10000.

# %% nbgrader={"grade_id": "ch08_test_least_allocated_score", "grade": true, "points": 3}
with exercises.checking(least_allocated_score):
    asked = pod("3000", "5000")
    assert least_allocated_score(asked, NodeInfo.of(node("node1", cpu="4000", memory="10000"))) == 37
    assert least_allocated_score(asked, NodeInfo.of(node("node2", cpu="6000", memory="10000"))) == 50
    ### BEGIN HIDDEN TESTS
    # least_allocated_test.go, "resources requested, pods scheduled with resources" (node2):
    # cpu (10000 - 6000) * 100 / 10000 = 40, memory (20000 - 10000) * 100 / 20000 = 50 -> 45
    assert least_allocated_score(asked, NodeInfo.of(node("node2", cpu="10000", memory="20000"),
                                                    [pod("3000", "5000")])) == 45
    # "... differently sized nodes" (node2): memory (50000 - 10000) * 100 / 50000 = 80 -> 60
    assert least_allocated_score(asked, NodeInfo.of(node("node2", cpu="10000", memory="50000"),
                                                    [pod("3000", "5000")])) == 60
    # "requested resources exceed node capacity": cpu scores 0, not negative
    assert least_allocated_score(pod("3000", "5000"), NodeInfo.of(node(cpu="4000", memory="10000"),
                                                                  [pod("3000", "5000")])) == 0
    assert least_allocated_score(pod("3000", "5000"), NodeInfo.of(node(cpu="4000", memory="20000"),
                                                                  [pod("3000", "5000")])) == 25
    # a node with no allocatable memory scores 0 for memory
    assert least_allocated_score(pod("1", "1Gi"), NodeInfo.of(node(cpu="2", memory="0"))) == 25
    # empty Pods count as 100m and 200Mi: two on a 1-cpu, 1Gi node, one more being scored
    mib = 1024 * 1024
    assert least_allocated_score(pod(), NodeInfo.of(node(cpu="1", memory="1Gi"), [pod(), pod()])) == \
        ((1000 - 300) * 100 // 1000 + (1024 * mib - 600 * mib) * 100 // (1024 * mib)) // 2
    assert least_allocated_score(pod(), NodeInfo.of(node(cpu="1", memory="1Gi"))) == (90 + 80) // 2
    # integer arithmetic, floored: cpu 2 - 0.5 -> 75, memory 3Gi of 4Gi free after 1Gi -> 75
    assert least_allocated_score(pod("500m", "1Gi"), NodeInfo.of(node(cpu="2", memory="4Gi"))) == 75
    assert least_allocated_score(pod("1", "1"), NodeInfo.of(node(cpu="3", memory="3"))) == 66
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: we delete the Pods of the earlier demos, then create ten small Pods, one after
# another. Your score makes the scheduler spread them over the worker nodes in proportion to
# their room (`node-2` is twice as big as `node-1`).

# %%
from collections import Counter

for old in pods_api.list("default")["items"]:
    pods_api.delete("default", old["metadata"]["name"], grace_period_seconds=0)

print("your score for 1 cpu on node-2:", least_allocated_score(pod("1", "1Gi"), NodeInfo.of(node("node-2"))))
with exercises.using(least_allocated_score) as plugged:
    placed = Counter(run_pod(f"small-{i}", cpu="200m", memory="256Mi").node for i in range(10))
    print("placement:", dict(placed))
    print("calls to your least_allocated_score:", plugged.calls_to_learner)

# %% [markdown]
# ## Done
#
# Stop the scheduler and the API server:

# %%
scheduler.stop()
server.stop()

# %% [markdown]
# You wrote the core of kube-scheduler's default filters and its resource score. Upstream, they are
# plugins of the scheduling framework: `pkg/scheduler/framework/plugins/tainttoleration`,
# `nodeunschedulable`, `nodeaffinity` and `noderesources` (`fit.go`, `least_allocated.go`), and
# `Toleration.ToleratesTaint` in `k8s.io/api/core/v1/toleration.go`. Next: chapter 9, who may do
# what — RBAC.

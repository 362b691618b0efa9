# %% [markdown]
# # Exercises 7 — The decisions inside the workload controllers
#
# A controller is a loop around one decision: *given what I want and what I see, what do I do
# now?* In these exercises you write five of those decisions, each a function the library's
# controllers call. Once a version works, it is plugged into the controllers running against
# our API server, and you watch your own code drive ReplicaSets, Deployments and StatefulSets:
#
# 1. **reconcile a ReplicaSet**: how many Pods to create, which to delete first (4 points);
# 2. the **`pod-template-hash`** that names a Deployment's ReplicaSets (3 points);
# 3. **one step of a rolling update** under `maxSurge` and `maxUnavailable` (5 points);
# 4. **proportional scaling** of a Deployment in the middle of a rollout (4 points);
# 5. a **StatefulSet's next action**: ordered creation, reverse deletion, canary updates (4 points).
#
# **Read first:** the chapter notebook `controllers.ipynb` in this folder.
# **The reference** is in `fromscratch/controllers/` (`replica_diff.py`, `hashing.py`,
# `rollout.py`, `statefulset_plan.py`) — try the exercises before reading it. Hidden tests
# include the Kubernetes documentation's worked examples and cases from upstream's controller tests.

# %%
import json
import math
import struct

import pytest

from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# ## The running system for the demos
#
# The demos after each exercise run the real controllers (`ReplicaSetController`,
# `DeploymentController`, `StatefulSetController` and the `GarbageCollector`) against our API server from chapter 6. Nothing
# here runs containers, so a small `kubelet_step()` plays the node agent's part: it marks Pods
# Running and Ready through the `status` subresource (when `ready(pod)` says so) and confirms
# graceful deletions, exactly the writes a kubelet makes.

# %%
import time

from fromscratch.api.server import APIServer
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import (
    DEPLOYMENTS,
    PODS,
    REPLICASETS,
    STATEFULSETS,
    ResourceClient,
)
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.garbagecollector import GarbageCollector
from fromscratch.controllers.podutil import format_time
from fromscratch.controllers.replicaset import ReplicaSetController
from fromscratch.controllers.statefulset import StatefulSetController

server = APIServer().start()
api = server.client()
pods_api, rs_api = ResourceClient(api, PODS), ResourceClient(api, REPLICASETS)
deploy_api, sts_api = ResourceClient(api, DEPLOYMENTS), ResourceClient(api, STATEFULSETS)
manager = ControllerManager(api, namespace="default", controllers=[
    ReplicaSetController, DeploymentController, StatefulSetController, GarbageCollector]).start()


def live_pods() -> list[dict]:
    return [p for p in pods_api.list("default")["items"] if not p["metadata"].get("deletionTimestamp")]


def kubelet_step(ready=lambda pod: True) -> None:
    """Play the kubelet once: confirm deletions, report Pods Running and Ready."""
    for pod in pods_api.list("default")["items"]:
        name = pod["metadata"]["name"]
        try:
            if pod["metadata"].get("deletionTimestamp"):
                pods_api.delete("default", name, grace_period_seconds=0)
            elif pod["status"].get("phase") != "Running" and ready(pod):
                pod["status"] = {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": format_time(time.time())}]}
                pods_api.update_status(pod)
        except Exception:
            pass  # a conflict or a Pod deleted meanwhile: the next step retries


def wait_until(condition, timeout: float = 10.0, ready=lambda pod: True):
    """Run kubelet steps until ``condition()`` is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("the controllers did not converge")
        kubelet_step(ready)
        time.sleep(0.05)
    return result


def template(image: str = "nginx:1.27", app: str = "web") -> dict:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": image}]}}


# %% [markdown]
# ## Exercise 1 — reconcile a ReplicaSet (4 points)
#
# The ReplicaSet controller's `manageReplicas` compares `spec.replicas` with the Pods it owns:
#
# - only **active** Pods count: not `Succeeded` or `Failed`, and not being deleted (no
#   `metadata.deletionTimestamp`) — use `is_pod_active(pod)`;
# - too few: **create** the difference, but at most `burst` at a time (upstream's `burstReplicas`);
# - too many: **delete** the difference (at most `burst`), choosing the Pods that are cheapest to
#   lose first. Upstream's ranking (`ActivePodsWithRanks`), rule by rule — a later rule only
#   breaks ties of the earlier ones:
#   1. not scheduled (empty `spec.nodeName`) before scheduled;
#   2. phase `Pending` before `Unknown` before `Running`;
#   3. not ready before ready (`is_pod_ready(pod)`);
#   4. lower `controller.kubernetes.io/pod-deletion-cost` annotation before higher (an integer,
#      0 when missing or not a number);
#   5. a Pod on a node with **more** active Pods of this ReplicaSet before one on a node with fewer;
#   6. when both are ready: ready for less time before ready for longer (`pod_ready_since(pod)`);
#   7. more container restarts before fewer (`max_container_restarts(pod)`);
#   8. newer before older (`metadata.creationTimestamp`, parsed with `parse_time`).
# - `replicas < 0` is a bug in the caller: raise `ValueError`.
#
# Return a `ReplicaDiff(create=n)` or `ReplicaDiff(delete=[pods...])` (in deletion order), or an
# empty `ReplicaDiff()` when nothing is to be done. A Python sort key (a tuple) handles the rules
# one after the other.

# %%
from collections import Counter

from fromscratch.controllers.podutil import (
    is_pod_active,
    is_pod_ready,
    max_container_restarts,
    parse_time,
    pod_ready_since,
)
from fromscratch.controllers.replica_diff import ReplicaDiff

print(ReplicaDiff(create=2), ReplicaDiff())


# %% nbgrader={"grade_id": "ch07_replicaset_diff", "solution": true}
def replicaset_diff(replicas: int, pods: list[dict], *, burst: int = 500) -> ReplicaDiff:
    """How many Pods to create, or which Pods to delete (cheapest first)."""
    ### BEGIN SOLUTION
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    active = [p for p in pods if is_pod_active(p)]
    diff = len(active) - replicas
    if diff < 0:
        return ReplicaDiff(create=min(-diff, burst))
    if diff == 0:
        return ReplicaDiff()
    per_node = Counter(p["spec"].get("nodeName") or "" for p in active)
    phases = {"Pending": 0, "Unknown": 1, "Running": 2}

    def cost(pod: dict) -> int:
        text = (pod["metadata"].get("annotations") or {}).get("controller.kubernetes.io/pod-deletion-cost", "0")
        try:
            return int(text)
        except ValueError:
            return 0

    def key(pod: dict) -> tuple:
        node = pod["spec"].get("nodeName") or ""
        ready = is_pod_ready(pod)
        since = pod_ready_since(pod) if ready else None
        created = parse_time(pod["metadata"].get("creationTimestamp"))
        return (bool(node), phases.get((pod.get("status") or {}).get("phase", ""), 0), ready, cost(pod),
                -per_node[node],
                # a missing time counts as the newest of all: it sorts first
                (since is not None, -(since or 0)),
                -max_container_restarts(pod),
                (created is not None, -(created or 0)))

    return ReplicaDiff(delete=sorted(active, key=key)[:min(diff, burst)])
    ### END SOLUTION


# %% [markdown]
# The visible test: too few Pods (create 2), finished Pods do not count, and with one Pod too
# many the unscheduled Pod goes before the Running ones, and a Running-not-ready Pod before a
# ready one. The hidden tests check each ranking rule on its own, the burst and the error.

# %% nbgrader={"grade_id": "ch07_test_replicaset_diff", "grade": true, "points": 4}
T0 = 1_700_000_000.0


def pod(name, *, node="", phase="Pending", ready=False, ready_since=None, created=T0, restarts=0,
        cost=None, deleting=False):
    status = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": format_time(ready_since or created)}]
    if restarts:
        status["containerStatuses"] = [{"name": "main", "restartCount": restarts}]
    meta = {"name": name, "namespace": "default", "creationTimestamp": format_time(created)}
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        meta["deletionTimestamp"] = format_time(created + 60)
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


def names(diff):
    return [p["metadata"]["name"] for p in diff.delete]


with exercises.checking(replicaset_diff):
    assert replicaset_diff(3, [pod("a")]) == ReplicaDiff(create=2)
    assert replicaset_diff(2, [pod("a"), pod("done", phase="Succeeded"), pod("gone", deleting=True)]) \
        == ReplicaDiff(create=1)
    assert replicaset_diff(1, [pod("a")]) == ReplicaDiff()
    three = [pod("ready", node="n1", phase="Running", ready=True), pod("unscheduled"),
             pod("running-not-ready", node="n2", phase="Running")]
    assert names(replicaset_diff(1, three)) == ["unscheduled", "running-not-ready"]
    ### BEGIN HIDDEN TESTS
    assert replicaset_diff(1000, [], burst=500) == ReplicaDiff(create=500)
    assert len(replicaset_diff(0, [pod(f"p{i}") for i in range(10)], burst=3).delete) == 3
    with pytest.raises(ValueError):
        replicaset_diff(-1, [])
    pairs = [  # each pair differs in one rule; the first is deleted first
        (pod("unassigned"), pod("assigned", node="n1")),
        (pod("pending", node="n1"), pod("unknown", node="n1", phase="Unknown")),
        (pod("unknown", node="n1", phase="Unknown"), pod("running", node="n1", phase="Running")),
        (pod("not-ready", node="n1", phase="Running"), pod("ready", node="n1", phase="Running", ready=True)),
        (pod("cheap", node="n1", cost=-5), pod("dear", node="n2", cost=10)),
        (pod("zero", node="n1", cost="x"), pod("dear", node="n2", cost=1)),
        (pod("ready-later", node="n1", phase="Running", ready=True, ready_since=T0 + 100),
         pod("ready-earlier", node="n2", phase="Running", ready=True, ready_since=T0)),
        (pod("restarted", node="n1", restarts=5), pod("fresh", node="n2", restarts=1)),
        (pod("newer", node="n1", created=T0 + 10), pod("older", node="n2", created=T0)),
    ]
    for first, second in pairs:
        assert names(replicaset_diff(0, [second, first])) == [first["metadata"]["name"],
                                                              second["metadata"]["name"]], first
    # rule 5: Pods doubled up on a node go before a lonely (even newer) one
    crowded = [pod(f"crowded-{i}", node="busy") for i in range(3)]
    assert "lonely" not in names(replicaset_diff(1, [pod("lonely", node="quiet", created=T0 + 50), *crowded]))
    # an earlier rule wins over a later one: a ready Pod with 9 restarts stays, a not-ready fresh one goes
    assert names(replicaset_diff(1, [pod("ready-restarted", node="n1", phase="Running", ready=True, restarts=9),
                                     pod("not-ready", node="n2", phase="Running")])) == ["not-ready"]
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: a ReplicaSet of 4; two of its Pods become Ready; then we scale it to 2. Your
# ranking decides which two Pods survive — the Ready ones.

# %%
print("your diff for 2 wanted, 0 Pods:", replicaset_diff(2, []))
with exercises.using(replicaset_diff) as plugged:
    labels = {"app": "rs-demo"}
    rs_api.create("default", {"metadata": {"name": "rs-demo"}, "spec": {
        "replicas": 4, "selector": {"matchLabels": labels}, "template": template(app="rs-demo")}})
    demo = wait_until(lambda: (p := [x for x in live_pods() if x["metadata"]["labels"] == labels])
                      and len(p) == 4 and p, ready=lambda pod: False)
    favourites = sorted(p["metadata"]["name"] for p in demo)[:2]
    wait_until(lambda: all(p["status"].get("phase") == "Running" for p in live_pods()
                           if p["metadata"]["name"] in favourites),
               ready=lambda pod: pod["metadata"]["name"] in favourites)
    rs_api.patch("default", "rs-demo", {"spec": {"replicas": 2}})
    kept = wait_until(lambda: (p := sorted(x["metadata"]["name"] for x in live_pods()
                                           if x["metadata"]["labels"] == labels)) and len(p) == 2 and p,
                      ready=lambda pod: False)
    print("Ready before the scale-down:", favourites, "| kept:", kept)
    print("calls to your replicaset_diff:", plugged.calls_to_learner)
rs_api.delete("default", "rs-demo")

# %% [markdown]
# ## Exercise 2 — the `pod-template-hash` (3 points)
#
# A Deployment names each of its ReplicaSets `<deployment>-<hash of the Pod template>` and labels
# the Pods `pod-template-hash=<hash>`. Same template, same name: that is how a rollback finds its
# old ReplicaSet again. Upstream's `ComputeHash`:
#
# 1. **FNV-1a, 32 bits**: start from `0x811C9DC5`; for each byte, `h ^= byte`, then
#    `h = (h * 0x01000193) % 2**32`. Here the bytes are the template's canonical JSON:
#    `json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`
#    (upstream hashes a dump of the Go struct instead; the idea is the same);
# 2. if `collision_count` is not None (the Deployment's `status.collisionCount`, used when two
#    templates hashed alike), continue the *same* FNV state over 8 more bytes: the count as a
#    4-byte little-endian unsigned int (`struct.pack("<I", n)`) and 4 zero bytes. A count that
#    does not fit in 32 bits (or is negative) is a `ValueError`;
# 3. write the 32-bit value in decimal and make it "safe" (apimachinery's `SafeEncodeString`):
#    each character `c` becomes `"bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27]` — no vowels, so a
#    hash never spells a word.

# %% nbgrader={"grade_id": "ch07_pod_template_hash", "solution": true}
def pod_template_hash(template: dict, collision_count: int | None = None) -> str:
    """The pod-template-hash label value for ``template``."""
    ### BEGIN SOLUTION
    def fnv(data: bytes, value: int) -> int:
        for byte in data:
            value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
        return value

    value = fnv(json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
                0x811C9DC5)
    if collision_count is not None:
        if not 0 <= collision_count <= 0xFFFFFFFF:
            raise ValueError(f"collisionCount must fit in 32 bits, got {collision_count}")
        value = fnv(struct.pack("<I", collision_count) + b"\0\0\0\0", value)
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[ord(ch) % len(alphabet)] for ch in str(value))
    ### END SOLUTION


# %% [markdown]
# The test: FNV-1a of the empty template `{}` (the two bytes `{}`) worked by hand, the safe
# alphabet (digit `0` is character 48, 48 % 27 = 21 → `4`), and key order not mattering.

# %% nbgrader={"grade_id": "ch07_test_pod_template_hash", "grade": true, "points": 3}
def fnv1a(data: bytes) -> int:  # FNV-1a as the test's own yardstick
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) % 2**32
    return h


def safe(text: str) -> str:
    return "".join("bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27] for c in text)


with exercises.checking(pod_template_hash):
    assert pod_template_hash({}) == safe(str(fnv1a(b"{}")))
    web = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    reordered = {"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"labels": {"app": "web"}}}
    assert pod_template_hash(web) == pod_template_hash(reordered)
    assert set(pod_template_hash(web)) <= set("456789bcdf")
    ### BEGIN HIDDEN TESTS
    assert pod_template_hash(web) == safe(str(fnv1a(json.dumps(web, sort_keys=True,
                                                               separators=(",", ":")).encode())))
    # FNV-1a published vectors through the template path: "a" is 0xe40c292c
    assert pod_template_hash("a") == safe(str(fnv1a(b'"a"')))
    assert pod_template_hash({"name": "é"}) == safe(str(fnv1a('{"name":"é"}'.encode())))
    other = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}
    hashes = {pod_template_hash(web), pod_template_hash(other), pod_template_hash(web, 0),
              pod_template_hash(web, 1)}
    assert len(hashes) == 4
    h = fnv1a(json.dumps(web, sort_keys=True, separators=(",", ":")).encode())
    for b in struct.pack("<I", 7) + bytes(4):
        h = ((h ^ b) * 0x01000193) % 2**32
    assert pod_template_hash(web, 7) == safe(str(h))
    with pytest.raises(ValueError):
        pod_template_hash(web, -1)
    with pytest.raises(ValueError):
        pod_template_hash(web, 2**32)
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: the Deployment controller names its ReplicaSet with *your* hash, and a rollback
# to the first template finds that ReplicaSet again (same hash, revision bumped).

# %%
print("your hash of the web template:", pod_template_hash(template()))
with exercises.using(pod_template_hash) as plugged:
    deploy_api.create("default", {"metadata": {"name": "hash-demo"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "hash-demo"}}, "template": template(app="hash-demo")}})
    rs_names = wait_until(lambda: sorted(r["metadata"]["name"] for r in rs_api.list("default")["items"]
                                         if r["metadata"]["name"].startswith("hash-demo")))
    # the API server filled in defaults (restartPolicy, ...): hash the template as stored
    stored = deploy_api.get("default", "hash-demo")["spec"]["template"]
    print("ReplicaSet:", rs_names, "| your hash of the stored template:", pod_template_hash(stored))
    print("calls to your pod_template_hash:", plugged.calls_to_learner)
deploy_api.delete("default", "hash-demo", propagation_policy="Foreground")

# %% [markdown]
# ## Exercise 3 — one step of a rolling update (5 points)
#
# During a rollout the Deployment has a **new** ReplicaSet (the new template) and **old** ones.
# Each ReplicaSet is a `ReplicaSetState(name, replicas, available, created, ...)`: its
# `spec.replicas`, how many of its Pods are *available*, and when it was created. Two numbers
# bound the rollout (`spec.strategy.rollingUpdate`), each an int or a percentage string like
# `"25%"` of `replicas`:
#
# - `maxSurge`: how many Pods *above* `replicas` may exist — a percentage **rounds up**;
# - `maxUnavailable`: how many *below* `replicas` may be unavailable — a percentage **rounds down**;
# - if both come out 0, `maxUnavailable` becomes 1 (otherwise nothing could ever move).
#   Anything that is not an int or `"<digits>%"` is a `ValueError`.
#
# One step (`rolling.go`, `reconcileNewReplicaSet` then `reconcileOldReplicaSets`):
#
# 1. if the new ReplicaSet has more than `replicas`, scale it **down** to `replicas`: done;
# 2. otherwise scale the new ReplicaSet **up**: the total may reach `replicas + surge`; the total
#    now is the sum of every ReplicaSet's `rs.footprint` (its replicas — or more, if Pods it is
#    scaling down are still there). If there is room, the new size is
#    `new.replicas + min(room, replicas - new.replicas)`; if that changes it: done;
# 3. otherwise scale old ReplicaSets **down**, keeping `min_available = replicas - unavailable`
#    (with `unavailable = min(unavailable, replicas)`):
#    `max_scaled_down = sum(old replicas) + new.replicas - min_available - (new.replicas - new.available)`.
#    If that is ≤ 0 (or the old ones are all at 0), wait: return `{}`. Otherwise, oldest ReplicaSet
#    first (by `created`, then `name`):
#    a. remove **unhealthy** old Pods (`replicas - available`) first, up to `max_scaled_down` in total;
#    b. then, if the available Pods (old and new) exceed `min_available`, remove that excess from
#       the old ReplicaSets (their sizes after step a), oldest first.
#
# Return `{name: new spec.replicas}` for the ReplicaSets whose size changes (`{}` means wait).

# %%
from fromscratch.controllers.rollout import ReplicaSetState

print(ReplicaSetState("web-old", replicas=10, available=10, created=1.0).footprint)


# %% nbgrader={"grade_id": "ch07_rolling_update_step", "solution": true}
def rolling_update_step(*, replicas: int, max_surge, max_unavailable, new: ReplicaSetState,
                        old: list[ReplicaSetState]) -> dict[str, int]:
    """The ReplicaSet sizes after one step of a rolling update."""
    ### BEGIN SOLUTION
    def scaled(value, round_up: bool) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
            fraction = int(value[:-1]) * replicas / 100
            return math.ceil(fraction) if round_up else math.floor(fraction)
        raise ValueError(f"not an int or a percentage: {value!r}")

    surge, unavailable = scaled(max_surge, True), scaled(max_unavailable, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    if new.replicas > replicas:
        return {new.name: replicas}
    total = sum(rs.footprint for rs in old) + new.footprint
    if total < replicas + surge:
        grown = new.replicas + min(replicas + surge - total, replicas - new.replicas)
        if grown != new.replicas:
            return {new.name: grown}
    old_total = sum(rs.replicas for rs in old)
    if old_total == 0:
        return {}
    min_available = replicas - min(unavailable, replicas)
    max_scaled_down = old_total + new.replicas - min_available - (new.replicas - new.available)
    if max_scaled_down <= 0:
        return {}
    sizes = {rs.name: rs.replicas for rs in old}
    oldest_first = sorted(old, key=lambda rs: (rs.created, rs.name))
    cleaned = 0
    for rs in oldest_first:
        unhealthy = rs.replicas - rs.available
        if cleaned < max_scaled_down and unhealthy > 0:
            count = min(max_scaled_down - cleaned, unhealthy)
            sizes[rs.name] -= count
            cleaned += count
    excess = sum(rs.available for rs in old) + new.available - min_available
    for rs in oldest_first:
        if excess <= 0:
            break
        count = min(sizes[rs.name], excess)
        sizes[rs.name] -= count
        excess -= count
    return {rs.name: sizes[rs.name] for rs in old if sizes[rs.name] != rs.replicas}
    ### END SOLUTION


# %% [markdown]
# The test, from upstream's `rolling_test.go`: with 10 replicas and `maxSurge: 2` a fresh rollout
# first grows the new ReplicaSet to 2; with `maxSurge: 0, maxUnavailable: 2` it scales the old
# one to 8 instead; and `"25%"` of 10 is a surge of 3 (2.5 rounded up).

# %% nbgrader={"grade_id": "ch07_test_rolling_update_step", "grade": true, "points": 5}
def rs(name, replicas, available=0, created=0.0, pods=None):
    return ReplicaSetState(name, replicas, available, created, pods=pods)


with exercises.checking(rolling_update_step):
    assert rolling_update_step(replicas=10, max_surge=2, max_unavailable=0,
                               new=rs("new", 0, created=2), old=[rs("old", 10, 10, 1)]) == {"new": 2}
    assert rolling_update_step(replicas=10, max_surge=0, max_unavailable=2,
                               new=rs("new", 0, created=2), old=[rs("old", 10, 10, 1)]) == {"old": 8}
    assert rolling_update_step(replicas=10, max_surge="25%", max_unavailable="25%",
                               new=rs("new", 0, created=2), old=[rs("old", 10, 10, 1)]) == {"new": 3}
    ### BEGIN HIDDEN TESTS
    # reconcileNewReplicaSet table (maxUnavailable 0)
    for reps, surge, old_n, new_n, expected in [(10, 0, 10, 0, None), (10, 2, 10, 0, 2), (10, 2, 5, 0, 7),
                                               (10, 2, 10, 2, None), (2, 2, 2, 4, 2)]:
        got = rolling_update_step(replicas=reps, max_surge=surge, max_unavailable=0,
                                  new=rs("new", new_n, created=2), old=[rs("old", old_n, old_n, 1)])
        assert got.get("new") == expected, (reps, surge, old_n, new_n)
    # reconcileOldReplicaSets table (maxSurge 0)
    for reps, unavail, old_n, new_n, old_ready, new_ready, expected in [
            (10, 0, 10, 0, 10, 0, 9),  # both zero -> maxUnavailable 1
            (10, 2, 10, 0, 10, 0, 8), (10, 2, 10, 0, 8, 0, 8), (10, 2, 10, 0, 9, 0, 8),
            (10, 2, 8, 2, 8, 0, None)]:
        got = rolling_update_step(replicas=reps, max_surge=0, max_unavailable=unavail,
                                  new=rs("new", new_n, new_ready, 2), old=[rs("old", old_n, old_ready, 1)])
        assert got.get("old") == expected and "new" not in got, (reps, unavail, old_n, old_ready)
    # "25%" of 10 unavailable rounds down to 2; "0%"/"0%" still lets one Pod go
    assert rolling_update_step(replicas=10, max_surge=0, max_unavailable="25%",
                               new=rs("new", 0, created=2), old=[rs("old", 10, 10, 1)]) == {"old": 8}
    assert rolling_update_step(replicas=5, max_surge="0%", max_unavailable="0%",
                               new=rs("new", 0, created=2), old=[rs("old", 5, 5, 1)]) == {"old": 4}
    # the oldest ReplicaSet goes first
    assert rolling_update_step(replicas=6, max_surge=0, max_unavailable=2, new=rs("new", 0, created=3),
                               old=[rs("middle", 3, 3, 2), rs("oldest", 3, 3, 1)]) == {"oldest": 1}
    # Pods an old ReplicaSet has not deleted yet count against the surge
    assert rolling_update_step(replicas=6, max_surge=1, max_unavailable=0, new=rs("new", 1, 1, 2, pods=1),
                               old=[rs("old", 5, 5, 1, pods=6)]) == {}
    assert rolling_update_step(replicas=6, max_surge=1, max_unavailable=0, new=rs("new", 1, 1, 2, pods=1),
                               old=[rs("old", 5, 5, 1, pods=5)]) == {"new": 2}
    # finished rollout: nothing to do
    assert rolling_update_step(replicas=3, max_surge=1, max_unavailable=0, new=rs("new", 3, 3, 2),
                               old=[rs("old", 0, 0, 1)]) == {}
    untouched, everything_old = rs("new", 0, created=2), [rs("old", 10, 10, 1)]
    for bad in ("25", "x%", 1.5, None):
        with pytest.raises(ValueError):
            rolling_update_step(replicas=10, max_surge=bad, max_unavailable=1, new=untouched, old=everything_old)
    # a whole rollout, 10 replicas, surge 3, unavailable 2: never above 13 Pods, never below 8 available
    new, old = rs("new", 0, created=2), rs("old", 10, 10, 1)
    for _ in range(20):
        sizes = rolling_update_step(replicas=10, max_surge=3, max_unavailable=2, new=new, old=[old])
        if not sizes:
            break
        n, o = sizes.get("new", new.replicas), sizes.get("old", old.replicas)
        new, old = rs("new", n, min(new.available, n), 2), rs("old", o, min(old.available, o), 1)
        assert n + o <= 13 and new.available + old.available >= 8
        new, old = rs("new", n, n, 2), rs("old", o, o, 1)
    assert (new.replicas, old.replicas) == (10, 0)
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: a Deployment of 6 replicas, `maxSurge: 1`, `maxUnavailable: 1`, rolled from
# nginx 1.27 to 1.28. We record both ReplicaSets' sizes as the rollout goes and plot them: the
# total never exceeds 7 and never drops below 5 available.

# %%
import matplotlib.pyplot as plt

print("your first step:", rolling_update_step(replicas=6, max_surge=1, max_unavailable=1,
                                              new=rs("new", 0, created=2), old=[rs("old", 6, 6, 1)]))
with exercises.using(rolling_update_step) as plugged:
    labels = {"app": "roll"}
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    deploy_api.create("default", {"metadata": {"name": "roll"}, "spec": {
        "replicas": 6, "selector": {"matchLabels": labels}, "strategy": strategy,
        "template": template("nginx:1.27", "roll")}})

    def sizes() -> dict[str, int]:
        return {r["spec"]["template"]["spec"]["containers"][0]["image"]: r["spec"]["replicas"]
                for r in rs_api.list("default", label_selector="app=roll")["items"]}

    def rolled(image: str) -> bool:
        ready = [p for p in live_pods() if p["metadata"]["labels"].get("app") == "roll"
                 and p["status"].get("phase") == "Running"]
        return len(ready) == 6 and {p["spec"]["containers"][0]["image"] for p in ready} == {image}

    wait_until(lambda: rolled("nginx:1.27"))
    deploy_api.patch("default", "roll", {"spec": {"template": template("nginx:1.28", "roll")}})
    history = []
    deadline = time.monotonic() + 20
    while not (rolled("nginx:1.28") and sizes().get("nginx:1.27") == 0) and time.monotonic() < deadline:
        history.append(sizes())
        kubelet_step()
        time.sleep(0.1)
    history.append(sizes())
    print("calls to your rolling_update_step:", plugged.calls_to_learner)

steps = range(len(history))
fig, ax = plt.subplots(figsize=(7, 2.5))
ax.step(steps, [h.get("nginx:1.27", 0) for h in history], where="post", label="old (1.27)")
ax.step(steps, [h.get("nginx:1.28", 0) for h in history], where="post", label="new (1.28)")
ax.step(steps, [sum(h.values()) for h in history], where="post", linestyle=":", label="total")
ax.set_xlabel("observation"), ax.set_ylabel("spec.replicas"), ax.legend()
plt.show()
deploy_api.delete("default", "roll", propagation_policy="Foreground")

# %% [markdown]
# ## Exercise 4 — proportional scaling mid-rollout (4 points)
#
# You scale a Deployment while a rollout is under way. Which ReplicaSet gets the new Pods?
# Neither alone: the controller spreads the change **in proportion** to each ReplicaSet's size.
# Upstream (`sync.go`, `scale`; `GetProportion`):
#
# 1. `surge` is `max_surge` resolved against the **new** `replicas` (percentages round up);
#    the allowed total is `replicas + surge` (or 0 when `replicas` is 0);
# 2. only **active** ReplicaSets (`replicas > 0`) take part; `to_add = allowed - their total`;
# 3. sort them largest first — on equal size, the newer first when adding (`created` descending),
#    the older first when removing; then name;
# 4. for each (while there is something left): its **fraction** is
#    `round_half_up(rs.replicas * allowed / before) - rs.replicas` where `before` is the
#    ReplicaSet's `max_replicas` annotation (the Deployment's size + surge when it was last
#    resized) or, if missing, `status_replicas`; `before == 0` gives fraction 0; scaling to
#    `replicas == 0` gives `-rs.replicas`. Round half up: `math.floor(x + 0.5)`. Take
#    `min(fraction, left)` when adding, `max(fraction, left)` when removing;
# 5. whatever is left over from rounding goes to the **first** (largest) ReplicaSet, never
#    below 0.
#
# Return `{name: replicas}` for every active ReplicaSet (an unchanged one too).

# %% nbgrader={"grade_id": "ch07_proportional_scale", "solution": true}
def proportional_scale(*, replicas: int, max_surge, new: ReplicaSetState | None,
                       old: list[ReplicaSetState], status_replicas: int = 0) -> dict[str, int]:
    """New sizes of the active ReplicaSets when a Deployment is resized mid-rollout."""
    ### BEGIN SOLUTION
    if isinstance(max_surge, str):
        surge = math.ceil(int(max_surge.rstrip("%")) * replicas / 100)
    else:
        surge = max_surge
    allowed = replicas + surge if replicas > 0 else 0
    active = [r for r in [*old, *([new] if new else [])] if r.replicas > 0]
    to_add = allowed - sum(r.replicas for r in active)
    if to_add >= 0:
        active.sort(key=lambda r: (-r.replicas, -r.created, r.name))
    else:
        active.sort(key=lambda r: (-r.replicas, r.created, r.name))
    sizes, added = {}, 0
    for r in active:
        change = 0
        if to_add != 0 and added != to_add:
            before = r.max_replicas or status_replicas
            if replicas == 0:
                fraction = -r.replicas
            elif not before:
                fraction = 0
            else:
                fraction = math.floor(r.replicas * allowed / before + 0.5) - r.replicas
            left = to_add - added
            change = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes[r.name] = r.replicas + change
        added += change
    if active and to_add != 0:
        first = active[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes
    ### END SOLUTION


# %% [markdown]
# The test: two ReplicaSets of 5 (`max_replicas` 10) and a Deployment going from 10 to 12
# gives 6 and 6; a scale-down from 10 to 9 of 3 + 7 gives 3 and 6 (2.7 → 3, 6.3 → 6).
# The hidden tests include the documentation's own example.

# %% nbgrader={"grade_id": "ch07_test_proportional_scale", "grade": true, "points": 4}
def sized(name, replicas, created, max_replicas=None):
    return ReplicaSetState(name, replicas, replicas, created, max_replicas)


with exercises.checking(proportional_scale):
    assert proportional_scale(replicas=12, max_surge=0, new=sized("new", 5, 2, 10),
                              old=[sized("old", 5, 1, 10)]) == {"old": 6, "new": 6}
    assert proportional_scale(replicas=9, max_surge=0, new=sized("new", 7, 2, 10),
                              old=[sized("old", 3, 1, 10)]) == {"old": 3, "new": 6}
    ### BEGIN HIDDEN TESTS
    # the Deployments documentation: 10 replicas, maxSurge 3, maxUnavailable 2; a rollout to an
    # unresolvable image is stuck with 8 old + 5 new; scaled to 15 -> 3 more old, 2 more new
    assert proportional_scale(replicas=15, max_surge=3, new=sized("new", 5, 2, 13),
                              old=[sized("old", 8, 1, 13)]) == {"old": 11, "new": 7}
    assert proportional_scale(replicas=8, max_surge=0, new=sized("new", 5, 2, 10),
                              old=[sized("old", 5, 1, 10)]) == {"old": 4, "new": 4}
    assert proportional_scale(replicas=0, max_surge=1, new=sized("new", 3, 2, 6),
                              old=[sized("old", 3, 1, 6)]) == {"old": 0, "new": 0}
    # no annotation: status.replicas stands in
    assert proportional_scale(replicas=20, max_surge=0, new=sized("new", 5, 2), old=[sized("old", 5, 1)],
                              status_replicas=10) == {"old": 10, "new": 10}
    # a percentage surge resolves against the new size: 25% of 20 -> 5
    assert proportional_scale(replicas=20, max_surge="25%", new=sized("new", 6, 2, 12),
                              old=[sized("old", 6, 1, 12)]) == {"old": 12, "new": 13}
    # an empty old ReplicaSet does not take part; with no new ReplicaSet the old ones share it all
    assert proportional_scale(replicas=6, max_surge=0, new=None,
                              old=[sized("a", 2, 1, 4), sized("b", 2, 2, 4), sized("c", 0, 0, 4)]) \
        == {"a": 3, "b": 3}
    # nothing to change
    assert proportional_scale(replicas=10, max_surge=0, new=sized("new", 4, 2, 10),
                              old=[sized("old", 6, 1, 10)]) == {"old": 6, "new": 4}
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, the documentation's scenario live: `nginx:broken` never becomes ready, so the
# rollout sticks at 8 old + 5 new. Then we scale the Deployment to 15.

# %%
print("your answer for the docs' example:", proportional_scale(
    replicas=15, max_surge=3, new=sized("new", 5, 2, 13), old=[sized("old", 8, 1, 13)]))
with exercises.using(proportional_scale) as plugged:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    deploy_api.create("default", {"metadata": {"name": "docs"}, "spec": {
        "replicas": 10, "selector": {"matchLabels": {"app": "docs"}}, "strategy": strategy,
        "template": template("nginx:1.27", "docs")}})

    def docs_sizes() -> dict[str, int]:
        return {r["spec"]["template"]["spec"]["containers"][0]["image"]: r["spec"]["replicas"]
                for r in rs_api.list("default", label_selector="app=docs")["items"]}

    not_broken = lambda pod: pod["spec"]["containers"][0]["image"] != "nginx:broken"  # noqa: E731
    wait_until(lambda: deploy_api.get("default", "docs")["status"].get("availableReplicas") == 10)
    deploy_api.patch("default", "docs", {"spec": {"template": template("nginx:broken", "docs")}})
    print("stuck at:", wait_until(lambda: (s := docs_sizes()) and sorted(s.values()) == [5, 8] and s,
                                  ready=not_broken))
    deploy_api.patch("default", "docs", {"spec": {"replicas": 15}})
    print("after scaling to 15:", wait_until(lambda: (s := docs_sizes()) and sum(s.values()) == 18 and s,
                                             ready=not_broken))
    print("calls to your proportional_scale:", plugged.calls_to_learner)
deploy_api.delete("default", "docs", propagation_policy="Foreground")

# %% [markdown]
# ## Exercise 5 — a StatefulSet's next action (4 points)
#
# A StatefulSet's Pods have names with ordinals: `web-0`, `web-1`, ... `pods` maps each ordinal
# that exists to a `PodState(running_ready, terminating, failed, revision)`. Return the list of
# `Action(verb, ordinal)` to take now (`verb` is `"create"`, `"delete"` or `"wait"`), in order:
#
# 1. a **failed** Pod that is not already terminating is deleted (the controller recreates it
#    under the same name);
# 2. the ordinals `0 … replicas-1`, ascending: a missing one is **created**; with the default
#    `OrderedReady` policy a Pod that is terminating or not Running-and-Ready blocks everything
#    after it (return just `[Action("wait", ordinal)]`);
# 3. surplus ordinals (`>= replicas`), **highest first**: deleted; with `OrderedReady` one that is
#    already terminating means `wait` for it;
# 4. only when 1–3 had nothing to do: a **rolling update** (`update_revision` not empty) goes from
#    the highest ordinal down: a Pod that is terminating or not ready → `wait` for it; a Pod at
#    ordinal `>= partition` whose `revision` is not `update_revision` → `delete` it (it comes back
#    at the new revision); lower ordinals keep the old revision (a canary).
#
# With `OrderedReady`, the answer holds a single action (return as soon as you have one); with
# `Parallel` it holds every create and delete of steps 1–3 (no waiting). `replicas < 0` or an
# unknown policy is a `ValueError`. `[]` means converged.

# %%
from fromscratch.controllers.statefulset_plan import Action, PodState

print(Action("create", 0), PodState(running_ready=True, revision="v1"))


# %% nbgrader={"grade_id": "ch07_statefulset_next_actions", "solution": true}
def statefulset_next_actions(*, replicas: int, pods: dict[int, PodState], policy: str = "OrderedReady",
                             update_revision: str = "", partition: int = 0) -> list[Action]:
    """What the StatefulSet controller does now; [] when converged."""
    ### BEGIN SOLUTION
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    if policy not in ("OrderedReady", "Parallel"):
        raise ValueError(f"unknown podManagementPolicy {policy!r}")
    ordered = policy == "OrderedReady"
    actions = []
    for ordinal in sorted(pods):
        if pods[ordinal].failed and not pods[ordinal].terminating:
            actions.append(Action("delete", ordinal))
            if ordered:
                return actions
    for ordinal in range(replicas):
        state = pods.get(ordinal)
        if state is None:
            actions.append(Action("create", ordinal))
            if ordered:
                return actions
        elif ordered and (state.terminating or not state.running_ready):
            return [Action("wait", ordinal)]
    for ordinal in sorted((o for o in pods if o >= replicas), reverse=True):
        if pods[ordinal].terminating:
            if ordered:
                return [Action("wait", ordinal)]
            continue
        actions.append(Action("delete", ordinal))
        if ordered:
            return actions
    if actions or not update_revision:
        return actions
    for ordinal in range(replicas - 1, -1, -1):
        state = pods[ordinal]
        if state.terminating or not state.running_ready:
            return [Action("wait", ordinal)]
        if ordinal >= partition and state.revision != update_revision:
            return [Action("delete", ordinal)]
    return []
    ### END SOLUTION


# %% [markdown]
# The test follows the documentation: `web-0` is created first; `web-1` only once `web-0` is
# Running and Ready; scaling down removes the highest ordinal first.

# %% nbgrader={"grade_id": "ch07_test_statefulset_next_actions", "grade": true, "points": 4}
READY, STARTING = PodState(running_ready=True, revision="v1"), PodState(revision="v1")

with exercises.checking(statefulset_next_actions):
    assert statefulset_next_actions(replicas=3, pods={}) == [Action("create", 0)]
    assert statefulset_next_actions(replicas=3, pods={0: STARTING}) == [Action("wait", 0)]
    assert statefulset_next_actions(replicas=3, pods={0: READY}) == [Action("create", 1)]
    assert statefulset_next_actions(replicas=1, pods={0: READY, 1: READY, 2: READY}) == [Action("delete", 2)]
    assert statefulset_next_actions(replicas=2, pods={0: READY, 1: READY}) == []
    ### BEGIN HIDDEN TESTS
    assert statefulset_next_actions(replicas=1, pods={0: READY, 1: READY, 2: PodState(terminating=True)}) \
        == [Action("wait", 2)]
    assert statefulset_next_actions(replicas=2, pods={0: READY, 1: STARTING, 2: READY}) == [Action("wait", 1)]
    assert statefulset_next_actions(replicas=3, pods={}, policy="Parallel") == \
        [Action("create", 0), Action("create", 1), Action("create", 2)]
    assert statefulset_next_actions(replicas=2, pods={i: READY for i in range(5)}, policy="Parallel") == \
        [Action("delete", 4), Action("delete", 3), Action("delete", 2)]
    assert statefulset_next_actions(replicas=3, pods={0: STARTING}, policy="Parallel") == \
        [Action("create", 1), Action("create", 2)]
    assert statefulset_next_actions(replicas=2, pods={0: READY, 1: PodState(failed=True)}) == [Action("delete", 1)]
    assert statefulset_next_actions(replicas=2, pods={0: READY, 1: PodState(failed=True, terminating=True)}) \
        == [Action("wait", 1)]
    # the documentation's canary: partition 2 of 3 updates web-2 only
    old = {i: READY for i in range(3)}
    assert statefulset_next_actions(replicas=3, pods=old, update_revision="v2", partition=2) == [Action("delete", 2)]
    canary = {**old, 2: PodState(running_ready=True, revision="v2")}
    assert statefulset_next_actions(replicas=3, pods=canary, update_revision="v2", partition=2) == []
    assert statefulset_next_actions(replicas=3, pods=canary, update_revision="v2") == [Action("delete", 1)]
    assert statefulset_next_actions(replicas=3, pods={**old, 2: PodState(revision="v2")},
                                    update_revision="v2") == [Action("wait", 2)]
    assert statefulset_next_actions(replicas=2, pods={0: READY, 1: READY}, update_revision="v1") == []
    with pytest.raises(ValueError):
        statefulset_next_actions(replicas=-1, pods={})
    with pytest.raises(ValueError):
        statefulset_next_actions(replicas=1, pods={}, policy="Random")
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: a StatefulSet `web` of 3. We note the moment each Pod first appears: `web-0`,
# then `web-1`, then `web-2`, each after its predecessor became Ready.

# %%
print("your first action for 3 replicas:", statefulset_next_actions(replicas=3, pods={}))
with exercises.using(statefulset_next_actions) as plugged:
    sts_api.create("default", {"metadata": {"name": "web"}, "spec": {
        "replicas": 3, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
        "template": template(app="nginx")}})
    seen: list[str] = []

    def all_three() -> bool:
        for p in live_pods():
            if p["metadata"]["name"].startswith("web-") and p["metadata"]["name"] not in seen:
                seen.append(p["metadata"]["name"])
        return len(seen) == 3 and all(p["status"].get("phase") == "Running" for p in live_pods()
                                      if p["metadata"]["name"] in seen)

    wait_until(all_three)
    print("created in this order:", seen)
    print("calls to your statefulset_next_actions:", plugged.calls_to_learner)

# %% [markdown]
# ## Done
#
# Clean up the API server and the controllers:

# %%
manager.stop()
server.stop()

# %% [markdown]
# You wrote the decisions at the heart of four controllers: the ReplicaSet's diff and deletion
# ranking, the hash that names a template, the rolling update's arithmetic with its rounding rules,
# proportional scaling, and the StatefulSet's ordering. Upstream, they live in
# `pkg/controller/replicaset/replica_set.go`, `pkg/controller/controller_utils.go`,
# `pkg/controller/deployment/rolling.go` and `sync.go`, and
# `pkg/controller/statefulset/stateful_set_control.go`. Next: the scheduler (chapter 8).

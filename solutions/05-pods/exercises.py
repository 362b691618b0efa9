# %% [markdown]
# # Exercises 5 — the kubelet's rules
#
# Four small functions that decide how a Pod behaves on its node. Each is plugged into the
# pod runtime afterwards, and a simulated pod (virtual time: minutes pass in milliseconds)
# shows your rule at work.
#
# **You will write:** `next_backoff` (crash-loop back-off), `next_probe_state` (probe
# thresholds), `next_init_action` (the init sequence) and `pod_phase`.
# **The reference** is in `fromscratch/runtime/restart.py`, `probes.py` and `status.py`.

# %%
import pytest

from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# ## Exercise 1 — `next_backoff` (2 points)
#
# From the Kubernetes docs (*Pod Lifecycle*): after a container exits, the kubelet restarts it
# "with an exponential back-off delay (10s, 20s, 40s, …), that is capped at five minutes. Once a
# container has executed for 10 minutes without any problems, the kubelet resets the restart
# backoff timer for that container."
#
# `previous` is the delay used before the last restart (`None` if the container never crashed
# before), `ran_for` how many seconds it ran before this exit. Return the next delay in seconds.
# A negative `ran_for` is a `ValueError`.

# %% nbgrader={"grade_id": "ch05_next_backoff", "solution": true}
def next_backoff(previous, ran_for: float) -> float:
    """Seconds to wait before restarting a container that just exited."""
    ### BEGIN SOLUTION
    if ran_for < 0:
        raise ValueError("ran_for cannot be negative")
    if previous is None or ran_for >= 600:
        return 10.0
    return min(previous * 2, 300.0)
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch05_test_next_backoff", "grade": true, "points": 2}
with exercises.checking(next_backoff):
    assert next_backoff(None, 1) == 10
    assert next_backoff(10, 1) == 20
    assert next_backoff(160, 1) == 300
    ### BEGIN HIDDEN TESTS
    assert next_backoff(300, 5) == 300
    assert next_backoff(300, 600) == 10
    assert next_backoff(40, 599.9) == 80
    assert next_backoff(None, 0) == 10
    assert next_backoff(200, 0) == 300
    with pytest.raises(ValueError):
        next_backoff(10, -1)
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 — `next_probe_state` (3 points)
#
# A probe does not change its verdict on one bad result. The kubelet's prober keeps the
# published **result** plus the last raw outcome and how many times in a row it occurred
# (`ProbeState(result, last, run)`). For each new outcome `ok`:
#
# 1. `run` becomes `run + 1` if `ok` equals `last`, else 1 (and `last` becomes `ok`);
# 2. the result becomes `"Success"` once `run` reaches `success_threshold` successes,
#    `"Failure"` once it reaches `failure_threshold` failures; otherwise it stays as it was.
#
# A readiness probe starts as `ProbeState("Failure")`, a liveness probe as `ProbeState("Success")`.

# %% nbgrader={"grade_id": "ch05_next_probe_state", "solution": true}
from fromscratch.runtime.probes import ProbeState


def next_probe_state(state, ok: bool, *, success_threshold: int, failure_threshold: int):
    """Fold one probe outcome into the ProbeState."""
    ### BEGIN SOLUTION
    run = state.run + 1 if state.last is ok else 1
    result = state.result
    if ok and run >= success_threshold:
        result = "Success"
    elif not ok and run >= failure_threshold:
        result = "Failure"
    return ProbeState(result, ok, run)
    ### END SOLUTION


# %% [markdown]
# The test feeds a liveness probe (failureThreshold 3) a few failures with a success in between:
# the container must *not* be declared dead until three failures in a row.

# %% nbgrader={"grade_id": "ch05_test_next_probe_state", "grade": true, "points": 3}
def feed(outcomes, state, success_threshold=1, failure_threshold=3):
    results = []
    for ok in outcomes:
        state = next_probe_state(state, ok, success_threshold=success_threshold,
                                 failure_threshold=failure_threshold)
        results.append(state.result)
    return results, state


with exercises.checking(next_probe_state):
    results, state = feed([False, False, True, False, False, False], ProbeState("Success"))
    assert results == ["Success"] * 5 + ["Failure"]
    assert state == ProbeState("Failure", False, 3)
    ### BEGIN HIDDEN TESTS
    results, _ = feed([True, True, False, True, True], ProbeState("Failure"), 2, 1)
    assert results == ["Failure", "Success", "Failure", "Failure", "Success"]
    results, state = feed([True], ProbeState("Failure"))
    assert results == ["Success"] and state == ProbeState("Success", True, 1)
    results, _ = feed([False], ProbeState("Success"), failure_threshold=1)
    assert results == ["Failure"]
    results, state = feed([False, False], ProbeState("Unknown"))
    assert results == ["Unknown", "Unknown"] and state.run == 2
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 — `next_init_action` (3 points)
#
# Init containers run one at a time, in order, each to successful completion. Given the init
# container specs (dicts with `"name"`), their statuses (API-style dicts, see below; a container
# that has no status yet is simply absent) and the pod's `restart_policy`, return what to do next:
#
# | first init container (in order) that is not done | action |
# |---|---|
# | no status, or `waiting` without a previous termination | `("start", name)` |
# | `running` | `("wait", name)` |
# | `terminated` with `exitCode` 0 | done — look at the next one |
# | `terminated` with a non-zero code, or `waiting` with `lastState.terminated` | `("fail", name)` if policy is `Never`, else `("restart", name)` |
# | all done | `("done", None)` |
#
# A status looks like `{"name": "a", "state": {"terminated": {"exitCode": 0}}, "lastState": {}}`.
# (Native sidecars, `restartPolicy: Always` on an init container, are left out here.)

# %% nbgrader={"grade_id": "ch05_next_init_action", "solution": true}
def next_init_action(init_containers, statuses, restart_policy):
    """(action, name) for the init sequence: start, wait, restart, fail or done."""
    ### BEGIN SOLUTION
    by_name = {s["name"]: s for s in statuses}
    for container in init_containers:
        name = container["name"]
        status = by_name.get(name)
        state = (status or {}).get("state") or {}
        ran_before = "terminated" in (status or {}).get("lastState", {})
        if status is None or ("running" not in state and "terminated" not in state and not ran_before):
            return ("start", name)
        if "running" in state:
            return ("wait", name)
        if "terminated" in state and state["terminated"].get("exitCode", 0) == 0:
            continue
        return ("fail", name) if restart_policy == "Never" else ("restart", name)
    return ("done", None)
    ### END SOLUTION


# %% nbgrader={"grade_id": "ch05_test_next_init_action", "grade": true, "points": 3}
def status(name, state, last=None):
    return {"name": name, "state": state, "lastState": last or {}}


OK, BAD, RUN = {"terminated": {"exitCode": 0}}, {"terminated": {"exitCode": 1}}, {"running": {}}
INITS = [{"name": "one"}, {"name": "two"}]

with exercises.checking(next_init_action):
    assert next_init_action(INITS, [], "Always") == ("start", "one")
    assert next_init_action(INITS, [status("one", RUN)], "Always") == ("wait", "one")
    assert next_init_action(INITS, [status("one", OK)], "Always") == ("start", "two")
    assert next_init_action(INITS, [status("one", OK), status("two", OK)], "Always") == ("done", None)
    ### BEGIN HIDDEN TESTS
    assert next_init_action(INITS, [status("one", OK), status("two", BAD)], "Never") == ("fail", "two")
    assert next_init_action(INITS, [status("one", OK), status("two", BAD)], "OnFailure") == ("restart", "two")
    crash = status("one", {"waiting": {"reason": "CrashLoopBackOff"}}, last=BAD)
    assert next_init_action(INITS, [crash], "Always") == ("restart", "one")
    assert next_init_action(INITS, [crash], "Never") == ("fail", "one")
    fresh = status("one", {"waiting": {"reason": "PodInitializing"}})
    assert next_init_action(INITS, [fresh], "Never") == ("start", "one")
    assert next_init_action([], [], "Never") == ("done", None)
    assert next_init_action(INITS, [status("two", OK)], "Always") == ("start", "one")
    ### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 — `pod_phase` (4 points)
#
# The phase summarises a pod, following the kubelet's `getPhase`. Count the **init** containers
# (from `spec["initContainers"]`, matched by name to `init_statuses`): one without a status,
# running, or waiting without a previous termination is *pending*; one terminated — or waiting
# after a termination (`lastState.terminated`) — with a non-zero exit code has *failed*.
# Count the **app** containers (`spec["containers"]` / `statuses`): no status or an empty
# state → *unknown*; running → *running*; terminated → *stopped*, and *succeeded* too if its exit
# code is 0; waiting after a termination → *stopped*; other waiting → *waiting*. Then, in order:
#
# 1. a failed init container and `restartPolicy` `Never` → `"Failed"`;
# 2. any pending init container, or any waiting container → `"Pending"`;
# 3. some running and none unknown → `"Running"`;
# 4. none running, some stopped, none unknown → `"Running"` if the policy is `Always` (they are
#    restarting); `"Succeeded"` if every stopped one succeeded; `"Failed"` if the policy is
#    `Never`; else `"Running"` (OnFailure: the failed ones restart);
# 5. otherwise `"Pending"`.
#
# `restartPolicy` defaults to `Always`; `initContainers` may be absent.

# %% nbgrader={"grade_id": "ch05_pod_phase", "solution": true}
def pod_phase(spec, init_statuses, statuses):
    """Pending, Running, Succeeded or Failed."""
    ### BEGIN SOLUTION
    def code(state):
        return state.get("terminated", {}).get("exitCode", 0)

    policy = spec.get("restartPolicy", "Always")
    inits = {s["name"]: s for s in init_statuses}
    pending_init = failed_init = 0
    for container in spec.get("initContainers", []):
        status = inits.get(container["name"])
        state = (status or {}).get("state") or {}
        last = (status or {}).get("lastState") or {}
        if status is None or "running" in state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += code(state) != 0
        elif "terminated" in last:
            failed_init += code(last) != 0
        else:
            pending_init += 1
    apps = {s["name"]: s for s in statuses}
    running = waiting = stopped = succeeded = unknown = 0
    for container in spec["containers"]:
        status = apps.get(container["name"])
        state = (status or {}).get("state") or {}
        if not state:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += code(state) == 0
        elif "terminated" in (status.get("lastState") or {}):
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"
    ### END SOLUTION


# %% [markdown]
# The visible test covers the examples of the *Pod Lifecycle* page; the hidden ones add init
# containers and crash loops.

# %% nbgrader={"grade_id": "ch05_test_pod_phase", "grade": true, "points": 4}
def spec(policy="Always", inits=()):
    return {"restartPolicy": policy, "containers": [{"name": "a"}, {"name": "b"}],
            "initContainers": [{"name": n} for n in inits]}


WAIT = {"waiting": {"reason": "ContainerCreating"}}

with exercises.checking(pod_phase):
    assert pod_phase(spec(), [], [status("a", RUN), status("b", RUN)]) == "Running"
    assert pod_phase(spec("Never"), [], [status("a", OK), status("b", OK)]) == "Succeeded"
    assert pod_phase(spec("Never"), [], [status("a", OK), status("b", BAD)]) == "Failed"
    assert pod_phase(spec(), [], [status("a", RUN), status("b", WAIT)]) == "Pending"
    ### BEGIN HIDDEN TESTS
    assert pod_phase(spec("Always"), [], [status("a", OK), status("b", OK)]) == "Running"
    assert pod_phase(spec("OnFailure"), [], [status("a", OK), status("b", BAD)]) == "Running"
    assert pod_phase(spec("OnFailure"), [], [status("a", OK), status("b", OK)]) == "Succeeded"
    crash = status("b", {"waiting": {"reason": "CrashLoopBackOff"}}, last=BAD)
    assert pod_phase(spec("OnFailure"), [], [status("a", OK), crash]) == "Running"
    assert pod_phase(spec(), [], [status("a", RUN)]) == "Pending"
    assert pod_phase(spec(), [], []) == "Pending"
    assert pod_phase(spec(inits=["i"]), [status("i", RUN)], [status("a", WAIT), status("b", WAIT)]) == "Pending"
    assert pod_phase(spec("Never", ["i"]), [status("i", BAD)], [status("a", WAIT), status("b", WAIT)]) == "Failed"
    assert pod_phase(spec("Always", ["i"]), [status("i", BAD)], [status("a", WAIT), status("b", WAIT)]) == "Pending"
    init_crash = status("i", {"waiting": {"reason": "CrashLoopBackOff"}}, last=BAD)
    assert pod_phase(spec("Never", ["i"]), [init_crash], []) == "Failed"
    assert pod_phase(spec(inits=["i"]), [status("i", OK)], [status("a", RUN), status("b", RUN)]) == "Running"
    assert pod_phase({"containers": [{"name": "a"}]}, [], [status("a", OK)]) == "Running"
    ### END HIDDEN TESTS

# %% [markdown]
# ## Your rules, inside the kubelet
#
# Plug all four in and run two simulated pods: a crash loop (your back-off decides when each
# restart happens, your phase what the pod reports) and a pod with two init containers and a
# flaky readiness probe (your init sequence and probe thresholds).

# %%
from fromscratch.runtime.runtimes import SimRuntime

for mine in (next_backoff, next_probe_state, next_init_action, pod_phase):
    exercises.use(mine)

crash = SimRuntime().run_pod({"metadata": {"name": "crash"}, "spec": {
    "restartPolicy": "OnFailure",
    "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "sleep 2; exit 1"]}]}})
crash.run_for(400)
print("restarts at (s):", [round(e["time"]) for e in crash.events if e["reason"] == "Started"])
print("phase:", crash.phase)

flaky = SimRuntime().run_pod({"metadata": {"name": "flaky"}, "spec": {
    "initContainers": [{"name": "first", "image": "busybox", "command": ["sh", "-c", "sleep 2"]},
                       {"name": "second", "image": "busybox", "command": ["sh", "-c", "sleep 3"]}],
    "containers": [{"name": "app", "image": "busybox",
                    "command": ["sh", "-c", "sleep 3; touch /up; sleep 4; rm /up; sleep 1; touch /up; sleep 600"],
                    "readinessProbe": {"exec": {"command": ["cat", "/up"]}, "periodSeconds": 1,
                                       "failureThreshold": 3}}]}})
timeline = []
for _ in range(30):
    flaky.run_for(0.5)
    timeline.append("R" if flaky.condition("Ready") else ".")
print("Ready every 0.5 s:", "".join(timeline))
print("started:", [(e["container"], e["time"]) for e in flaky.events if e["reason"] == "Started"])
print("calls to your pod_phase:", exercises.plug_point("pod_phase").calls_to_learner)

# %% [markdown]
# Notice that the `app` stayed Ready through its one-second outage: with `failureThreshold: 3`
# a single failed probe does not count.
#
# ## Summary
#
# These rules are small, but they are what makes Kubernetes feel the way it does: pods stuck in
# `CrashLoopBackOff` with growing waits, `Pending` while init containers run, Ready that does not
# flicker on one bad probe. The real code: `pkg/kubelet/kuberuntime/kuberuntime_manager.go`
# (`computePodActions`, `computeInitContainerActions`), `pkg/kubelet/prober/worker.go`,
# `getPhase` in `pkg/kubelet/kubelet_pods.go`, and `k8s.io/client-go/util/flowcontrol/backoff.go`.

# %% [markdown]
# # Chapter 5 — Pods: containers that share, restart and get probed
#
# A **Pod** is Kubernetes' unit of deployment: one or more containers that are scheduled
# together and share some namespaces. On the node, the **kubelet** runs it:
#
# - an **infra ("pause") process** holds the pod's network, IPC and UTS namespaces; each
#   container joins them with `setns`, so they all share `localhost` and the hostname;
# - **volumes** (`emptyDir`, `hostPath`) are mounted into several containers: a **sidecar** can
#   read what the main container writes;
# - **init containers** run to completion, one at a time, before the app containers;
# - a container that exits is **restarted** under the pod's `restartPolicy`, waiting longer each
#   time (**back-off** 10 s, 20 s, 40 s … capped at 5 minutes);
# - **probes** decide whether a container is *live* (else restart it) and *ready* (else take the
#   pod out of service); the pod's **phase** and **conditions** summarise it all.
#
# **Prerequisites:** chapter 4 (containers). **Where the code lives:** `fromscratch/runtime/` —
# `pod.py` (the sync loop), `runtimes.py` (the three `PodRuntime`s), `sandbox_isolated.py` (pause + namespaces),
# `sandbox.py` (plain processes), `sandbox_sim.py` + `simscript.py` (simulated), `restart.py`,
# `probes.py`, `hooks.py`, `status.py` and `clock.py`.

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# The same Pod code runs on three **runtimes** — only the *sandbox* differs:
#
# | runtime | containers are | needs |
# |---|---|---|
# | `isolated` | real containers (chapter 4) around a pause process | root |
# | `process` | plain child processes, no isolation | nothing |
# | `simulated` | interpreted programs on a virtual clock | nothing |
#
# `default_runtime()` picks the best one this host allows.

# %%
import socket

from fromscratch.runtime.runtimes import SimRuntime, default_runtime

runtime = default_runtime(MODE)
print("runtime:", runtime.name)


def free_port() -> int:
    """A free TCP port (the process runtime shares the host's loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = str(free_port())

# %% [markdown]
# ## 1. Two containers talking over `localhost`
#
# A web server and a client in one pod. The client reaches the server at `localhost` because
# both joined the pause process's network namespace. (`$(PORT)` is expanded by the kubelet from
# the container's `env`, as Kubernetes does in `command` and `args`.)

# %%
env = [{"name": "PORT", "value": PORT}]
web_pod = {
    "metadata": {"name": "web"},
    "spec": {"containers": [
        {"name": "server", "image": "busybox", "env": env,
         "command": ["httpd", "-f", "-p", "$(PORT)", "-h", "/etc"]},
        {"name": "client", "image": "busybox", "env": env,
         "command": ["sh", "-c", "sleep 1; wget -q -O - http://localhost:$(PORT)/hostname; sleep 600"]},
    ]},
}
pod = runtime.run_pod(web_pod)
pod.run_until(lambda p: p.logs("client") != "", timeout=10)
print("the client fetched /etc/hostname from the server:", pod.logs("client").strip())
print("phase:", pod.phase)

# %% [markdown]
# In the isolated runtime, look at the namespaces: `net`, `ipc` and `uts` are the pause
# process's, the mount and PID namespaces are each container's own.

# %%
from fromscratch.linux import proc

if runtime.name == "isolated":
    pids = pod.sandbox.pids()
    print(f"{'process':<8}" + "".join(f"{k:>12}" for k in ("net", "ipc", "uts", "mnt", "pid")))
    for name, pid in pids.items():
        ids = proc.namespace_ids(pid)
        print(f"{name:<8}" + "".join(f"{ids[k]:>12}" for k in ("net", "ipc", "uts", "mnt", "pid")))
else:
    print(f"the {runtime.name} runtime has no namespaces to show")
pod.terminate(grace=1)

# %% [markdown]
# ## 2. A sidecar reading what the main container writes
#
# An `emptyDir` volume lives as long as the pod, and both containers mount it at `/data`. The
# main container appends a line every second; the sidecar (think of a log shipper) reads it.

# %%
sidecar_pod = {
    "metadata": {"name": "logging"},
    "spec": {
        "volumes": [{"name": "logs", "emptyDir": {}}],
        "containers": [
            {"name": "main", "image": "busybox", "volumeMounts": [{"name": "logs", "mountPath": "/data"}],
             "command": ["sh", "-c", "while true; do date >> /data/app.log; sleep 1; done"]},
            {"name": "shipper", "image": "busybox", "volumeMounts": [{"name": "logs", "mountPath": "/data"}],
             "command": ["sh", "-c", "sleep 3; echo shipping:; cat /data/app.log; sleep 600"]},
        ]},
}
pod = runtime.run_pod(sidecar_pod)
pod.run_until(lambda p: "shipping" in p.logs("shipper") and len(p.logs("shipper").split()) > 3, timeout=10)
print(pod.logs("shipper"))
pod.terminate(grace=1)

# %% [markdown]
# ## 3. Init containers, then the app
#
# Init containers run **in order, each to successful completion**, before any app container
# starts; until then the pod is `Pending` and its `Initialized` condition is `False`.

# %%
init_pod = {
    "metadata": {"name": "init-demo"},
    "spec": {
        "volumes": [{"name": "work", "emptyDir": {}}],
        "initContainers": [
            {"name": "fetch", "image": "busybox", "volumeMounts": [{"name": "work", "mountPath": "/work"}],
             "command": ["sh", "-c", "sleep 1; echo config fetched > /work/config"]},
            {"name": "migrate", "image": "busybox", "volumeMounts": [{"name": "work", "mountPath": "/work"}],
             "command": ["sh", "-c", "sleep 1; echo schema migrated >> /work/config"]},
        ],
        "containers": [
            {"name": "app", "image": "busybox", "volumeMounts": [{"name": "work", "mountPath": "/work"}],
             "command": ["sh", "-c", "cat /work/config; sleep 600"]},
        ]},
}
pod = runtime.run_pod(init_pod)
pod.sync()
print("at once:   ", pod.phase, {c["type"]: c["status"] for c in pod.status()["conditions"]})
pod.run_until(lambda p: p.logs("app") != "", timeout=15)
print("later:     ", pod.phase, {c["type"]: c["status"] for c in pod.status()["conditions"]})
print("app saw:   ", pod.logs("app").strip().splitlines())
print("started:   ", [(round(e["time"], 1), e["container"]) for e in pod.events if e["reason"] == "Started"])
pod.terminate(grace=1)

# %% [markdown]
# ## 4. A crashing container and the back-off
#
# A container that exits is restarted (policy `Always`), but each time a little later: 10 s,
# 20 s, 40 s, … capped at 300 s, and reset once it has run for 10 minutes. Watching that for
# real takes half an hour, so we run the *same Pod code* on the simulated runtime, whose clock
# is virtual: 30 minutes pass in a fraction of a second.

# %%
import matplotlib.pyplot as plt

crash_pod = {"metadata": {"name": "crasher"},
             "spec": {"containers": [{"name": "app", "image": "busybox",
                                      "command": ["sh", "-c", "sleep 5; exit 1"]}]}}
sim = SimRuntime()
pod = sim.run_pod(crash_pod)
pod.run_for(1800)
starts = [e["time"] for e in pod.events if e["reason"] == "Started"]
delays = [e["message"] for e in pod.events if e["reason"] == "BackOff"]
print("restarts:", pod.run_of("app").restart_count)
print(delays[:7])

fig, ax = plt.subplots(figsize=(9, 1.8))
ax.broken_barh([(t, 5) for t in starts], (0, 1), color="#1b7f3b", label="running")
for before, after in zip(starts, starts[1:], strict=False):
    ax.annotate(f"{after - before - 5:.0f}s", ((before + after) / 2, 1.15), ha="center", fontsize=8)
ax.set_yticks([])
ax.set_xlabel("seconds since the pod started (virtual time)")
ax.set_title("CrashLoopBackOff: the waits double, then stay at 300 s")
ax.set_ylim(0, 1.5)
plt.show()

# %% [markdown]
# While it waits, the container is `waiting` with reason `CrashLoopBackOff` — the status
# `kubectl get pods` shows — and its last run is kept in `lastState`:

# %%
status = pod.status()["containerStatuses"][0]
print(status["state"])
print(status["lastState"])

# %% [markdown]
# ## 5. Probes flipping Ready
#
# A **readiness** probe runs every `periodSeconds`; after `failureThreshold` failures in a row
# the container is not ready, after `successThreshold` successes it is ready again. Here the
# container makes itself ready after 2 s and unready after 5 s (it removes the file the probe
# looks for). We sample the pod's `Ready` condition as it runs — on the real runtime this takes
# about 8 s.

# %%
ready_pod = {"metadata": {"name": "ready"},
             "spec": {"volumes": [{"name": "state", "emptyDir": {}}], "containers": [{
                 "name": "app", "image": "busybox", "volumeMounts": [{"name": "state", "mountPath": "/state"}],
                 "command": ["sh", "-c", "sleep 2; touch /state/ready; sleep 3; rm /state/ready; sleep 600"],
                 "readinessProbe": {"exec": {"command": ["cat", "/state/ready"]},
                                    "periodSeconds": 1, "failureThreshold": 1}}]}}
pod = runtime.run_pod(ready_pod)
samples = []
start = pod.clock.now()
while pod.clock.now() - start < 8:
    pod.run_for(0.25)
    samples.append((pod.clock.now() - start, pod.condition("Ready")))
    print(f"\r{samples[-1][0]:4.1f}s of 8  Ready={samples[-1][1]!s:<5}", end="")
print()
pod.terminate(grace=1)
fig, ax = plt.subplots(figsize=(7, 1.8))
ax.step([t for t, _ in samples], [int(r) for _, r in samples], where="post")
ax.set_yticks([0, 1], ["not ready", "Ready"])
ax.set_xlabel("seconds")
ax.set_title(f"readiness probe on the {runtime.name} runtime")
plt.show()

# %% [markdown]
# A **liveness** probe that fails restarts the container. This is the example from the
# Kubernetes documentation (*Configure Liveness, Readiness and Startup Probes*): healthy for
# 30 s, then not. Virtual time again. Note the kill: `sh` as PID 1 ignores SIGTERM, so the
# kubelet waits out the grace period (10 s here) and sends SIGKILL — exit code 137.

# %%
liveness_pod = {"metadata": {"name": "liveness-exec"},
                "spec": {"terminationGracePeriodSeconds": 10, "containers": [{
                    "name": "liveness", "image": "busybox",
                    "command": ["sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"],
                    "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]},
                                      "initialDelaySeconds": 5, "periodSeconds": 5}}]}}
pod = SimRuntime().run_pod(liveness_pod)
pod.run_for(75)
for event in pod.events:
    print(f"{event['time']:>6.1f}s  {event['type']:<8} {event['reason']:<10} {event['message']}")
print(pod.status()["containerStatuses"][0]["lastState"])

# %% [markdown]
# ## 6. Sharing the process namespace, and the host's namespaces
#
# With `shareProcessNamespace: true` the containers also join the pause's PID namespace: they
# see each other's processes, and the pause is PID 1 (it reaps orphans; ours is a forked Python
# process, hence its command line — Kubernetes' is a tiny C program). `hostNetwork`,
# `hostPID` and `hostIPC` go the other way: no namespace of that kind for the pod at all.

# %%
shared_pod = {"metadata": {"name": "shared"},
              "spec": {"shareProcessNamespace": True, "containers": [
                  {"name": "app", "image": "busybox", "command": ["sleep", "600"]},
                  {"name": "debug", "image": "busybox", "command": ["sh", "-c", "sleep 1; ps; sleep 600"]}]}}
if runtime.name == "isolated":
    pod = runtime.run_pod(shared_pod)
    pod.run_until(lambda p: "PID" in p.logs("debug"), timeout=10)
    print(pod.logs("debug"))
    pod.terminate(grace=1)
else:
    print(f"the {runtime.name} runtime has no PID namespaces to share")

# %% [markdown]
# ## Summary
#
# - A pod is a **sandbox** (the pause process and its namespaces) plus containers that **join**
#   it; restarting a container does not touch the sandbox, so the pod keeps its network.
# - The kubelet's **sync loop** observes exits, runs init containers in order, starts and
#   restarts containers with **back-off**, runs **probes** and recomputes **phase** and
#   **conditions**; all waiting goes through a replaceable **clock**.
# - The same logic runs on real containers, plain processes or a simulation.
#
# ## Going further
#
# - Kubernetes docs: *Pod Lifecycle* (phases, conditions, restart policy, back-off), *Init
#   Containers*, *Sidecar Containers*, *Configure Liveness, Readiness and Startup Probes*,
#   *Container Lifecycle Hooks*, *Share Process Namespace between Containers in a Pod*.
# - Kubelet source: `pkg/kubelet/kuberuntime/kuberuntime_manager.go` (`SyncPod`,
#   `computePodActions`), `pkg/kubelet/prober/worker.go`, `getPhase` in `kubelet_pods.go`,
#   and the pause container: `build/pause/linux/pause.c`.
#
# **Next:** the API server chapter, where pods become objects that a kubelet watches.

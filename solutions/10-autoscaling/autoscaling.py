# %% [markdown]
# # Chapter 10 — The Horizontal Pod Autoscaler: scaling real processes on real CPU measurements
#
# A Deployment runs a fixed number of Pods. A **HorizontalPodAutoscaler** (HPA) changes that
# number for you: it is a controller that wakes up periodically (every 15 s in current
# Kubernetes), compares the average utilisation of the target's Pods with a target, and sets
# the target's replicas through its `scale` subresource. In this chapter we build it and watch it
# work on **real processes, run by the kubelets of the course's embedded cluster**:
#
# 1. the formula, `desired = ceil(current × currentUtilisation / target)`, and why it needs a
#    tolerance and careful handling of Pods that are missing metrics or not ready;
# 2. a Deployment of CPU-burning processes in the embedded cluster, a load generator, a
#    metrics-server that scrapes the kubelets and serves the metrics API that `kubectl top`
#    reads, and our HPA controller scaling it up — then, after the load is gone,
#    holding the replicas for the *stabilization window* before scaling down;
# 3. the warning from the seed notes, demonstrated: **no requests, no autoscaling**;
# 4. the same controller in **virtual time**: an hour of autoscaling in a fraction of a second,
#    with different `behavior` settings side by side.
#
# **Prerequisites:** chapter 2 (cgroups and usage sampling), chapter 5 (Pods and the kubelet's
# runtimes), chapter 6 (the API server) and the controllers chapter (informer → workqueue →
# `reconcile`).
# **Where the code lives:** `fromscratch/autoscaling/` — `replicas.py` (the replica calculator),
# `behavior.py` and `normalize.py` (policies and stabilization), `conditions.py`,
# `autoscaler.py` (one sync), `controller.py`, `metrics.py`, `metrics_api.py`,
# `metrics_server.py` (metrics-server), `simulation.py`, `burner.py` (what the Pods run),
# `load.py` (the load generator) and `addon.py` (all of it added to a `Cluster`).

# %%
from fromscratch import host

MODE = host.show_mode()

# %% [markdown]
# ## 1. The formula, with upstream's own numbers
#
# The Kubernetes documentation gives the algorithm in one line:
#
# $$\text{desiredReplicas} = \left\lceil \text{currentReplicas} \times
# \frac{\text{currentMetricValue}}{\text{desiredMetricValue}} \right\rceil$$
#
# For CPU *utilisation* the metric is a percentage **of the Pods' CPU requests**: the sum of
# the Pods' usage divided by the sum of their requests. Kubernetes' own tests
# (`replica_calculator_test.go`) use three Pods requesting 1 CPU each and using 300m, 500m
# and 700m, with a 30 % target:

# %%
from fromscratch.autoscaling.replicas import PodSample, desired_replicas, replicas_from_samples, utilization_ratio

usage = {"a": 300, "b": 500, "c": 700}  # millicores
requests = {"a": 1000, "b": 1000, "c": 1000}
ratio, utilization, average = utilization_ratio(usage, requests, target_utilization=30)
print(f"utilisation {utilization} % of request, ratio to the 30 % target = {ratio:.3f}")
print("desired replicas:", desired_replicas(3, ratio))

# %% [markdown]
# Two refinements make the formula safe to run every 15 seconds:
#
# - a **tolerance** of 0.1: if the ratio is within 10 % of 1.0, nothing changes (otherwise
#   noise would make the Deployment twitch);
# - Pods that cannot be measured fairly are **set aside**, then put back in the direction that
#   *dampens* the change: a Pod without metrics counts as using 100 % of its request on a
#   scale-down and 0 % on a scale-up; a Pod that is not ready yet counts as 0 % on a
#   scale-up. If that would *reverse* the direction, the HPA does nothing.
#
# The same three Pods with the first one not ready: only 500m and 700m are measured (60 %,
# ratio 2.0), but the unready Pod is put back at 0 % before deciding:

# %%
samples = [PodSample("a", "unready", 1000), PodSample("b", "ready", 1000, 500),
           PodSample("c", "ready", 1000, 700)]
print("with the first Pod unready:", replicas_from_samples(samples, 3, 30), "(not 6)")
print("tolerance: ratio 1.05 ->", desired_replicas(4, 1.05), "  ratio 0.5 ->", desired_replicas(4, 0.5))

# %% [markdown]
# A picture of the rule: for four Pods, the desired count against the measured ratio.
# The flat band around 1.0 is the tolerance.

# %%
import matplotlib.pyplot as plt

ratios = [r / 100 for r in range(10, 251)]
fig, ax = plt.subplots(figsize=(7, 3))
ax.step(ratios, [desired_replicas(4, r) for r in ratios], where="post")
ax.axvspan(0.9, 1.1, alpha=0.15, label="tolerance (±0.1)")
ax.set_xlabel("current / target"), ax.set_ylabel("desired replicas (from 4)"), ax.legend()
plt.show()

# %% [markdown]
# ## 2. Real processes in a real cluster, our controller
#
# Now the whole loop, for real, on the course's **embedded cluster**: the API server, the
# controllers, the scheduler and two kubelets, all started by `Cluster` inside this notebook.
# The pieces, each one a module of `fromscratch`:
#
# | piece | plays the role of | here |
# |---|---|---|
# | `Cluster` | kube-apiserver, kube-controller-manager, kube-scheduler | chapters 6–8, wired as in a kubeadm cluster |
# | `Kubelet` ×2, *process* runtime | the kubelet and its container runtime | runs each Pod's container as a child process, reports it Ready, and serves `/stats/summary` from the processes' own CPU accounting |
# | `MetricsServer` | metrics-server | scrapes every kubelet's `/stats/summary` each second, turns the cumulative CPU counters into rates, serves `metrics.k8s.io` |
# | `HorizontalPodAutoscalerController` | the HPA controller in kube-controller-manager | reads the HPA, the `scale` subresource and the metrics API; writes scale, status and Events |
# | `LoadGenerator` | your users, and a Service | sends requests, each costing 10 ms of CPU, round-robin to the Ready Pods |
#
# Each Pod runs `python -m fromscratch.autoscaling.burner`: a small UDP server on 127.0.0.1 that
# burns 10 ms of CPU per request and keeps at most 400 ms of work queued (beyond that it drops
# requests, so CPU falls the moment the load goes). We use the **process** runtime because the
# burner needs a Python, and the isolated runtime's busybox image has none; it works the same
# as root or not. Our cluster has no Service proxy, so each burner writes the port it got into a
# file named after its Pod, in a `hostPath` directory the load generator reads.
#
# `Autoscaling` adds metrics-server and the HPA controller to the running cluster. To see things
# happen in seconds rather than minutes, the HPA runs every second (instead of every 15 s) and we
# will set a 5 s scale-down stabilization window (instead of 300 s).

# %%
import json
import time

from fromscratch.autoscaling.addon import Autoscaling
from fromscratch.autoscaling.behavior import DEFAULT_BEHAVIOR, Behavior, ScalingPolicy, ScalingRules, behavior_to_spec
from fromscratch.autoscaling.objects import burner_deployment, hpa_manifest
from fromscratch.cluster import Cluster

cluster = Cluster(nodes=2, runtime="process").start()
autoscaling = Autoscaling(cluster, sync_period=1.0, resolution=1.0).start()
print(cluster.kubectl("get", "nodes"))

# %% [markdown]
# A Deployment of one CPU-burning Pod that **requests 100m** of CPU. Its container, as the
# kubelet will run it:

# %%
web = burner_deployment("web", cpu_request="100m", port_dir=autoscaling.port_dir)
print(json.dumps(web["spec"]["template"]["spec"]["containers"][0], indent=1))
print(cluster.apply(json.dumps(web)))
cluster.wait_for(lambda: len(cluster.ready_pods("default", "app=web")) == 1, timeout=30)
print(cluster.kubectl("get", "pods", "-o", "wide"))

# %% [markdown]
# Now the seed notes' command, `kubectl autoscale`, against our cluster: keep average CPU at
# **50 % of the request**, between 1 and 5 replicas. Then we shorten the HPA's scale-down window
# to 5 s with a patch of `spec.behavior`.

# %%
print(cluster.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5"))
SHORT_WINDOW = Behavior(DEFAULT_BEHAVIOR.scale_up, ScalingRules(5, (ScalingPolicy("Percent", 100, 15),)))
print(cluster.kubectl("patch", "hpa", "web", "--type=merge",
                      "-p", json.dumps({"spec": {"behavior": behavior_to_spec(SHORT_WINDOW)}})))

# %% [markdown]
# The load generator sends `rate` requests per second, each costing 10 ms of CPU: 25 requests/s
# is 250m of demand in total, so the HPA should want `ceil(250 / 50) = 5` Pods. The slider
# changes the rate while the generator runs (move it after running the cells below if you like;
# the recorded run below uses a fixed script so that it behaves the same every time).

# %%
import ipywidgets as widgets

load = autoscaling.load("app=web", rate=0, cost_ms=10)
slider = widgets.IntSlider(value=0, min=0, max=60, description="requests/s")
slider.observe(lambda change: setattr(load, "rate", change["new"]), names="value")
slider

# %% [markdown]
# Now a scripted run: 8 s of load, then none. Every half second we record the demand, the
# utilisation the HPA computed from the metrics API, the replicas it wants and the Pods that
# are Ready; the plot below redraws itself as the run goes (a live view of the HPA's status).

# %%
from IPython.display import display

from fromscratch.autoscaling.controller import HPAS
from fromscratch.controllers.client import ResourceClient

hpas = ResourceClient(cluster.api, HPAS)


def plot_timeline(timeline: list):
    """Demand and utilisation on top, desired replicas and ready Pods below."""
    t, demand, util, desired, ready = zip(*timeline, strict=True)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.5), sharex=True)
    top.plot(t, demand, label="demand (millicores)")
    top.plot(t, [u if u is not None else float("nan") for u in util], label="utilisation (% of request)")
    top.axhline(50, linestyle=":", color="grey", label="target 50 %")
    top.legend(loc="upper right")
    bottom.step(t, [d or 0 for d in desired], where="post", label="desired replicas")
    bottom.step(t, ready, where="post", label="ready Pods")
    bottom.set_xlabel("seconds"), bottom.set_ylim(0, 6), bottom.legend(loc="upper right")
    plt.close(fig)  # shown through the live display, not again at the end of the cell
    return fig


def observe(seconds: float, timeline: list, started: float, live) -> None:
    for step in range(int(seconds / 0.5)):
        time.sleep(0.5)
        hpa = hpas.get("default", "web")
        metrics = hpa["status"].get("currentMetrics") or [{}]
        current = metrics[0].get("resource", {}).get("current", {})
        timeline.append((time.monotonic() - started, load.demand_millicores,
                         current.get("averageUtilization"), hpa["status"].get("desiredReplicas"),
                         len(cluster.ready_pods("default", "app=web"))))
        if step % 2:
            live.update(plot_timeline(timeline))


timeline: list = []
started = time.monotonic()
live = display(display_id=True)
slider.value = 25  # 250m of demand (sets load.rate through the slider's observer)
observe(8, timeline, started, live)
print(f"after 8 s of load: {timeline[-1][4]} ready Pods, utilisation {timeline[-1][2]} %")

# %% [markdown]
# While the load runs, `kubectl` sees what the HPA sees: `kubectl top pods` reads the
# `metrics.k8s.io` API our metrics-server fills, `kubectl get hpa` the HPA's status, and
# `-o wide` shows the scheduler spread the new Pods over both nodes.

# %%
print(cluster.kubectl("top", "pods"))
print(cluster.kubectl("get", "hpa"))
print(cluster.kubectl("get", "pods", "-o", "wide"))

# %% [markdown]
# Where those numbers come from: each kubelet's **Summary API**. metrics-server finds the
# kubelet from the Node object (its `InternalIP` and `daemonEndpoints.kubeletEndpoint.Port`)
# and reads a cumulative counter, `usageCoreNanoSeconds` — CPU time used since the container
# started; the difference between two readings divided by the time between them is the rate.
# The kubelet also reports a rate of its own, `usageNanoCores`, over its last two samples.
# Our kubelet's `time` stamps are whole seconds (a `metav1.Time`), too coarse to time a 1 s
# window, so at this resolution our metrics-server uses `usageNanoCores`, as metrics-server
# did in its Summary-API days; with finer stamps it takes the rate of the counter itself.

# %%
from fromscratch.autoscaling.metrics_server import fetch_summary, kubelet_summary_url
from fromscratch.controllers.client import NODES

node = ResourceClient(cluster.api, NODES).get("", "node-1")
print(kubelet_summary_url(node))
for pod in fetch_summary(kubelet_summary_url(node), timeout=5)["pods"]:
    print(pod["podRef"]["name"], json.dumps(pod["containers"][0]["cpu"]))

# %% [markdown]
# Now the load goes away. Utilisation drops to zero at once, but the replicas stay for the
# **stabilization window** (5 s here, 300 s by default): the HPA scales down only to the
# *highest* recommendation it made during the window, so a short lull does not throw away
# capacity that will be needed again a moment later.

# %%
slider.value = 0
live = display(display_id=True)
observe(9, timeline, started, live)
print(cluster.kubectl("describe", "hpa", "web"))

# %% [markdown]
# The whole run in one picture: demand, measured utilisation and replicas.

# %%
plot_timeline(timeline)

# %% [markdown]
# ## 3. No requests, no autoscaling
#
# Utilisation is a percentage *of the request*. A Deployment whose containers request no CPU
# gives the HPA nothing to divide by; it refuses to guess, and its `ScalingActive` condition
# says why.

# %%
cluster.apply(json.dumps(burner_deployment("norequests", cpu_request=None, port_dir=autoscaling.port_dir)))
print(cluster.kubectl("autoscale", "deployment", "norequests", "--cpu-percent=50", "--max=5"))
condition = None
for _ in range(60):  # until the Pod has been measured (metrics need two scrapes)
    time.sleep(0.25)
    conditions = hpas.get("default", "norequests").get("status", {}).get("conditions") or []
    condition = next((c for c in conditions if c["type"] == "ScalingActive"), None)
    if condition and "missing request" in condition["message"]:
        break
print(condition["status"], condition["reason"])
print(condition["message"])

# %% [markdown]
# Everything we started stops here: the load generator, metrics-server and the HPA controller,
# then the cluster — its kubelets end their Pods' processes on the way out.

# %%
autoscaling.stop()
cluster.stop()
print(cluster)

# %% [markdown]
# ## 4. An hour in virtual time: `behavior`, side by side
#
# The controller's decision (`HorizontalAutoscaler.decide`) does not care where time comes
# from. `Simulation` gives it a virtual clock, a Deployment whose Pods take 20 s to become
# ready, and a **load model**: 40m of demand, a spike to 800m for 20 minutes, then 40m again
# (each Pod requests 100m; target 50 %). Four `behavior` settings:
#
# - **default**: scale up by 100 % or 4 Pods per 15 s, whichever is more; scale down after a
#   300 s window;
# - **no window**: scale down as soon as the load drops;
# - **slow up**: at most 1 Pod per minute up;
# - **never down**: `selectPolicy: Disabled` for scale-down.

# %%
from fromscratch.autoscaling.metrics import LoadModel
from fromscratch.autoscaling.simulation import Simulation

spike = LoadModel.steps((0, 40), (600, 800), (1800, 40))
settings = {
    "default": DEFAULT_BEHAVIOR,
    "no window": Behavior(DEFAULT_BEHAVIOR.scale_up, ScalingRules(0, DEFAULT_BEHAVIOR.scale_down.policies)),
    "slow up": Behavior(ScalingRules(0, (ScalingPolicy("Pods", 1, 60),)), DEFAULT_BEHAVIOR.scale_down),
    "never down": Behavior(DEFAULT_BEHAVIOR.scale_up, ScalingRules(300, DEFAULT_BEHAVIOR.scale_down.policies,
                                                                   "Disabled")),
}
runs = {}
started = time.perf_counter()
for name, behavior in settings.items():
    sim = Simulation(hpa_manifest("web", cpu_percent=50, max_replicas=20, behavior=behavior), spike)
    runs[name] = sim.run(3600)
print(f"4 simulated hours in {time.perf_counter() - started:.2f} s of real time")

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True, sharey=True)
for ax, (name, samples) in zip(axes.flat, runs.items(), strict=True):
    minutes = [s.t / 60 for s in samples]
    ax.step(minutes, [s.recommended or 0 for s in samples], where="post", alpha=0.5,
            label="metrics recommend")
    ax.step(minutes, [s.desired for s in samples], where="post", label="replicas set")
    ax.set_title(name)
axes[0][0].legend(loc="upper right")
for ax in axes[1]:
    ax.set_xlabel("minutes")
plt.tight_layout()
plt.show()

# %% [markdown]
# Things to notice: the default scales up in a few steps (1 → 5 → 10 → 16) because each 15 s
# period allows at most doubling or +4; it waits 5 minutes after the spike before scaling
# down. "no window" drops immediately. "slow up" spends a quarter of an hour under-provisioned.
# "never down" keeps the 16 replicas forever.
#
# ## Summary
#
# - The HPA is an ordinary controller: every sync period it reads the target's `scale`, the
#   Pods and their metrics, computes `ceil(current × ratio)`, and writes `scale` and `status`.
# - Utilisation is relative to **requests**: without them the HPA cannot act, and says so in
#   `ScalingActive`.
# - The **tolerance**, the treatment of **missing and unready Pods**, the **stabilization
#   windows** and the **policies** all exist to stop the replica count from oscillating.
# - Because the decision is separate from the I/O, the same code runs against an API server in
#   real time and in a simulation in virtual time.
#
# **Going further:** the documentation page "Horizontal Pod Autoscaling" (section "Algorithm
# details" and "Configurable scaling behavior"); the controller's source,
# `pkg/controller/podautoscaler/horizontal.go` and `replica_calculator.go` in
# kubernetes/kubernetes; metrics-server (kubernetes-sigs/metrics-server) for the metrics API;
# the Vertical Pod Autoscaler and KEDA for other ways to scale.
#
# **Try it with real containers:** as root, `Cluster(runtime="isolated")` runs each Pod as an
# OCI container in its own cgroup, and the kubelet reads its CPU from the cgroup. The burner
# needs a Python the busybox image does not have, so use `spinner_deployment("spin",
# switch_dir=...)` from `fromscratch.autoscaling.objects` instead: busybox containers that
# spin up to their CPU limit while the file `<switch_dir>/on` exists. Touch the file, watch
# `kubectl top pods` stop at the limit the CFS quota enforces and the HPA scale up; remove it
# and watch it scale down after the window.
#
# **Next:** the exercises in this folder — you write the replica calculator, the missing-Pod
# adjustments, stabilization, the policies and the choice between several metrics.

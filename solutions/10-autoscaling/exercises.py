# %% [markdown]
# # Exercises 10 — The Horizontal Pod Autoscaler's decisions
#
# Every 15 seconds the HPA controller turns metrics into a replica count. In these exercises
# you write the five decisions it makes, each one a function the library calls — once your
# version works, it is plugged into a simulated Deployment and you watch it scale:
#
# 1. the formula with its **tolerance**;
# 2. the adjustments for **missing metrics and Pods that are not ready**;
# 3. **stabilization** over a window of recent recommendations;
# 4. the **scaling policies** (the documentation's example: 80 → 10 with Pods: 4 and Percent: 10);
# 5. choosing between **several metrics**.
#
# **Read first:** the chapter notebook `autoscaling.ipynb` in this folder.
# **The reference** is in `fromscratch/autoscaling/` (`replicas.py`, `behavior.py`,
# `autoscaler.py`) — try the exercises before reading it. The hidden tests include cases from
# Kubernetes' own `replica_calculator_test.go` and the documentation's examples.

# %%
import math

import pytest

from fromscratch import exercises, host

MODE = host.show_mode()

# %% [markdown]
# The demos after each exercise run this simulation: a Deployment whose Pods request 100m of CPU,
# an HPA with a 50 % target, and a load of 40m that jumps to 800m for 20 minutes — an hour of
# virtual time in a fraction of a second.

# %%
import matplotlib.pyplot as plt

from fromscratch.autoscaling.behavior import DEFAULT_BEHAVIOR
from fromscratch.autoscaling.metrics import LoadModel
from fromscratch.autoscaling.objects import hpa_manifest
from fromscratch.autoscaling.simulation import Simulation

SPIKE = LoadModel.steps((0, 40), (600, 800), (1800, 40))


def simulate(title: str, behavior=DEFAULT_BEHAVIOR, seconds: float = 3600):
    """Run an hour of the HPA against SPIKE and plot recommended and set replicas."""
    sim = Simulation(hpa_manifest("web", cpu_percent=50, max_replicas=20, behavior=behavior), SPIKE)
    samples = sim.run(seconds)
    minutes = [s.t / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(7, 2.5))
    ax.step(minutes, [s.recommended or 0 for s in samples], where="post", alpha=0.5, label="recommended")
    ax.step(minutes, [s.desired for s in samples], where="post", label="replicas")
    ax.set_title(title), ax.set_xlabel("minutes"), ax.legend(loc="upper right")
    plt.show()
    return samples


# %% [markdown]
# ## Exercise 1 — the formula and the tolerance (2 points)
#
# `usage_ratio` is the measured value divided by the target (2.0 means twice the target). The
# documentation's formula is `ceil(current × ratio)`, computed over the `ready_pods` the ratio
# was measured on (when `ready_pods` is None, over `current_replicas`). But if the ratio is
# within `tolerance` of 1.0 — that is, `abs(1.0 - usage_ratio) <= tolerance` — the HPA keeps
# `current_replicas`. A negative ratio is a bug upstream of you: raise `ValueError`.

# %% nbgrader={"grade_id": "ch10_desired_replicas", "solution": true}
def desired_replicas(current_replicas: int, usage_ratio: float, ready_pods: int | None = None,
                     tolerance: float = 0.1) -> int:
    """ceil(usage_ratio × ready_pods), or current_replicas within the tolerance."""
    ### BEGIN SOLUTION
    if usage_ratio < 0:
        raise ValueError(f"negative usage ratio {usage_ratio}")
    if abs(1.0 - usage_ratio) <= tolerance:
        return current_replicas
    pods = current_replicas if ready_pods is None else ready_pods
    return math.ceil(usage_ratio * pods)
    ### END SOLUTION


# %% [markdown]
# The test starts with upstream's first case (3 Pods at 50 % against a 30 % target: ratio 5/3
# → 5 replicas), then the tolerance: 1.05 is close enough to 1.0 to do nothing, 0.5 halves.

# %% nbgrader={"grade_id": "ch10_test_desired_replicas", "grade": true, "points": 2}
with exercises.checking(desired_replicas):
    assert desired_replicas(3, 50 / 30) == 5
    assert desired_replicas(4, 1.05) == 4
    assert desired_replicas(4, 0.5) == 2
    ### BEGIN HIDDEN TESTS
    assert desired_replicas(5, 28 / 50) == 3  # upstream ScaleDown: ceil(2.8)
    assert desired_replicas(4, 0.95) == 4
    assert desired_replicas(4, 0.9) == 4  # |1 - 0.9| is 0.0999... in floating point
    assert desired_replicas(1, 1.24) == 2  # ceil, not round
    assert desired_replicas(10, 0.5, ready_pods=6) == 3
    assert desired_replicas(10, 2.0, ready_pods=0) == 0
    assert desired_replicas(4, 1.3, tolerance=0.5) == 4
    assert desired_replicas(4, 1.3, tolerance=0.0) == 6
    with pytest.raises(ValueError):
        desired_replicas(3, -0.5)
    ### END HIDDEN TESTS

# %% [markdown]
# Your formula, driving an hour of autoscaling (without stabilization and policies it would
# follow the recommendation exactly; the defaults smooth it — see exercises 3 and 4).

# %%
with exercises.using(desired_replicas) as plugged:
    samples = simulate("your desired_replicas")
    print("calls to your desired_replicas:", plugged.calls_to_learner,
          "| peak replicas:", max(s.desired for s in samples))

# %% [markdown]
# ## Exercise 2 — missing metrics and Pods that are not ready (4 points)
#
# The library has already sorted the target's Pods into `PodSample`s:
# `PodSample(name, state, request, usage)` with `state` one of `"ready"` (measured; `usage` in
# millicores), `"unready"` (not ready yet: its metric must not be trusted), `"missing"` (no
# metric) or `"ignored"` (being deleted, or Failed: leave it out entirely). `request` is its
# CPU request in millicores.
#
# Write the HPA's calculation for a **Utilization** target (`replica_calculator.go`,
# `GetResourceReplicas`):
#
# 1. compute the ratio over the **ready** Pods with `utilization_ratio(usage, requests, target)`
#    (given below: it returns `(ratio, utilisation %, average)`, truncating the percentage
#    like Go). No ready Pod at all: raise `ReplicaCalculationError`;
# 2. if there are no missing Pods, and not (unready Pods and ratio > 1.0): that's
#    exercise 1's formula over the ready Pods — `desired_replicas(current, ratio, len(ready))`;
# 3. otherwise fill in the Pods you could not measure, in the direction that *dampens* the
#    change: on a scale-down (ratio < 1) a missing Pod uses `request × max(100, target) // 100`;
#    on a scale-up (ratio > 1) a missing Pod uses 0; on a scale-up an unready Pod uses 0
#    (on a scale-down, unready Pods stay out);
# 4. recompute the ratio over everything you now have. If it is within the tolerance, or
#    it **crossed 1.0** (the direction reversed), return `current_replicas`;
# 5. otherwise `ceil(new_ratio × number of Pods counted)` — unless that number moves the
#    other way than the ratio says (new ratio < 1 but more than current, or > 1 but fewer):
#    then `current_replicas`.

# %%
from fromscratch.autoscaling.replicas import PodSample, ReplicaCalculationError, utilization_ratio

print(utilization_ratio({"a": 100}, {"a": 300, "b": 300}, 50))  # b has no metric: not counted

# %% nbgrader={"grade_id": "ch10_replicas_from_samples", "solution": true}
def replicas_from_samples(samples: list[PodSample], current_replicas: int, target_utilization: int,
                          tolerance: float = 0.1) -> int:
    """Desired replicas for a Utilization target, with missing and unready Pods adjusted for."""
    ### BEGIN SOLUTION
    counted = [s for s in samples if s.state != "ignored"]
    requests = {s.name: s.request for s in counted}
    usage = {s.name: s.usage for s in counted if s.state == "ready"}
    missing = [s.name for s in counted if s.state == "missing"]
    unready = [s.name for s in counted if s.state == "unready"]
    if not usage:
        raise ReplicaCalculationError("no metrics for ready pods")
    ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return current_replicas
        return math.ceil(ratio * len(usage))
    for name in missing:
        if ratio < 1.0:
            usage[name] = requests[name] * max(100, target_utilization) // 100
        elif ratio > 1.0:
            usage[name] = 0
    if scale_up_with_unready:
        for name in unready:
            usage[name] = 0
    new_ratio, _, _ = utilization_ratio(usage, requests, target_utilization)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current_replicas
    new_replicas = math.ceil(new_ratio * len(usage))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (
            new_ratio > 1.0 and new_replicas < current_replicas):
        return current_replicas
    return new_replicas
    ### END SOLUTION


# %% [markdown]
# The visible test is upstream's `ScaleUp` case (all ready: 5), the same with the first Pod
# unready (4, not 6: the unready Pod counts as 0 %), and a scale-down where a missing Pod
# counts as using its whole request. Hidden tests cover the rest of upstream's table: failed and
# deleted Pods, scale-downs with unready Pods, direction reversal, targets above 100 %.

# %% nbgrader={"grade_id": "ch10_test_replicas_from_samples", "grade": true, "points": 4}
def ready(name, usage, request=1000):
    return PodSample(name, "ready", request, usage)


with exercises.checking(replicas_from_samples):
    assert replicas_from_samples([ready("a", 300), ready("b", 500), ready("c", 700)], 3, 30) == 5
    assert replicas_from_samples([PodSample("a", "unready", 1000), ready("b", 500),
                                  ready("c", 700)], 3, 30) == 4
    # TestReplicaCalcMissingMetrics: 4 Pods, 2 measured at 400m and 95m, 100 % target -> 3
    assert replicas_from_samples([ready("a", 400), ready("b", 95), PodSample("c", "missing", 1000),
                                  PodSample("d", "missing", 1000)], 4, 100) == 3
    ### BEGIN HIDDEN TESTS
    # ScaleDown: 5 Pods at 100/300/500/250/250m, 50 % target -> 3
    assert replicas_from_samples([ready(n, u) for n, u in zip("abcde", (100, 300, 500, 250, 250),
                                                              strict=True)], 5, 50) == 3
    # ScaleDownIgnoresUnreadyPods: the last two unready -> 2
    assert replicas_from_samples([ready("a", 100), ready("b", 300), ready("c", 500),
                                  PodSample("d", "unready", 1000), PodSample("e", "unready", 1000)],
                                 5, 50) == 2
    # ScaleUpUnreadyNoScale: one ready Pod at 400m, two unready -> no change
    assert replicas_from_samples([ready("a", 400), PodSample("b", "unready", 1000),
                                  PodSample("c", "unready", 1000)], 3, 30) == 3
    # ScaleUpIgnoresFailedPods / DeletionPods: ignored Pods count for nothing -> 4
    assert replicas_from_samples([ready("a", 500), ready("b", 700), PodSample("c", "ignored", 1000),
                                  PodSample("d", "ignored", 1000)], 2, 30) == 4
    # MissingMetricsNoChangeEq: exactly on target, one Pod missing -> 2
    assert replicas_from_samples([ready("a", 1000), PodSample("b", "missing", 1000)], 2, 100) == 2
    # scale-up pulled below 1.0 by missing Pods at 0 %: no change rather than a scale-down
    assert replicas_from_samples([ready("a", 1500), PodSample("b", "missing", 1000),
                                  PodSample("c", "missing", 1000)], 3, 100) == 3
    # target above 100 %: a missing Pod counts at the target, not at 100 %
    assert replicas_from_samples([ready(n, 10) for n in "abcd"] + [PodSample("e", "missing", 1000)],
                                 5, 150) == 1
    # within tolerance with no missing or unready Pods
    assert replicas_from_samples([ready("a", 1010, 900), ready("b", 1030), ready("c", 1020, 1100)],
                                 3, 100) == 3
    with pytest.raises(ReplicaCalculationError):
        replicas_from_samples([PodSample("a", "unready", 1000)], 1, 50)
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: new Pods take 20 s to become ready, so during the scale-up your function sees
# unready Pods at every sync.

# %%
with exercises.using(replicas_from_samples) as plugged:
    samples = simulate("your replicas_from_samples")
    print("calls to your replicas_from_samples:", plugged.calls_to_learner)

# %% [markdown]
# ## Exercise 3 — stabilization (3 points)
#
# The controller remembers every recommendation as `Recommendation(timestamp, replicas)`.
# Stabilization keeps the replica count from following every wiggle:
#
# - a **scale-down** goes no lower than the *highest* recommendation made in the last
#   `down_window` seconds (default 300);
# - a **scale-up** goes no higher than the *lowest* recommendation of the last `up_window`
#   seconds (default 0: no delay).
#
# A recommendation is in a window when `timestamp > now - window` (strictly). The new
# recommendation `desired_replicas` counts in both windows. Start from `current_replicas`, raise
# it to the lowest recent recommendation (up limit), then cap it at the highest (down limit).

# %%
from fromscratch.autoscaling.behavior import Recommendation

# %% nbgrader={"grade_id": "ch10_stabilized_recommendation", "solution": true}
def stabilized_recommendation(recommendations: list[Recommendation], now: float, current_replicas: int,
                              desired_replicas: int, up_window: float, down_window: float) -> int:
    """desired_replicas, held back by the recommendations inside the two windows."""
    ### BEGIN SOLUTION
    up_limit = down_limit = desired_replicas
    for rec in recommendations:
        if rec.timestamp > now - up_window:
            up_limit = min(up_limit, rec.replicas)
        if rec.timestamp > now - down_window:
            down_limit = max(down_limit, rec.replicas)
    return min(max(current_replicas, up_limit), down_limit)
    ### END SOLUTION


# %% [markdown]
# The test: 10 Pods, metrics now ask for 2, but 200 s ago they asked for 10: hold at 10. Once
# that recommendation leaves the 300 s window, the highest left (3) wins.

# %% nbgrader={"grade_id": "ch10_test_stabilized_recommendation", "grade": true, "points": 3}
with exercises.checking(stabilized_recommendation):
    recs = [Recommendation(-200, 10), Recommendation(-100, 3)]
    assert stabilized_recommendation(recs, 0.0, 10, 2, 0, 300) == 10
    assert stabilized_recommendation(recs, 101.0, 10, 2, 0, 300) == 3
    ### BEGIN HIDDEN TESTS
    assert stabilized_recommendation([], 0.0, 4, 9, 0, 300) == 9
    assert stabilized_recommendation([], 0.0, 4, 1, 0, 300) == 1
    # the scale-up window takes the lowest recent recommendation
    recs = [Recommendation(-50, 4), Recommendation(-20, 7)]
    assert stabilized_recommendation(recs, 0.0, 3, 9, 60, 300) == 4
    assert stabilized_recommendation(recs, 0.0, 5, 9, 60, 300) == 5
    # a recommendation exactly at the edge is outside the window
    assert stabilized_recommendation([Recommendation(-60, 4)], 0.0, 3, 9, 60, 0) == 9
    assert stabilized_recommendation([Recommendation(-300, 10)], 0.0, 10, 2, 0, 300) == 2
    # both windows at once: never below the highest, never above the lowest
    recs = [Recommendation(-10, 6), Recommendation(-5, 8)]
    assert stabilized_recommendation(recs, 0.0, 7, 7, 30, 30) == 7
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, with the default 300 s scale-down window: after the spike (minute 30) the
# replicas wait five minutes before following the recommendation down.

# %%
with exercises.using(stabilized_recommendation) as plugged:
    samples = simulate("your stabilized_recommendation")
    last_high = max(s.t for s in samples if s.recommended == 16)
    print("last high recommendation at", last_high, "s; first scale-down at",
          next(s.t for s in samples if s.t > last_high and s.desired < 16), "s")

# %% [markdown]
# ## Exercise 4 — scaling policies (4 points)
#
# A `ScalingRules` has `policies`, each a `ScalingPolicy(type, value, period_seconds)` with
# `type` `"Pods"` or `"Percent"`, and a `select_policy`: `"Max"`, `"Min"` or `"Disabled"`.
# Return the **most** replicas allowed right now when `direction == "up"`, the **fewest** when
# `"down"`:
#
# - `Disabled` → `current_replicas` (no change allowed in that direction);
# - for each policy, the replicas at the **start of its period**: `current_replicas` minus the
#   `change` of every `ScaleEvent(timestamp, change)` with `timestamp > now - period_seconds`
#   (`change` is + for scale-ups, − for scale-downs);
# - up: `start + value` (Pods) or `ceil(start × (1 + value/100))` (Percent);
#   down: `start - value` (Pods) or `int(start × (1 - value/100))` (Percent, truncated);
# - `Max` picks the policy allowing the **biggest change** (the highest limit up, the lowest
#   down), `Min` the smallest change.
#
# The documentation's example: scale down with `Pods: 4` and `Percent: 10`, both per 60 s.
# "If there are 80 replicas and the target has to be scaled down to 10 replicas then during the
# first step 8 replicas will be reduced … when the number of replicas falls below 40 the first
# policy (Pods) is applied and 4 replicas will be reduced at a time."

# %%
from fromscratch.autoscaling.behavior import ScaleEvent, ScalingPolicy, ScalingRules

DOCS_RULES = ScalingRules(0, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)))

# %% nbgrader={"grade_id": "ch10_scale_limit", "solution": true}
def scale_limit(current_replicas: int, rules: ScalingRules, direction: str, events: list[ScaleEvent],
                now: float) -> int:
    """The most ("up") or fewest ("down") replicas the policies allow now."""
    ### BEGIN SOLUTION
    if rules.select_policy == "Disabled":
        return current_replicas
    limits = []
    for policy in rules.policies:
        start = current_replicas - sum(e.change for e in events if e.timestamp > now - policy.period_seconds)
        if direction == "up":
            limits.append(start + policy.value if policy.type == "Pods"
                          else math.ceil(start * (1 + policy.value / 100)))
        else:
            limits.append(start - policy.value if policy.type == "Pods"
                          else int(start * (1 - policy.value / 100)))
    if not limits:
        return current_replicas
    biggest = rules.select_policy == "Max"
    if direction == "up":
        return max(limits) if biggest else min(limits)
    return min(limits) if biggest else max(limits)
    ### END SOLUTION


# %% [markdown]
# The test walks the documentation's example, one step per minute, recording each scale event
# as the controller does, and checks the whole path from 80 down to 10.

# %% nbgrader={"grade_id": "ch10_test_scale_limit", "grade": true, "points": 4}
def walk(limit_fn, rules, start, target, every, steps):
    replicas, events, seen, now = start, [], [start], 0.0
    for _ in range(steps):
        new = max(target, limit_fn(replicas, rules, "down", events, now))
        new = min(new, replicas)
        if new != replicas:
            events.append(ScaleEvent(now, new - replicas))
            replicas = new
            seen.append(new)
        now += every
    return seen


with exercises.checking(scale_limit):
    assert scale_limit(80, DOCS_RULES, "down", [], 0.0) == 72
    assert walk(scale_limit, DOCS_RULES, 80, 10, 60, 20) == [80, 72, 64, 57, 51, 45, 40, 36, 32,
                                                             28, 24, 20, 16, 12, 10]
    ### BEGIN HIDDEN TESTS
    # syncing every 15 s: changes made earlier in the period count, same pace per minute
    assert walk(scale_limit, DOCS_RULES, 80, 10, 15, 80) == [80, 72, 64, 57, 51, 45, 40, 36, 32,
                                                             28, 24, 20, 16, 12, 10]
    # Min: the smaller change
    slow = ScalingRules(0, DOCS_RULES.policies, "Min")
    assert scale_limit(80, slow, "down", [], 0.0) == 76
    assert scale_limit(20, slow, "down", [], 0.0) == 18
    # Disabled: nothing moves
    assert scale_limit(80, ScalingRules(0, DOCS_RULES.policies, "Disabled"), "down", [], 0.0) == 80
    assert scale_limit(3, ScalingRules(0, DOCS_RULES.policies, "Disabled"), "up", [], 0.0) == 3
    # the default scale-up: 100 % or 4 Pods per 15 s, whichever is more
    up = DEFAULT_BEHAVIOR.scale_up
    assert scale_limit(1, up, "up", [], 0.0) == 5
    assert scale_limit(10, up, "up", [], 0.0) == 20
    assert scale_limit(5, up, "up", [ScaleEvent(-5.0, 4)], 0.0) == 5
    assert scale_limit(5, up, "up", [ScaleEvent(-15.0, 4)], 0.0) == 10
    # Percent up rounds up, so one replica can grow by 10 %
    assert scale_limit(1, ScalingRules(0, (ScalingPolicy("Percent", 10, 60),)), "up", [], 0.0) == 2
    # a scale-down earlier in the period makes room for a scale-up
    assert scale_limit(6, ScalingRules(0, (ScalingPolicy("Pods", 2, 60),)), "up",
                       [ScaleEvent(-30.0, -4)], 0.0) == 12
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in: the default scale-up policies take the Deployment from 1 to 16 replicas in three
# steps (1 → 5 → 10 → 16), 15 s apart.

# %%
with exercises.using(scale_limit) as plugged:
    samples = simulate("your scale_limit")
    print("replica counts during the spike:", sorted({s.desired for s in samples if 600 <= s.t < 1800}))

# %% [markdown]
# ## Exercise 5 — several metrics (2 points)
#
# An HPA may list several metrics (CPU *and* memory, say). Each gives a `MetricProposal(metric,
# replicas, error)`: `replicas` is None when that metric could not be computed. The HPA:
#
# - takes the **largest** proposal (on a tie, the first one);
# - but returns **None** (do not scale) when every metric failed, or when some failed and the
#   largest valid proposal is *below* `spec_replicas` — a failed metric might have wanted more,
#   so a scale-down would be a guess.

# %%
from fromscratch.autoscaling.autoscaler import MetricProposal

# %% nbgrader={"grade_id": "ch10_replicas_for_metrics", "solution": true}
def replicas_for_metrics(proposals: list[MetricProposal], spec_replicas: int) -> MetricProposal | None:
    """The winning proposal, or None when the HPA must not act."""
    ### BEGIN SOLUTION
    valid = [p for p in proposals if p.replicas is not None]
    if not valid:
        return None
    best = valid[0]
    for proposal in valid[1:]:
        if proposal.replicas > best.replicas:
            best = proposal
    if len(valid) < len(proposals) and best.replicas < spec_replicas:
        return None
    return best
    ### END SOLUTION


# %% [markdown]
# The test: CPU wants 5, memory 9 → memory wins. Then a failed memory metric: a scale-up on
# CPU alone is fine, a scale-down is not.

# %% nbgrader={"grade_id": "ch10_test_replicas_for_metrics", "grade": true, "points": 2}
with exercises.checking(replicas_for_metrics):
    cpu, memory = MetricProposal("cpu", 5), MetricProposal("memory", 9)
    assert replicas_for_metrics([cpu, memory], 3) == memory
    failed = MetricProposal("memory", None, "no metrics")
    assert replicas_for_metrics([cpu, failed], 3) == cpu
    assert replicas_for_metrics([MetricProposal("cpu", 2), failed], 3) is None
    ### BEGIN HIDDEN TESTS
    assert replicas_for_metrics([failed], 3) is None
    assert replicas_for_metrics([], 3) is None
    assert replicas_for_metrics([MetricProposal("a", 4), MetricProposal("b", 4)], 3).metric == "a"
    assert replicas_for_metrics([MetricProposal("cpu", 3), failed], 3) == MetricProposal("cpu", 3)
    assert replicas_for_metrics([MetricProposal("cpu", 1)], 3) == MetricProposal("cpu", 1)
    assert replicas_for_metrics([failed, MetricProposal("cpu", 0)], 0) == MetricProposal("cpu", 0)
    ### END HIDDEN TESTS

# %% [markdown]
# Plugged in, with two metrics: CPU utilisation and a memory target no Pod reports (the
# simulation measures CPU only), so memory always fails. Your function lets the HPA scale
# *up* on CPU, but never down.

# %%
from fromscratch.autoscaling.objects import average_value_metric, cpu_utilization_metric

with exercises.using(replicas_for_metrics) as plugged:
    two = hpa_manifest("web", max_replicas=20, metrics=[cpu_utilization_metric(50),
                                                        average_value_metric("64Mi")])
    samples = Simulation(two, SPIKE).run(3600)
    print("replicas over the hour:", sorted({s.desired for s in samples}),
          "| at the end:", samples[-1].desired)
    print("calls to your replicas_for_metrics:", plugged.calls_to_learner)

# %% [markdown]
# ## Done
#
# You wrote the heart of the HPA: the formula and tolerance, the dampening adjustments for
# Pods that cannot be measured fairly, stabilization, the policies and the choice between
# metrics. The rest of `fromscratch/autoscaling/` is plumbing around them: reading the scale
# subresource and the metrics API, writing status and Events. Upstream, the same decisions live
# in `pkg/controller/podautoscaler/replica_calculator.go` and `horizontal.go`.

"""Scaling policies and stabilization windows, against the Kubernetes documentation's examples."""

from __future__ import annotations

import pytest

from fromscratch.autoscaling.behavior import (
    DEFAULT_BEHAVIOR,
    Behavior,
    BehaviorError,
    Recommendation,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    behavior_from_spec,
    scale_limit,
    stabilized_recommendation,
)
from fromscratch.autoscaling.normalize import ScaleHistory, normalize_legacy, normalize_with_behavior

# the documentation's example: scale down at most 4 Pods or 10 % per minute, whichever is more
DOCS_SCALE_DOWN = ScalingRules(0, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)))
DOCS_BEHAVIOR = Behavior(DEFAULT_BEHAVIOR.scale_up, DOCS_SCALE_DOWN)
DOCS_SEQUENCE = [80, 72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16, 12, 10]


def _walk(behavior: Behavior, start: int, desired: int, *, every: float, steps: int) -> list[int]:
    history, replicas, now, seen = ScaleHistory(), start, 0.0, [start]
    for _ in range(steps):
        new, _conds = normalize_with_behavior(history, behavior, now=now, current=replicas,
                                              desired=desired, min_replicas=1, max_replicas=100)
        if new != replicas:
            history.record_scale(behavior, now, replicas, new)
            replicas = new
            seen.append(new)
        now += every
    return seen


def test_docs_example_80_to_10_with_pods_4_and_percent_10():
    # "if there are 80 replicas and the target has to be scaled down to 10 replicas then during
    # the first step 8 replicas will be reduced ... when the number of replicas falls below 40
    # the first policy (Pods) is applied and 4 replicas will be reduced at a time"
    assert _walk(DOCS_BEHAVIOR, 80, 10, every=60, steps=20) == DOCS_SEQUENCE


def test_docs_example_same_pace_when_syncing_every_15_seconds():
    # the period counts the changes already made in it: one step per minute, not per sync
    seen = _walk(DOCS_BEHAVIOR, 80, 10, every=15, steps=4 * 20)
    assert seen == DOCS_SEQUENCE


def test_select_policy_min_takes_the_smallest_change():
    rules = ScalingRules(0, DOCS_SCALE_DOWN.policies, "Min")
    assert scale_limit(80, rules, "down", [], 0.0) == 76  # 4 Pods rather than 8
    assert scale_limit(20, rules, "down", [], 0.0) == 18  # 10 % (int(18.0)) rather than 4 Pods


def test_select_policy_disabled_forbids_the_direction():
    rules = ScalingRules(0, DOCS_SCALE_DOWN.policies, "Disabled")
    assert scale_limit(80, rules, "down", [], 0.0) == 80
    behavior = Behavior(DEFAULT_BEHAVIOR.scale_up, rules)
    assert _walk(behavior, 80, 10, every=60, steps=5) == [80]


def test_default_scale_up_is_4_pods_or_doubling_per_15_seconds():
    # defaults: Percent 100 and Pods 4 per 15 s, Max
    assert scale_limit(1, DEFAULT_BEHAVIOR.scale_up, "up", [], 0.0) == 5
    assert scale_limit(10, DEFAULT_BEHAVIOR.scale_up, "up", [], 0.0) == 20
    # a change already made in the period counts against it
    assert scale_limit(5, DEFAULT_BEHAVIOR.scale_up, "up", [ScaleEvent(-5.0, 4)], 0.0) == 5


def test_percent_scale_up_rounds_up_so_one_replica_can_grow():
    rules = ScalingRules(0, (ScalingPolicy("Percent", 10, 60),))
    assert scale_limit(1, rules, "up", [], 0.0) == 2  # ceil(1.1)


def test_defaults_are_the_documented_ones():
    assert DEFAULT_BEHAVIOR.scale_down.stabilization_window_seconds == 300
    assert DEFAULT_BEHAVIOR.scale_up.stabilization_window_seconds == 0
    assert DEFAULT_BEHAVIOR.scale_down.policies == (ScalingPolicy("Percent", 100, 15),)
    assert DEFAULT_BEHAVIOR.scale_up.policies == (ScalingPolicy("Percent", 100, 15),
                                                  ScalingPolicy("Pods", 4, 15))
    # a partial behavior gets the rest filled in from the defaults
    parsed = behavior_from_spec({"scaleDown": {"stabilizationWindowSeconds": 60}})
    assert parsed is not None and parsed.scale_up == DEFAULT_BEHAVIOR.scale_up
    assert parsed.scale_down == ScalingRules(60, DEFAULT_BEHAVIOR.scale_down.policies)
    assert behavior_from_spec(None) is None


@pytest.mark.parametrize("spec", [
    {"scaleUp": {"selectPolicy": "Fastest"}},
    {"scaleDown": {"stabilizationWindowSeconds": 4000}},
    {"scaleDown": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 60}]}},
    {"scaleDown": {"policies": [{"type": "Replicas", "value": 1, "periodSeconds": 60}]}},
    {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 1801}]}},
])
def test_invalid_behavior_names_the_field(spec):
    with pytest.raises(BehaviorError, match="spec.behavior.scale"):
        behavior_from_spec(spec)


def test_scale_down_waits_for_the_highest_recommendation_in_the_window():
    # recommendations of the last 300 s: 10 and 3; desired 2 -> hold at 10
    recs = [Recommendation(-200, 10), Recommendation(-100, 3)]
    assert stabilized_recommendation(recs, 0.0, 10, 2, 0, 300) == 10
    # once 10 is out of the window, the highest left is 3
    assert stabilized_recommendation(recs, 101.0, 10, 2, 0, 300) == 3


def test_scale_up_window_takes_the_lowest_recommendation():
    recs = [Recommendation(-50, 4), Recommendation(-20, 7)]
    assert stabilized_recommendation(recs, 0.0, 3, 9, 60, 300) == 4
    # a recommendation exactly at the window's edge is outside it
    assert stabilized_recommendation([Recommendation(-60, 4)], 0.0, 3, 9, 60, 0) == 9


def test_stabilization_sets_able_to_scale_reason():
    history = ScaleHistory()
    normalize_with_behavior(history, DEFAULT_BEHAVIOR, now=0, current=5, desired=5,
                            min_replicas=1, max_replicas=10)
    replicas, conds = normalize_with_behavior(history, DEFAULT_BEHAVIOR, now=15, current=5,
                                              desired=2, min_replicas=1, max_replicas=10)
    assert replicas == 5
    assert [(c.type, c.reason) for c in conds] == [("AbleToScale", "ScaleDownStabilized"),
                                                   ("ScalingLimited", "DesiredWithinRange")]


def test_limits_report_scaling_limited_reasons():
    # above maxReplicas -> TooManyReplicas; faster than the policies -> ScaleUpLimit
    _, conds = normalize_with_behavior(ScaleHistory(), DEFAULT_BEHAVIOR, now=0, current=8,
                                       desired=30, min_replicas=1, max_replicas=10)
    assert (conds[1].status, conds[1].reason) == ("True", "TooManyReplicas")
    replicas, conds = normalize_with_behavior(ScaleHistory(), DEFAULT_BEHAVIOR, now=0, current=1,
                                              desired=30, min_replicas=1, max_replicas=100)
    assert replicas == 5 and (conds[1].status, conds[1].reason) == ("True", "ScaleUpLimit")


def test_legacy_path_without_behavior_limits_to_double_or_four():
    replicas, conds = normalize_legacy(ScaleHistory(), now=0, current=1, desired=30,
                                       min_replicas=1, max_replicas=100)
    assert replicas == 4 and conds[1].reason == "ScaleUpLimit"
    replicas, _ = normalize_legacy(ScaleHistory(), now=0, current=10, desired=30,
                                   min_replicas=1, max_replicas=100)
    assert replicas == 20
    replicas, conds = normalize_legacy(ScaleHistory(), now=0, current=3, desired=0,
                                       min_replicas=2, max_replicas=100)
    assert replicas == 2 and conds[1].reason == "TooFewReplicas"

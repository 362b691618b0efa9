"""The pure decisions: ReplicaSet diff and deletion ranking, pod-template-hash, rollout arithmetic.

Tables come from the Kubernetes documentation and upstream's controller tests
(``pkg/controller/deployment/rolling_test.go``, ``sync_test.go``,
``pkg/controller/controller_utils_test.go``).
"""

from __future__ import annotations

import pytest

from fromscratch.controllers.hashing import fnv32a, pod_template_hash, safe_encode_string
from fromscratch.controllers.replica_diff import rank_for_deletion, replicaset_diff
from fromscratch.controllers.rollout import (
    ReplicaSetState,
    proportional_scale,
    resolve_fenceposts,
    rolling_update_step,
    scaled_value,
)
from tests.controllers.helpers import pod, template

T0 = 1_700_000_000.0


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# --- ReplicaSet diff -----------------------------------------------------------------------------
def test_too_few_pods_means_create_the_difference():
    assert replicaset_diff(3, [pod("a")]).create == 2
    assert replicaset_diff(3, [pod("a")]).delete == []


def test_creations_are_capped_by_the_burst():
    assert replicaset_diff(1000, [], burst=500).create == 500


def test_finished_and_terminating_pods_do_not_count():
    done = pod("done", phase="Succeeded")
    failed = pod("failed", phase="Failed")
    going = pod("going")
    going["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert replicaset_diff(2, [done, failed, going, pod("a")]).create == 1


def test_too_many_pods_means_delete_the_cheapest_first():
    pods = [pod("ready", node="n1", phase="Running", ready=True),
            pod("unscheduled"),
            pod("running-not-ready", node="n2", phase="Running")]
    diff = replicaset_diff(1, pods)
    assert diff.create == 0
    assert names(diff.delete) == ["unscheduled", "running-not-ready"]


def test_negative_replicas_is_an_error():
    with pytest.raises(ValueError, match="replicas"):
        replicaset_diff(-1, [])


def test_deletion_ranking_follows_active_pods_with_ranks():
    # each pair differs in exactly one rule of ActivePodsWithRanks.Less; the first goes first
    pairs = [
        (pod("unassigned"), pod("assigned", node="n1")),
        (pod("pending", node="n1", phase="Pending"), pod("unknown", node="n1", phase="Unknown")),
        (pod("unknown", node="n1", phase="Unknown"), pod("running", node="n1", phase="Running")),
        (pod("not-ready", node="n1", phase="Running"),
         pod("ready", node="n1", phase="Running", ready=True)),
        (pod("cheap", node="n1", annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"}),
         pod("dear", node="n2", annotations={"controller.kubernetes.io/pod-deletion-cost": "10"})),
        (pod("ready-later", node="n1", phase="Running", ready=True, ready_since=T0 + 100),
         pod("ready-earlier", node="n2", phase="Running", ready=True, ready_since=T0)),
        (pod("restarted", node="n1", restarts=5), pod("fresh", node="n2", restarts=1)),
        (pod("newer", node="n1", created=T0 + 10), pod("older", node="n2", created=T0)),
    ]
    for first, second in pairs:
        assert names(rank_for_deletion([second, first])) == names([first, second])


def test_pods_doubled_up_on_a_node_go_before_lonely_ones():
    # rule 5: rank = active Pods of the same owner on the node
    crowded = [pod(f"crowded-{i}", node="busy", created=T0) for i in range(3)]
    lonely = pod("lonely", node="quiet", created=T0 + 50)  # newer, but alone on its node
    ranked = rank_for_deletion([lonely, *crowded])
    assert names(ranked)[-1] == "lonely"


# --- pod-template-hash -----------------------------------------------------------------------------
def test_fnv32a_matches_the_published_test_vectors():
    # FNV-1a 32-bit reference values (Go's hash/fnv tests)
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_string_maps_digits_into_the_no_vowel_alphabet():
    # '0' is 48, 48 % 27 = 21 -> '4'; '9' is 57, 57 % 27 = 3 -> 'f'
    assert safe_encode_string("0123456789") == "456789bcdf"


def test_template_hash_is_stable_and_independent_of_key_order():
    a = {"metadata": {"labels": {"app": "web", "tier": "front"}},
         "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
    b = {"spec": {"containers": [{"image": "nginx:1", "name": "c"}]},
         "metadata": {"labels": {"tier": "front", "app": "web"}}}
    assert pod_template_hash(a) == pod_template_hash(b)
    assert set(pod_template_hash(a)) <= set("456789bcdf")


def test_a_different_template_or_collision_count_gives_a_different_hash():
    base = template({"app": "web"}, "nginx:1")
    hashes = {pod_template_hash(base), pod_template_hash(template({"app": "web"}, "nginx:2")),
              pod_template_hash(base, 0), pod_template_hash(base, 1)}
    assert len(hashes) == 4


def test_collision_count_must_fit_an_int32():
    with pytest.raises(ValueError, match="collisionCount"):
        pod_template_hash(template({}), -1)


# --- fenceposts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("surge", "unavailable", "replicas", "expected"), [
    ("25%", "25%", 10, (3, 2)),  # surge rounds up (2.5 -> 3), unavailable down (2.5 -> 2)
    ("25%", "25%", 1, (1, 0)),
    (0, 0, 5, (0, 1)),  # both zero -> maxUnavailable 1
    ("0%", "0%", 5, (0, 1)),
    ("10%", "10%", 3, (1, 0)),
    (3, 2, 10, (3, 2)),
    ("100%", 0, 4, (4, 0)),
])
def test_resolve_fenceposts(surge, unavailable, replicas, expected):
    assert resolve_fenceposts(surge, unavailable, replicas) == expected


@pytest.mark.parametrize("bad", ["25", "x%", "-1%", 1.5, None, True])
def test_int_or_percent_rejects_anything_else(bad):
    with pytest.raises(ValueError, match="int or a percentage"):
        scaled_value(bad, 10, round_up=True)


# --- one rolling-update step -----------------------------------------------------------------------
def rs(name: str, replicas: int, available: int = 0, created: float = 0.0, max_replicas=None):
    return ReplicaSetState(name, replicas, available, created, max_replicas)


@pytest.mark.parametrize(("replicas", "surge", "old", "new", "expected"), [
    # rolling_test.go TestDeploymentController_reconcileNewReplicaSet
    (10, 0, 10, 0, None),  # no surge: the new ReplicaSet cannot grow yet
    (10, 2, 10, 0, 2),
    (10, 2, 5, 0, 7),
    (10, 2, 10, 2, None),
    (2, 2, 2, 4, 2),  # too big: scaled down to replicas
])
def test_new_replica_set_scales_up_within_max_surge(replicas, surge, old, new, expected):
    # maxUnavailable 0 as upstream's table; None = the new ReplicaSet does not change
    result = rolling_update_step(replicas=replicas, max_surge=surge, max_unavailable=0,
                                 new=rs("new", new), old=[rs("old", old, old, created=-1)])
    assert result.get("new") == expected


@pytest.mark.parametrize(("replicas", "unavailable", "old", "new", "old_ready", "new_ready", "expected"), [
    # rolling_test.go TestDeploymentController_reconcileOldReplicaSets (maxSurge 0)
    (10, 0, 10, 0, 10, 0, 9),
    (10, 2, 10, 0, 10, 0, 8),
    (10, 2, 10, 0, 8, 0, 8),  # the two unhealthy old Pods are cleaned up first
    (10, 2, 10, 0, 9, 0, 8),  # one unhealthy cleaned up, one ready scaled down
    (10, 2, 8, 2, 8, 0, None),  # the new Pods are not available yet: wait
])
def test_old_replica_sets_scale_down_within_max_unavailable(replicas, unavailable, old, new,
                                                            old_ready, new_ready, expected):
    result = rolling_update_step(replicas=replicas, max_surge=0, max_unavailable=unavailable,
                                 new=rs("new", new, new_ready), old=[rs("old", old, old_ready)])
    assert result.get("old") == expected
    assert "new" not in result


def test_oldest_replica_set_is_scaled_down_first():
    result = rolling_update_step(
        replicas=6, max_surge=0, max_unavailable=2, new=rs("new", 0, created=3),
        old=[rs("middle", 3, 3, created=2), rs("oldest", 3, 3, created=1)])
    assert result == {"oldest": 1}


def test_a_whole_rollout_never_breaks_the_surge_or_the_floor():
    # drive steps with every Pod becoming available at once: 10 replicas, surge 3, unavailable 2
    new, old = rs("new", 0, created=2), rs("old", 10, 10, created=1)
    for _ in range(20):
        sizes = rolling_update_step(replicas=10, max_surge=3, max_unavailable=2, new=new, old=[old])
        if not sizes:
            break
        # scaling down removes available Pods; scaling up adds Pods that are not available yet
        size_new, size_old = sizes.get("new", new.replicas), sizes.get("old", old.replicas)
        new = rs("new", size_new, min(new.available, size_new), created=2)
        old = rs("old", size_old, min(old.available, size_old), created=1)
        assert new.replicas + old.replicas <= 13
        assert old.available + new.available >= 8
        # the Pods come up: everything scaled becomes available
        new, old = rs("new", new.replicas, new.replicas, 2), rs("old", old.replicas, old.replicas, 1)
    assert (new.replicas, old.replicas) == (10, 0)


# --- proportional scaling --------------------------------------------------------------------------
def test_proportional_scaling_matches_the_documentation_example():
    # docs: 10 replicas, maxSurge 3, maxUnavailable 2, rollout stuck with 8 old + 5 new;
    # scaled to 15 -> 3 more for the old ReplicaSet, 2 more for the new one
    sizes = proportional_scale(replicas=15, max_surge=3,
                               new=rs("new", 5, 0, created=2, max_replicas=13),
                               old=[rs("old", 8, 8, created=1, max_replicas=13)])
    assert sizes == {"old": 11, "new": 7}


@pytest.mark.parametrize(("replicas", "old", "new", "expected_old", "expected_new"), [
    # sync_test.go TestScale-style cases: proportional up and down, leftovers to the largest
    (12, 5, 5, 6, 6),  # 10 -> 12 with maxSurge 0
    (8, 5, 5, 4, 4),
    (9, 3, 7, 3, 6),  # scale down 10 -> 9: 2.7 -> 3 and 6.3 -> 6
])
def test_proportional_scaling_up_and_down(replicas, old, new, expected_old, expected_new):
    sizes = proportional_scale(replicas=replicas, max_surge=0,
                               new=rs("new", new, created=2, max_replicas=10),
                               old=[rs("old", old, created=1, max_replicas=10)])
    assert sizes == {"old": expected_old, "new": expected_new}


def test_scaling_to_zero_empties_every_replica_set():
    sizes = proportional_scale(replicas=0, max_surge=1, new=rs("new", 3, created=2, max_replicas=6),
                               old=[rs("old", 3, created=1, max_replicas=6)])
    assert sizes == {"old": 0, "new": 0}


def test_missing_annotation_falls_back_to_status_replicas():
    sizes = proportional_scale(replicas=20, max_surge=0, new=rs("new", 5, created=2),
                               old=[rs("old", 5, created=1)], status_replicas=10)
    assert sizes == {"old": 10, "new": 10}


def test_pods_an_old_replica_set_has_not_deleted_yet_count_against_the_surge():
    # old scaled 6 -> 5 but still has 6 Pods: the new ReplicaSet may not grow past 7 in total
    old = ReplicaSetState("old", 5, 5, created=1, pods=6)
    new = ReplicaSetState("new", 1, 1, created=2, pods=1)
    assert rolling_update_step(replicas=6, max_surge=1, max_unavailable=0, new=new, old=[old]) \
        .get("new") is None
    gone = ReplicaSetState("old", 5, 5, created=1, pods=5)
    assert rolling_update_step(replicas=6, max_surge=1, max_unavailable=0, new=new, old=[gone]) == {"new": 2}

"""StatefulSet ordering, DaemonSet node eligibility and Job progress, as the documentation states."""

from __future__ import annotations

import pytest

from fromscratch.controllers.daemonset_nodes import daemon_tolerations, daemonset_should_run, pin_to_node
from fromscratch.controllers.job_progress import job_progress
from fromscratch.controllers.statefulset_plan import Action, PodState, statefulset_next_actions
from fromscratch.scheduler.predicates import term_matches

READY = PodState(running_ready=True, revision="v1")
STARTING = PodState(running_ready=False, revision="v1")


# --- StatefulSet ------------------------------------------------------------------------------------
def test_ordered_ready_creates_web_0_first_then_waits_for_it():
    assert statefulset_next_actions(replicas=3, pods={}) == [Action("create", 0)]
    assert statefulset_next_actions(replicas=3, pods={0: STARTING}) == [Action("wait", 0)]
    assert statefulset_next_actions(replicas=3, pods={0: READY}) == [Action("create", 1)]
    assert statefulset_next_actions(replicas=3, pods={0: READY, 1: READY, 2: READY}) == []


def test_ordered_ready_scales_down_from_the_highest_ordinal_one_at_a_time():
    pods = {0: READY, 1: READY, 2: READY, 3: READY}
    assert statefulset_next_actions(replicas=1, pods=pods) == [Action("delete", 3)]
    terminating = {**pods, 3: PodState(terminating=True)}
    assert statefulset_next_actions(replicas=1, pods=terminating) == [Action("wait", 3)]


def test_scale_down_waits_while_a_remaining_pod_is_not_ready():
    pods = {0: READY, 1: STARTING, 2: READY}
    assert statefulset_next_actions(replicas=2, pods=pods) == [Action("wait", 1)]


def test_parallel_creates_and_deletes_everything_at_once():
    assert statefulset_next_actions(replicas=3, pods={}, policy="Parallel") == \
        [Action("create", 0), Action("create", 1), Action("create", 2)]
    pods = {i: READY for i in range(5)}
    assert statefulset_next_actions(replicas=2, pods=pods, policy="Parallel") == \
        [Action("delete", 4), Action("delete", 3), Action("delete", 2)]


def test_a_failed_pod_is_deleted_to_be_recreated_with_its_name():
    pods = {0: READY, 1: PodState(failed=True)}
    assert statefulset_next_actions(replicas=2, pods=pods) == [Action("delete", 1)]


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition():
    # docs: partition 2 with 3 replicas updates web-2 only (a canary)
    old = {i: READY for i in range(3)}
    assert statefulset_next_actions(replicas=3, pods=old, update_revision="v2", partition=2) == \
        [Action("delete", 2)]
    canary = {**old, 2: PodState(running_ready=True, revision="v2")}
    assert statefulset_next_actions(replicas=3, pods=canary, update_revision="v2", partition=2) == []
    # partition 0: web-1 next, after web-2 is ready at the new revision
    assert statefulset_next_actions(replicas=3, pods=canary, update_revision="v2") == [Action("delete", 1)]
    not_ready = {**old, 2: PodState(running_ready=False, revision="v2")}
    assert statefulset_next_actions(replicas=3, pods=not_ready, update_revision="v2") == [Action("wait", 2)]


def test_statefulset_bad_input_raises():
    with pytest.raises(ValueError, match="podManagementPolicy"):
        statefulset_next_actions(replicas=1, pods={}, policy="Random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        statefulset_next_actions(replicas=-1, pods={})


# --- DaemonSet ----------------------------------------------------------------------------------------
def node(name: str = "n1", labels: dict | None = None, taints: list | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


TEMPLATE = {"containers": [{"name": "agent", "image": "fluentd"}]}


def test_a_plain_daemonset_runs_on_every_node():
    assert daemonset_should_run(TEMPLATE, node()) == (True, True)


def test_node_selector_limits_the_nodes():
    spec = {**TEMPLATE, "nodeSelector": {"disk": "ssd"}}
    assert daemonset_should_run(spec, node(labels={"disk": "ssd"})) == (True, True)
    assert daemonset_should_run(spec, node(labels={"disk": "hdd"})) == (False, False)


def test_a_control_plane_taint_keeps_daemons_away_unless_tolerated():
    master = node(taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    # NoSchedule: no new daemon Pod, but one already there keeps running
    assert daemonset_should_run(TEMPLATE, master) == (False, True)
    tolerant = {**TEMPLATE, "tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}
    assert daemonset_should_run(tolerant, master) == (True, True)


def test_an_untolerated_no_execute_taint_evicts_the_daemon():
    tainted = node(taints=[{"key": "dedicated", "value": "db", "effect": "NoExecute"}])
    assert daemonset_should_run(TEMPLATE, tainted) == (False, False)


def test_daemons_tolerate_unhealthy_node_taints_automatically():
    sick = node(taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                        {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}])
    assert daemonset_should_run(TEMPLATE, sick) == (True, True)
    offline_net = node(taints=[{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])
    assert daemonset_should_run(TEMPLATE, offline_net) == (False, True)
    assert daemonset_should_run({**TEMPLATE, "hostNetwork": True}, offline_net) == (True, True)


def test_template_node_name_pins_the_daemon():
    assert daemonset_should_run({**TEMPLATE, "nodeName": "n2"}, node("n1")) == (False, False)


def test_daemon_pods_are_pinned_with_node_affinity_on_the_name():
    spec = pin_to_node(TEMPLATE, "n7")
    (term,) = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    assert term_matches(term, node("n7")) and not term_matches(term, node("n8"))
    assert len(spec["tolerations"]) == len(daemon_tolerations(TEMPLATE)) == 6
    assert "affinity" not in TEMPLATE  # the template itself is not changed


# --- Job -------------------------------------------------------------------------------------------------
def pods(*phases: str) -> list[dict]:
    return [{"metadata": {"name": f"p{i}"}, "status": {"phase": phase}} for i, phase in enumerate(phases)]


def test_a_job_with_completions_runs_parallelism_pods_at_a_time():
    spec = {"completions": 5, "parallelism": 2, "backoffLimit": 6}
    assert job_progress(spec, []).create == 2
    progress = job_progress(spec, pods("Succeeded", "Succeeded", "Succeeded", "Running"))
    assert (progress.active, progress.succeeded, progress.create) == (1, 3, 1)
    assert job_progress(spec, pods(*["Succeeded"] * 5)).finished == "Complete"


def test_the_last_completions_need_fewer_pods_than_parallelism():
    spec = {"completions": 3, "parallelism": 5}
    assert job_progress(spec, pods("Succeeded", "Succeeded")).create == 1


def test_a_work_queue_job_completes_when_one_succeeded_and_none_is_active():
    spec = {"parallelism": 3}
    assert job_progress(spec, []).create == 3
    running = job_progress(spec, pods("Succeeded", "Running"))
    assert (running.create, running.finished) == (0, "")
    assert job_progress(spec, pods("Succeeded", "Succeeded")).finished == "Complete"


def test_more_failures_than_backoff_limit_fail_the_job_and_stop_active_pods():
    spec = {"completions": 1, "parallelism": 1, "backoffLimit": 2}
    assert job_progress(spec, pods("Failed", "Failed", "Running")).finished == ""
    failed = job_progress(spec, pods("Failed", "Failed", "Failed", "Running"))
    assert (failed.finished, failed.reason, failed.delete) == ("Failed", "BackoffLimitExceeded", 1)


def test_active_deadline_fails_the_job():
    spec = {"completions": 1, "activeDeadlineSeconds": 100}
    assert job_progress(spec, pods("Running"), started=1000.0, now=1099.0).finished == ""
    late = job_progress(spec, pods("Running"), started=1000.0, now=1100.0)
    assert (late.finished, late.reason, late.delete) == ("Failed", "DeadlineExceeded", 1)
    assert late.message == "Job was active longer than specified deadline"


def test_job_bad_input_raises():
    with pytest.raises(ValueError, match="negative"):
        job_progress({"parallelism": -1}, [])

"""The kubelet's rules as pure functions: phase, conditions, init sequence, back-off, probe thresholds."""

from __future__ import annotations

import pytest

from fromscratch.runtime.probes import ProbeError, ProbeState, next_probe_state, parse_probe
from fromscratch.runtime.restart import next_backoff, should_restart
from fromscratch.runtime.status import next_init_action, pod_conditions, pod_phase

RUNNING = {"running": {"startedAt": "2024-01-01T00:00:00Z"}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}


def done(code):
    return {"terminated": {"exitCode": code}}


def st(name, state, last=None, ready=False):
    return {"name": name, "state": state, "lastState": last or {}, "ready": ready}


def spec(policy="Always", containers=("a", "b"), inits=()):
    return {"restartPolicy": policy, "containers": [{"name": n} for n in containers],
            "initContainers": [{"name": n} for n in inits]}


@pytest.mark.parametrize("policy, states, phase", [
    # the Pod lifecycle page's examples, one container exiting while another runs or not
    ("Always", [RUNNING, RUNNING], "Running"),
    ("Always", [RUNNING, WAITING], "Pending"),
    ("Never", [done(0), done(0)], "Succeeded"),
    ("OnFailure", [done(0), done(0)], "Succeeded"),
    ("Always", [done(0), done(0)], "Running"),        # both are being restarted
    ("Never", [done(0), done(1)], "Failed"),
    ("OnFailure", [done(0), done(1)], "Running"),     # the failed one restarts
    ("Never", [RUNNING, done(1)], "Running"),
])
def test_phase_from_container_states(policy, states, phase):
    statuses = [st("a", states[0]), st("b", states[1])]
    assert pod_phase(spec(policy), [], statuses) == phase


def test_phase_counts_crash_loop_waiting_as_stopped():
    # waiting after a termination (CrashLoopBackOff) is a stopped container, not a new one
    statuses = [st("a", {"waiting": {"reason": "CrashLoopBackOff"}}, last=done(1)), st("b", done(0))]
    assert pod_phase(spec("OnFailure"), [], statuses) == "Running"


def test_phase_is_pending_without_statuses_and_while_init_runs():
    assert pod_phase(spec(), [], []) == "Pending"
    inits = [st("init", RUNNING)]
    assert pod_phase(spec(inits=["init"]), inits, [st("a", WAITING), st("b", WAITING)]) == "Pending"


def test_failed_init_container_fails_the_pod_only_under_never():
    inits = [st("init", done(2))]
    apps = [st("a", WAITING), st("b", WAITING)]
    assert pod_phase(spec("Never", inits=["init"]), inits, apps) == "Failed"
    assert pod_phase(spec("Always", inits=["init"]), inits, apps) == "Pending"


@pytest.mark.parametrize("statuses, policy, action", [
    ([], "Always", ("start", "one")),
    ([st("one", RUNNING)], "Always", ("wait", "one")),
    ([st("one", done(0))], "Always", ("start", "two")),
    ([st("one", done(0)), st("two", done(1))], "Always", ("restart", "two")),
    ([st("one", done(0)), st("two", done(1))], "Never", ("fail", "two")),
    ([st("one", done(0)), st("two", {"waiting": {"reason": "CrashLoopBackOff"}}, last=done(1))],
     "OnFailure", ("restart", "two")),
    ([st("one", done(0)), st("two", done(0))], "Never", ("done", None)),
])
def test_init_containers_run_one_at_a_time_in_order(statuses, policy, action):
    inits = [{"name": "one"}, {"name": "two"}]
    assert next_init_action(inits, statuses, policy) == action


def test_running_sidecar_counts_as_done_and_a_stopped_one_restarts():
    inits = [{"name": "proxy", "restartPolicy": "Always"}, {"name": "migrate"}]
    assert next_init_action(inits, [st("proxy", RUNNING)], "Never") == ("start", "migrate")
    assert next_init_action(inits, [st("proxy", done(0))], "Never") == ("restart", "proxy")


def test_conditions_name_the_unready_and_uninitialized_containers():
    s = spec(inits=["init"])
    conditions = {c["type"]: c for c in pod_conditions(s, "Pending", [st("init", RUNNING)],
                                                       [st("a", WAITING), st("b", WAITING)])}
    assert conditions["PodScheduled"]["status"] == "True"
    assert conditions["Initialized"] == {"type": "Initialized", "status": "False",
                                         "reason": "ContainersNotInitialized",
                                         "message": "containers with incomplete status: [init]"}
    assert conditions["Ready"]["message"] == "containers with unready status: [a b]"
    ready = pod_conditions(s, "Running", [st("init", done(0))], [st("a", RUNNING, ready=True),
                                                                  st("b", RUNNING, ready=True)])
    assert [c["status"] for c in ready] == ["True"] * 4


def test_completed_pod_is_not_ready_with_reason_pod_completed():
    conditions = pod_conditions(spec("Never"), "Succeeded", [], [st("a", done(0)), st("b", done(0))])
    assert conditions[-1] == {"type": "Ready", "status": "False", "reason": "PodCompleted", "message": ""}


@pytest.mark.parametrize("policy, code, restarts", [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 137, True),
    ("Never", 1, False),
])
def test_restart_policy(policy, code, restarts):
    assert should_restart(policy, code) is restarts


def test_backoff_doubles_from_10s_capped_at_300s():
    delays, previous = [], None
    for _ in range(8):
        previous = next_backoff(previous, ran_for=1)
        delays.append(previous)
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_resets_after_ten_minutes_of_running():
    assert next_backoff(300, ran_for=599.9) == 300
    assert next_backoff(300, ran_for=600) == 10


def test_probe_result_changes_only_after_the_threshold():
    state = ProbeState("Success")
    outcomes = [False, False, True, False, False, False]
    results = []
    for ok in outcomes:
        state = next_probe_state(state, ok, success_threshold=1, failure_threshold=3)
        results.append(state.result)
    assert results == ["Success", "Success", "Success", "Success", "Success", "Failure"]


def test_readiness_needs_consecutive_successes():
    state = ProbeState("Failure")
    for ok, expected in [(True, "Failure"), (False, "Failure"), (True, "Failure"), (True, "Success")]:
        state = next_probe_state(state, ok, success_threshold=2, failure_threshold=1)
        assert state.result == expected


@pytest.mark.parametrize("kind, probe, message", [
    ("liveness", {}, "exactly one"),
    ("liveness", {"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}}, "exactly one"),
    ("liveness", {"exec": {"command": "true"}}, "non-empty list"),
    ("liveness", {"tcpSocket": {"port": "web"}}, "named containerPort"),
    ("liveness", {"exec": {"command": ["true"]}, "successThreshold": 2}, "must be 1"),
    ("readiness", {"exec": {"command": ["true"]}, "periodSeconds": 0}, "period"),
])
def test_bad_probes_are_rejected(kind, probe, message):
    with pytest.raises(ProbeError, match=message):
        parse_probe(kind, probe, {"name": "c"})


def test_probe_defaults_and_named_port():
    probe = parse_probe("readiness", {"httpGet": {"port": "web"}},
                        {"name": "c", "ports": [{"name": "web", "containerPort": 8080}]})
    assert (probe.period, probe.timeout, probe.failure_threshold, probe.success_threshold) == (10, 1, 3, 1)
    assert probe.action == {"port": 8080, "path": "/"}

"""Pods on the simulated runtime: the kubelet's behaviour in virtual time, with exact asserts."""

from __future__ import annotations

import pytest

from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.pod import PodSpecError
from fromscratch.runtime.runtimes import SimRuntime


def pod(containers, *, policy="Always", inits=(), volumes=(), **spec):
    return {"metadata": {"name": "p"},
            "spec": {"restartPolicy": policy, "containers": list(containers),
                     "initContainers": list(inits), "volumes": list(volumes), **spec}}


def sh(name, script, **extra):
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script], **extra}


SHARED = [{"name": "shared", "emptyDir": {}}]
MOUNT = [{"name": "shared", "mountPath": "/data"}]


def started_times(p, name):
    return [e["time"] for e in p.events if e["reason"] == "Started" and e["container"] == name]


def test_crash_loop_backoff_doubles_and_caps_at_300s():
    # each restart waits 10s, 20s, 40s ... 300s after the exit was seen (syncs are 0.5s apart)
    p = SimRuntime().run_pod(pod([sh("app", "exit 1")]))
    p.run_for(1300)
    starts = started_times(p, "app")
    gaps = [round(b - a - 0.5, 1) for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == [10, 20, 40, 80, 160, 300, 300, 300]
    status = p.status()["containerStatuses"][0]
    assert status["restartCount"] == 8
    assert status["lastState"]["terminated"]["exitCode"] == 1


def test_backoff_resets_after_ten_minutes_of_running():
    p = SimRuntime().run_pod(pod([sh("app", "sleep 700; exit 1")]))
    p.run_for(1500)
    assert [e["message"] for e in p.events if e["reason"] == "BackOff"] == \
        ["Back-off 10s restarting failed container"] * 2


def test_crash_loop_shows_waiting_crash_loop_backoff_and_pod_running():
    p = SimRuntime().run_pod(pod([sh("app", "exit 3")]))
    p.run_for(2)
    status = p.status()
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"


@pytest.mark.parametrize("policy, code, phase", [
    ("Never", 0, "Succeeded"), ("Never", 1, "Failed"), ("OnFailure", 0, "Succeeded"),
])
def test_finished_pods_reach_their_terminal_phase(policy, code, phase):
    p = SimRuntime().run_pod(pod([sh("app", f"sleep 1; exit {code}")], policy=policy))
    p.run_for(5)
    assert p.phase == phase
    assert started_times(p, "app") == [0.0]


def test_init_containers_run_in_order_before_the_app():
    inits = [sh("one", "sleep 2; echo 1 >> /data/order", volumeMounts=MOUNT),
             sh("two", "sleep 2; echo 2 >> /data/order", volumeMounts=MOUNT)]
    p = SimRuntime().run_pod(pod([sh("app", "cat /data/order; sleep 60", volumeMounts=MOUNT)],
                                 inits=inits, volumes=SHARED))
    assert p.phase == "Pending"
    p.run_for(10)
    assert started_times(p, "one") == [0.0] and started_times(p, "two")[0] >= 2
    assert started_times(p, "app")[0] >= started_times(p, "two")[0] + 2
    assert p.logs("app") == "1\n2\n"
    assert p.condition("Initialized") and p.phase == "Running"


def test_failed_init_container_fails_a_never_pod_and_the_app_never_starts():
    p = SimRuntime().run_pod(pod([sh("app", "sleep 60")], policy="Never", inits=[sh("init", "exit 2")]))
    p.run_for(30)
    assert p.phase == "Failed" and started_times(p, "app") == []
    assert not p.condition("Initialized")


def test_failed_init_container_is_retried_with_backoff_under_always():
    p = SimRuntime().run_pod(pod([sh("app", "sleep 60")], inits=[sh("init", "exit 2")]))
    p.run_for(40)
    assert len(started_times(p, "init")) == 3 and p.phase == "Pending"


def test_sidecar_reads_what_the_main_container_writes():
    main = sh("main", "while true; do date >> /data/log; sleep 1; done", volumeMounts=MOUNT)
    side = sh("sidecar", "sleep 5; cat /data/log > /data/copy; sleep 3600", volumeMounts=MOUNT)
    p = SimRuntime().run_pod(pod([main, side], volumes=SHARED))
    p.run_for(10)
    copy = p.sandbox.read_file("shared", "copy")
    assert copy is not None and copy.split()[:5] == ["0", "1", "2", "3", "4"]


def test_native_sidecar_starts_first_and_keeps_running():
    proxy = sh("proxy", "httpd -p 8080", restartPolicy="Always")
    p = SimRuntime().run_pod(pod([sh("app", "wget -q -O - http://localhost:8080/; sleep 60")],
                                 policy="Never", inits=[proxy]))
    p.run_for(5)
    assert p.phase == "Running" and p.condition("Initialized")
    assert p.run_of("proxy").running and p.run_of("app").running


def test_liveness_failure_restarts_the_container_like_the_docs_example():
    # the liveness-exec example of the Kubernetes docs: healthy for 30s, then not;
    # sh as PID 1 ignores SIGTERM, so it is SIGKILLed after the (here 5s) grace period
    container = sh("liveness", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600",
                   livenessProbe={"exec": {"command": ["cat", "/tmp/healthy"]},
                                  "initialDelaySeconds": 5, "periodSeconds": 5})
    p = SimRuntime().run_pod(pod([container], terminationGracePeriodSeconds=5))
    p.run_for(60)
    killing = [e["time"] for e in p.events if e["reason"] == "Killing"]
    unhealthy = [e["time"] for e in p.events if e["reason"] == "Unhealthy"]
    assert unhealthy == [30.0, 35.0, 40.0] and killing == [40.0]
    status = p.status()["containerStatuses"][0]
    assert status["restartCount"] == 1 and status["lastState"]["terminated"]["exitCode"] == 137
    assert started_times(p, "liveness") == [0.0, 55.5]  # killed at 45, seen at 45.5, back-off 10s


def test_readiness_probe_flips_ready():
    container = sh("web", "sleep 5; touch /tmp/ready; sleep 20; rm /tmp/ready; sleep 600",
                   readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1,
                                   "failureThreshold": 1})
    p = SimRuntime().run_pod(pod([container]))
    timeline = []
    for _ in range(60):
        p.run_for(0.5)
        timeline.append(p.condition("Ready"))
    first_ready = timeline.index(True) * 0.5 + 0.5
    first_unready_again = (timeline.index(False, timeline.index(True))) * 0.5 + 0.5
    assert 5 <= first_ready <= 6.5 and 25 <= first_unready_again <= 26.5
    assert p.run_of("web").restart_count == 0  # readiness never restarts


def test_startup_probe_holds_back_liveness():
    container = sh("slow", "sleep 10; touch /tmp/started; sleep 600",
                   startupProbe={"exec": {"command": ["cat", "/tmp/started"]}, "periodSeconds": 1,
                                 "failureThreshold": 30},
                   livenessProbe={"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1})
    p = SimRuntime().run_pod(pod([container]))
    p.run_for(15)
    liveness = [e["time"] for e in p.events if e["message"] == "Liveness probe failed"]
    assert liveness and min(liveness) >= 10


def test_startup_probe_exhausted_kills_the_container():
    container = sh("never", "sleep 600", startupProbe={"exec": {"command": ["false"]}, "periodSeconds": 1,
                                                      "failureThreshold": 3})
    p = SimRuntime().run_pod(pod([container]))
    p.run_for(4)
    assert [e["message"] for e in p.events if e["reason"] == "Killing"] == \
        ["Container never failed startup probe, will be restarted"]


def test_http_and_tcp_probes_see_a_listening_server():
    server = sh("web", "sleep 3; httpd -p 8080",
                readinessProbe={"httpGet": {"port": 8080, "path": "/"}, "periodSeconds": 1},
                livenessProbe={"tcpSocket": {"port": 8080}, "initialDelaySeconds": 4, "periodSeconds": 1})
    p = SimRuntime().run_pod(pod([server]))
    p.run_for(2)
    assert not p.condition("Ready")
    p.run_for(4)
    assert p.condition("Ready") and p.run_of("web").restart_count == 0


def test_probe_timeout_counts_as_failure():
    container = sh("app", "sleep 600", readinessProbe={"exec": {"command": ["sleep", "2"]},
                                                       "timeoutSeconds": 1, "periodSeconds": 1})
    p = SimRuntime().run_pod(pod([container]))
    p.run_for(5)
    assert not p.condition("Ready")


def test_poststart_failure_kills_and_prestop_runs_on_delete():
    ok = sh("ok", "sleep 600", volumeMounts=MOUNT,
            lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "echo hi > /data/start"]}},
                       "preStop": {"exec": {"command": ["sh", "-c", "echo bye > /data/stop"]}}})
    bad = sh("bad", "sleep 600", lifecycle={"postStart": {"exec": {"command": ["false"]}}})
    p = SimRuntime().run_pod(pod([ok, bad], volumes=SHARED, policy="Never"))
    p.run_for(2)
    assert p.sandbox.read_file("shared", "start") == "hi\n"
    assert [e["container"] for e in p.events if e["reason"] == "FailedPostStartHook"] == ["bad"]
    assert p.run_of("bad").state["terminated"]["exitCode"] == 137
    p.terminate(grace=5)
    assert p.sandbox.read_file("shared", "stop") == "bye\n"
    assert p.run_of("ok").state["terminated"]["exitCode"] == 137


def test_terminate_escalates_to_sigkill_after_the_grace_period():
    clock = FakeClock()
    busy = sh("busy", "sleep 600")  # sh as PID 1, without a handler, ignores SIGTERM
    p = SimRuntime(clock).run_pod(pod([busy]))
    p.run_for(1)
    before = clock.now()
    p.terminate(grace=7)
    assert p.run_of("busy").state["terminated"]["exitCode"] == 137
    assert 7 <= clock.now() - before <= 7.5


@pytest.mark.parametrize("manifest, message", [
    ({"metadata": {}, "spec": {"containers": [{"name": "a"}]}}, "metadata.name"),
    ({"metadata": {"name": "p"}, "spec": {"containers": []}}, "at least one container"),
    (pod([sh("a", "true"), sh("a", "true")]), "used twice"),
    (pod([sh("a", "true")], policy="Sometimes"), "restartPolicy"),
    (pod([sh("a", "true", livenessProbe={})]), "exactly one"),
])
def test_bad_pods_are_rejected(manifest, message):
    with pytest.raises((PodSpecError, ValueError), match=message):
        SimRuntime().run_pod(manifest)

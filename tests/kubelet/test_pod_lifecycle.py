"""Pods bound to the node run through the runtime; their status is reported through the API.

Pod lifecycle (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle): phases
Pending → Running → Succeeded/Failed, restartPolicy, container restarts and probes.
"""

from __future__ import annotations

from fromscratch.controllers.client import PODS, ResourceClient, is_status
from fromscratch.kubelet import Kubelet
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import ProcessRuntime, SimRuntime
from tests.kubelet.conftest import pod_manifest, wait_for

CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}


def _start(api, node_name, kubelets) -> Kubelet:
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, heartbeat_seconds=60,
                      sync_seconds=0.05)
    kubelets.append(kubelet.start())
    return kubelet


def _phase(pods, ns, name):
    return (pods.get(ns, name).get("status") or {}).get("phase")


def test_pod_runs_and_succeeds_with_status_in_api(api, ns, node_name, kubelets):
    # a Pod that exits 0 under restartPolicy Never ends Succeeded, with hostIP/podIP and startTime
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("done", node_name, ["sh", "-c", "sleep 0.5; echo hello"],
                                 restartPolicy="Never"))
    wait_for(lambda: _phase(pods, ns, "done") == "Running")
    wait_for(lambda: _phase(pods, ns, "done") == "Succeeded")
    status = pods.get(ns, "done")["status"]
    assert status["hostIP"] == "127.0.0.1" and status["podIP"] == "127.0.0.1"
    assert status["startTime"].endswith("Z")
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "PodCompleted"
    assert conditions["PodScheduled"]["status"] == "True"


def test_failing_pod_with_restart_never_is_failed(api, ns, node_name, kubelets):
    # exit 3 and restartPolicy Never: phase Failed, the exit code in the container's state
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("bad", node_name, ["sh", "-c", "exit 3"], restartPolicy="Never"))
    wait_for(lambda: _phase(pods, ns, "bad") == "Failed")
    state = pods.get(ns, "bad")["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 3 and state["terminated"]["reason"] == "Error"


def test_restart_policy_always_restarts_after_back_off_and_counts(api, ns, node_name, kubelets):
    # virtual time: a container exiting 1 under Always waits the 10 s back-off, then restartCount 1
    clock = FakeClock()
    kubelet = Kubelet(api, node_name, SimRuntime(clock), capacity=CAPACITY, threads=False)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("crash", node_name, ["sh", "-c", "exit 1"]))
    wait_for(lambda: kubelet.pod_source.pods(node_name))

    def container() -> dict:
        return pods.get(ns, "crash")["status"]["containerStatuses"][0]

    kubelet.sync_once()
    kubelet.sync_once()
    assert container()["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container()["restartCount"] == 0
    clock.advance(9.9)
    kubelet.sync_once()
    assert container()["restartCount"] == 0
    clock.advance(0.1)
    kubelet.sync_once()
    assert container()["restartCount"] == 1
    status = pods.get(ns, "crash")["status"]
    assert status["phase"] == "Running"  # restarting, never terminal under Always
    assert container()["lastState"]["terminated"]["exitCode"] == 1


def test_readiness_probe_result_reaches_pod_ready_condition(api, ns, node_name, kubelets):
    # Ready follows the readiness probe: False until the file exists, True after
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    probe = {"exec": {"command": ["test", "-f", "ready"]}, "periodSeconds": 1}
    pods.create(ns, pod_manifest("probed", node_name, ["sh", "-c", "sleep 1; touch ready; sleep 30"],
                                 container={"readinessProbe": probe}))
    wait_for(lambda: _phase(pods, ns, "probed") == "Running")

    def ready() -> str:
        return next(c["status"] for c in pods.get(ns, "probed")["status"]["conditions"]
                    if c["type"] == "Ready")

    assert ready() == "False"
    wait_for(lambda: ready() == "True", timeout=10)
    assert pods.get(ns, "probed")["status"]["containerStatuses"][0]["ready"] is True


def test_graceful_deletion_completes_and_removes_pod(api, ns, node_name, kubelets):
    # DELETE marks the Pod; the kubelet stops its containers, then confirms with grace 0
    kubelet = _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("web", node_name, ["sleep", "60"], terminationGracePeriodSeconds=5))
    wait_for(lambda: _phase(pods, ns, "web") == "Running")
    pid = kubelet.pods()[f"{ns}/web"].run_of("main").handle.process.pid
    pods.delete(ns, "web")
    assert pods.get(ns, "web")["metadata"]["deletionTimestamp"]  # graceful: still there

    def gone() -> bool:
        try:
            pods.get(ns, "web")
            return False
        except Exception as err:
            return is_status(err, 404)

    wait_for(gone, timeout=10)
    assert f"{ns}/web" not in kubelet.pods()
    import os

    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_pod_asking_more_cpu_than_allocatable_fails_out_of_cpu(api, ns, node_name, kubelets):
    # kubelet admission: requests beyond allocatable -> Failed, reason OutOfcpu, never started
    kubelet = _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("big", node_name, ["sleep", "60"],
                                 container={"resources": {"requests": {"cpu": "5"}}}))
    wait_for(lambda: _phase(pods, ns, "big") == "Failed")
    status = pods.get(ns, "big")["status"]
    assert status["reason"] == "OutOfcpu"
    assert "requested: 5000" in status["message"] and "capacity: 4000" in status["message"]
    assert f"{ns}/big" not in kubelet.pods()


def test_node_selector_mismatch_fails_node_affinity(api, ns, node_name, kubelets):
    # a nodeSelector the node's labels do not satisfy -> Failed, reason NodeAffinity
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("picky", node_name, ["sleep", "60"], nodeSelector={"disk": "ssd"}))
    wait_for(lambda: _phase(pods, ns, "picky") == "Failed")
    assert pods.get(ns, "picky")["status"]["reason"] == "NodeAffinity"


def test_unsupported_volume_fails_pod_with_message(api, ns, node_name, kubelets):
    # a volume type this kubelet cannot provide: the Pod fails with a message naming it
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("nfs", node_name, ["sleep", "60"],
                                 volumes=[{"name": "data", "nfs": {"server": "x", "path": "/"}}]))
    wait_for(lambda: _phase(pods, ns, "nfs") == "Failed")
    assert "nfs" in pods.get(ns, "nfs")["status"]["message"]


def test_pod_removed_from_api_is_terminated_locally(api, ns, node_name, kubelets):
    # a force delete (grace 0) removes the object at once; the kubelet still stops the process
    kubelet = _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("forced", node_name, ["sleep", "60"], terminationGracePeriodSeconds=1))
    wait_for(lambda: f"{ns}/forced" in kubelet.pods())
    pods.delete(ns, "forced", grace_period_seconds=0)
    wait_for(lambda: f"{ns}/forced" not in kubelet.pods(), timeout=10)


def test_pre_stop_hook_runs_before_sigterm_without_blocking_other_pods(api, ns, node_name, kubelets,
                                                                     tmp_path):
    # preStop runs first (its file exists before the container gets SIGTERM), and meanwhile a
    # new Pod on the same node starts: a long hook does not hold up the node
    _start(api, node_name, kubelets)
    pods = ResourceClient(api, PODS)
    marker = tmp_path / "prestop-done"
    hook = {"preStop": {"exec": {"command": ["sh", "-c", f"sleep 2; touch {marker}"]}}}
    trap = f"trap 'test -f {marker} && echo hook-first > {tmp_path}/order; exit 0' TERM; " \
           "while true; do sleep 0.1; done"
    pods.create(ns, pod_manifest("hooked", node_name, ["sh", "-c", trap],
                                 container={"lifecycle": hook}, terminationGracePeriodSeconds=10))
    wait_for(lambda: _phase(pods, ns, "hooked") == "Running")
    pods.delete(ns, "hooked")
    pods.create(ns, pod_manifest("next", node_name, ["sleep", "30"]))
    wait_for(lambda: _phase(pods, ns, "next") == "Running", timeout=5)
    assert not marker.exists()  # the new Pod ran while the hook was still sleeping
    wait_for(lambda: (tmp_path / "order").exists(), timeout=10)
    assert (tmp_path / "order").read_text().strip() == "hook-first"

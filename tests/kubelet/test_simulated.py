"""Simulated kubelets in virtual time: no processes, exact times, many nodes in one process."""

from __future__ import annotations

import time

from fromscratch.controllers.client import NODES, PODS, ResourceClient, is_status
from fromscratch.kubelet import Kubelet, KubeletServer, SharedPodSource
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import SimRuntime
from tests.kubelet.conftest import pod_manifest, wait_for

CAPACITY = {"cpu": "2", "memory": "4Gi", "pods": "110"}


def _sim_kubelet(api, node_name, kubelets, clock, **kwargs) -> Kubelet:
    kubelet = Kubelet(api, node_name, SimRuntime(clock), capacity=CAPACITY, threads=False,
                      heartbeat_seconds=10, **kwargs)
    kubelets.append(kubelet.start())
    return kubelet


def _seen(kubelet: Kubelet, count: int) -> bool:
    return len(kubelet.pod_source.pods(kubelet.node_name)) >= count


def test_simulated_pod_runs_for_its_virtual_time_then_succeeds(api, ns, node_name, kubelets):
    # `sleep 30` takes 30 virtual seconds: Running at 29 s, Succeeded at 30 s, in no real time
    clock = FakeClock()
    kubelet = _sim_kubelet(api, node_name, kubelets, clock)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("nap", node_name, ["sleep", "30"], restartPolicy="Never"))
    wait_for(lambda: _seen(kubelet, 1))
    started = time.monotonic()
    kubelet.sync_once()
    assert pods.get(ns, "nap")["status"]["phase"] == "Running"
    clock.advance(29)
    kubelet.sync_once()
    assert pods.get(ns, "nap")["status"]["phase"] == "Running"
    clock.advance(1)
    kubelet.sync_once()
    assert pods.get(ns, "nap")["status"]["phase"] == "Succeeded"
    assert time.monotonic() - started < 5


def test_graceful_deletion_waits_out_the_grace_period_in_virtual_time(api, ns, node_name, kubelets):
    # a shell as PID 1 ignores SIGTERM: the kubelet SIGKILLs it after the 10 s grace, then deletes
    clock = FakeClock()
    kubelet = _sim_kubelet(api, node_name, kubelets, clock)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("stubborn", node_name, ["sleep", "infinity"],
                                 terminationGracePeriodSeconds=10))
    wait_for(lambda: _seen(kubelet, 1))
    kubelet.sync_once()
    pods.delete(ns, "stubborn")
    wait_for(lambda: any(p["metadata"].get("deletionTimestamp")
                         for p in kubelet.pod_source.pods(node_name)))
    before = clock.now()
    kubelet.sync_once()
    clock.advance(9)
    kubelet.sync_once()
    assert pods.get(ns, "stubborn")  # still terminating
    clock.advance(1)
    kubelet.sync_once()
    assert clock.now() - before == 10  # the kubelet never moved the clock itself
    try:
        pods.get(ns, "stubborn")
        raise AssertionError("the Pod should be gone")
    except Exception as err:
        assert is_status(err, 404)


def test_simulated_stats_follow_the_cpu_annotation(api, ns, node_name, kubelets):
    # sim.fromscratch.io/cpu: 250m -> 250,000,000 nanocores, integrated over virtual time
    clock = FakeClock()
    with KubeletServer() as http:
        kubelet = _sim_kubelet(api, node_name, kubelets, clock, server=http)
        pods = ResourceClient(api, PODS)
        manifest = pod_manifest("load", node_name, ["sleep", "infinity"])
        manifest["metadata"]["annotations"] = {"sim.fromscratch.io/cpu": "250m",
                                               "sim.fromscratch.io/memory": "64Mi"}
        pods.create(ns, manifest)
        wait_for(lambda: _seen(kubelet, 1))
        kubelet.sync_once()
        clock.advance(10)
        kubelet.sync_once()
        summary = kubelet.stats.summary()
        container = summary["pods"][0]["containers"][0]
        assert container["cpu"]["usageNanoCores"] == 250_000_000
        assert container["cpu"]["usageCoreNanoSeconds"] == 2_500_000_000
        assert container["memory"]["workingSetBytes"] == 64 * 1024 * 1024
        assert summary["node"]["cpu"]["usageNanoCores"] == 250_000_000


def test_many_kubelets_share_one_pod_watch(api, ns, kubelets):
    # 50 simulated nodes, one informer: each kubelet runs exactly the Pods bound to it
    clock = FakeClock()
    source = SharedPodSource(api)
    names = [f"sim-{ns}-{i}" for i in range(50)]
    fleet = [_sim_kubelet(api, name, kubelets, clock, pod_source=source, recorder=None)
             for name in names]
    pods = ResourceClient(api, PODS)
    for i, name in enumerate(names):
        pods.create(ns, pod_manifest(f"p{i}", name, ["sleep", "infinity"]))
    wait_for(lambda: sum(len(source.pods(n)) for n in names) == 50)
    for kubelet in fleet:
        kubelet.sync_once()
    assert all(list(k.pods()) == [f"{ns}/p{i}"] for i, k in enumerate(fleet))
    running = [p for p in pods.list(ns)["items"] if p["status"].get("phase") == "Running"]
    assert len(running) == 50
    nodes = ResourceClient(api, NODES).list()["items"]
    assert {n["metadata"]["name"] for n in nodes} >= set(names)
    assert len(source.informer._threads) > 0  # one watch for all of them


def test_failing_liveness_probe_restarts_container_and_records_unhealthy(api, ns, node_name,
                                                                         kubelets):
    # liveness fails 3 times (failureThreshold) -> Killing, restart; Unhealthy events in the API
    from fromscratch.controllers.client import EVENTS

    clock = FakeClock()
    kubelet = _sim_kubelet(api, node_name, kubelets, clock)
    pods = ResourceClient(api, PODS)
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 5, "failureThreshold": 3}
    pods.create(ns, pod_manifest("sick", node_name, ["sleep", "infinity"],
                                 container={"livenessProbe": probe},
                                 terminationGracePeriodSeconds=1))
    wait_for(lambda: _seen(kubelet, 1))
    for _ in range(40):  # 40 virtual seconds, one sync per second
        kubelet.sync_once()
        clock.advance(1)
    kubelet.sync_once()
    status = pods.get(ns, "sick")["status"]["containerStatuses"][0]
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 137  # SIGKILL after the grace period
    kubelet.recorder.flush()
    reasons = {e["reason"] for e in ResourceClient(api, EVENTS).list(
        ns, field_selector="involvedObject.name=sick")["items"]}
    assert {"Unhealthy", "Killing", "Started"} <= reasons


def test_active_deadline_stops_pod_as_failed_deadline_exceeded(api, ns, node_name, kubelets):
    # spec.activeDeadlineSeconds: after 30 s the kubelet stops the Pod; Failed, DeadlineExceeded
    clock = FakeClock()
    kubelet = _sim_kubelet(api, node_name, kubelets, clock)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("limited", node_name, ["sleep", "infinity"],
                                 activeDeadlineSeconds=30, terminationGracePeriodSeconds=5))
    wait_for(lambda: _seen(kubelet, 1))
    kubelet.sync_once()
    conditions = {c["type"]: c["status"] for c in pods.get(ns, "limited")["status"]["conditions"]}
    assert conditions["PodReadyToStartContainers"] == "True"
    clock.advance(29)
    kubelet.sync_once()
    assert pods.get(ns, "limited")["status"]["phase"] == "Running"
    clock.advance(1)
    kubelet.sync_once()
    status = pods.get(ns, "limited")["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "DeadlineExceeded")
    assert status["message"] == "Pod was active on the node longer than the specified deadline"
    clock.advance(5)  # the grace period: then SIGKILL
    kubelet.sync_once()
    state = pods.get(ns, "limited")["status"]["containerStatuses"][0]["state"]
    assert state["terminated"]["exitCode"] == 137

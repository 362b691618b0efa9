"""The kubelet's HTTP endpoint: /containerLogs, /stats/summary, /healthz; and Pod events.

Shapes from the kubelet's Summary API (k8s.io/kubelet/pkg/apis/stats/v1alpha1) and
``kubectl logs`` options (tailLines, previous, follow).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from fromscratch.controllers.client import EVENTS, PODS, ResourceClient
from fromscratch.kubelet import Kubelet, KubeletServer
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import ProcessRuntime, SimRuntime
from tests.kubelet.conftest import pod_manifest, wait_for

CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}


@pytest.fixture
def http():
    with KubeletServer() as server:
        yield server


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _kubelet(api, node_name, kubelets, http) -> Kubelet:
    kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, server=http,
                      heartbeat_seconds=60, sync_seconds=0.05)
    kubelets.append(kubelet.start())
    return kubelet


def test_healthz_answers_ok(http):
    assert _get(f"{http.url}/healthz") == (200, "ok")


def test_container_logs_with_tail_lines_and_unknown_names(api, ns, node_name, kubelets, http):
    # the container's output, its last N lines with tailLines; 404 naming a wrong pod or container
    _kubelet(api, node_name, kubelets, http)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("talk", node_name, ["sh", "-c", "echo one; echo two; echo three"],
                                 restartPolicy="Never"))
    wait_for(lambda: (pods.get(ns, "talk").get("status") or {}).get("phase") == "Succeeded")
    assert _get(f"{http.url}/containerLogs/{ns}/talk/main") == (200, "one\ntwo\nthree\n")
    assert _get(f"{http.url}/containerLogs/{ns}/talk/main?tailLines=2") == (200, "two\nthree\n")
    code, text = _get(f"{http.url}/containerLogs/{ns}/talk/nope")
    assert code == 404 and "nope" in text
    code, text = _get(f"{http.url}/containerLogs/{ns}/ghost/main")
    assert code == 404 and "ghost" in text
    code, text = _get(f"{http.url}/containerLogs/{ns}/talk/main?tailLines=abc")
    assert code == 400 and "tailLines" in text


def test_previous_logs_are_those_of_the_run_before_a_restart(api, ns, node_name, kubelets, http):
    # kubectl logs --previous: the output of the container's previous instance (virtual time)
    clock = FakeClock()
    kubelet = Kubelet(api, node_name, SimRuntime(clock), capacity=CAPACITY, server=http,
                      threads=False)
    kubelets.append(kubelet.start())
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("again", node_name, ["sh", "-c", "echo run; date +%s; exit 1"]))
    wait_for(lambda: kubelet.pod_source.pods(node_name))
    kubelet.sync_once()
    kubelet.sync_once()  # sees the exit: back-off until t = 10 s
    assert _get(f"{http.url}/containerLogs/{ns}/again/main?previous=true") == (200, "")
    clock.advance(10)
    kubelet.sync_once()
    assert kubelet.pods()[f"{ns}/again"].run_of("main").restart_count == 1
    code, current = _get(f"{http.url}/containerLogs/{ns}/again/main")
    code, previous = _get(f"{http.url}/containerLogs/{ns}/again/main?previous=true")
    assert previous.startswith("run") and current.startswith("run") and previous != current


def test_follow_streams_until_the_container_exits(api, ns, node_name, kubelets, http):
    # follow=true keeps the response open and sends output as it is written
    _kubelet(api, node_name, kubelets, http)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("slow", node_name,
                                 ["sh", "-c", "echo a; sleep 0.6; echo b; sleep 0.6; echo c"],
                                 restartPolicy="Never"))
    wait_for(lambda: (pods.get(ns, "slow").get("status") or {}).get("phase") == "Running")
    code, text = _get(f"{http.url}/containerLogs/{ns}/slow/main?follow=true")
    assert code == 200 and text.endswith("c\n") and text.startswith("a\n")


def test_stats_summary_has_the_summary_api_shape(api, ns, node_name, kubelets, http):
    # node and per-pod/container cpu (usageNanoCores, usageCoreNanoSeconds) and memory (workingSet)
    kubelet = _kubelet(api, node_name, kubelets, http)
    pods = ResourceClient(api, PODS)
    burn = ["python3", "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"]
    pods.create(ns, pod_manifest("burn", node_name, burn))
    wait_for(lambda: f"{ns}/burn" in kubelet.pods())

    def busy() -> dict | None:
        kubelet.stats.maybe_sample(force=True)
        code, text = _get(f"{http.url}/stats/summary")
        summary = json.loads(text)
        found = [p for p in summary["pods"] if p["podRef"]["name"] == "burn"]
        return summary if found and found[0]["containers"][0]["cpu"]["usageNanoCores"] > 0 else None

    summary = wait_for(busy, timeout=10, interval=0.3)
    assert summary["node"]["nodeName"] == node_name
    assert summary["node"]["cpu"]["usageCoreNanoSeconds"] > 0
    assert summary["node"]["memory"]["workingSetBytes"] > 0
    pod = next(p for p in summary["pods"] if p["podRef"]["name"] == "burn")
    assert pod["podRef"]["namespace"] == ns and pod["podRef"]["uid"]
    container = pod["containers"][0]
    assert container["name"] == "main"
    # a busy loop: measurably busy, and never more than one core (it is one thread)
    assert 0.02e9 < container["cpu"]["usageNanoCores"] < 1.1e9
    assert container["memory"]["workingSetBytes"] > 1_000_000
    assert container["cpu"]["usageCoreNanoSeconds"] > 0


def test_summary_with_two_nodes_needs_the_node_name(api, node_name, kubelets, http):
    # one server for many kubelets: ?node= picks the node; without it the request is refused
    _kubelet(api, node_name, kubelets, http)
    _kubelet(api, node_name + "-b", kubelets, http)
    code, text = _get(f"{http.url}/stats/summary")
    assert code == 400 and "node" in text
    code, text = _get(f"{http.url}/stats/summary?node={node_name}-b")
    assert code == 200 and json.loads(text)["node"]["nodeName"] == node_name + "-b"


def test_pod_events_are_recorded_with_kubelet_source(api, ns, node_name, kubelets, http):
    # Pulled, Created, Started for the container, source kubelet on this host (kubectl describe)
    kubelet = _kubelet(api, node_name, kubelets, http)
    pods = ResourceClient(api, PODS)
    pods.create(ns, pod_manifest("noisy", node_name, ["sleep", "30"]))
    wait_for(lambda: (pods.get(ns, "noisy").get("status") or {}).get("phase") == "Running")
    kubelet.recorder.flush()
    listed = ResourceClient(api, EVENTS).list(ns, field_selector="involvedObject.name=noisy")["items"]
    reasons = [e["reason"] for e in listed]
    assert {"Pulled", "Created", "Started"} <= set(reasons)  # a list is ordered by name, not time
    started = next(e for e in listed if e["reason"] == "Started")
    assert started["source"] == {"component": "kubelet", "host": node_name}
    assert started["involvedObject"]["fieldPath"] == "spec.containers{main}"
    assert started["involvedObject"]["kind"] == "Pod"


def test_cpu_of_a_finished_child_process_stays_counted(api, ns, node_name, kubelets, http):
    # cumulative CPU only grows: a child's second of work still counts after the shell reaped it
    kubelet = _kubelet(api, node_name, kubelets, http)
    pods = ResourceClient(api, PODS)
    burn = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    pods.create(ns, pod_manifest("child", node_name,
                                 ["sh", "-c", f"python3 -c '{burn}'; echo done; sleep 30"]))
    pod = wait_for(lambda: kubelet.pods().get(f"{ns}/child"))
    wait_for(lambda: pod.logs("main") == "done\n", timeout=15)
    cpu, _ = kubelet.stats.container_usage(pod, "main")
    assert cpu >= 0.45e9  # the child's 0.5 s of CPU, though the child is gone

"""Metrics sources, the rate arithmetic of the metrics pipeline, and the metrics.k8s.io API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fromscratch.autoscaling.metrics import LoadModel, MetricsAPIClient, _duration_seconds
from fromscratch.autoscaling.metrics_api import POD_METRICS, pod_metrics_object, publish, serve_metrics_api
from fromscratch.autoscaling.metrics_server import CpuReading, cpu_rate, cpu_reading, kubelet_summary_url

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"


def test_load_model_shares_demand_and_respects_limits():
    load = LoadModel.steps((0, 300), (60, 900), limit=250, baseline=10)
    assert load.per_pod(0, 3) == 110
    assert load.per_pod(60, 3) == 250  # 310 wanted, the limit caps it
    assert load.per_pod(60, 0) == 0


def test_go_durations_parse():
    assert _duration_seconds("15s") == 15 and _duration_seconds("1m0s") == 60
    assert _duration_seconds("500ms") == 0.5


def test_cpu_rate_is_the_counter_difference_over_the_kubelets_time_difference():
    before = cpu_reading({"time": "2024-01-01T00:00:00.000000Z", "usageCoreNanoSeconds": 10_000_000_000})
    after = cpu_reading({"time": "2024-01-01T00:00:02.000000Z", "usageCoreNanoSeconds": 10_500_000_000})
    assert before is not None and after is not None and after.precise
    # 0.5 CPU-seconds in 2 seconds: 250 millicores, measured over a 2 s window
    assert cpu_rate(before, after, resolution=1.0) == (250, 2.0)


def test_cpu_rate_rounds_up_to_whole_millicores_like_milli_value():
    before = CpuReading(0, 100.0, True)
    assert cpu_rate(before, CpuReading(1_000_001, 101.0, True), 1.0) == (2, 1.0)


def test_cpu_rate_needs_two_readings_and_starts_over_after_a_restart():
    first = CpuReading(5_000_000_000, 100.0, True)
    assert cpu_rate(None, first, 1.0) is None  # first sight: no rate yet
    assert cpu_rate(first, CpuReading(1_000_000, 101.0, True), 1.0) is None  # counter went down
    assert cpu_rate(first, CpuReading(5_000_000_000, 100.0, True), 1.0) is None  # same reading


def test_whole_second_timestamps_fall_back_to_the_kubelets_own_rate():
    before = cpu_reading({"time": "2024-01-01T00:00:00Z", "usageCoreNanoSeconds": 0, "usageNanoCores": 0})
    after = cpu_reading({"time": "2024-01-01T00:00:01Z", "usageCoreNanoSeconds": 300_000_000,
                         "usageNanoCores": 123_400_000})
    assert after is not None and not after.precise
    assert cpu_rate(before, after, resolution=1.5) == (124, 1.5)
    assert cpu_reading({"time": "2024-01-01T00:00:01Z"}) is None  # no counter: no reading


def test_kubelet_address_comes_from_the_node_status():
    node = {"metadata": {"name": "node-1"},
            "status": {"addresses": [{"type": "Hostname", "address": "node-1"},
                                     {"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
    assert kubelet_summary_url(node) == "http://127.0.0.1:10250/stats/summary?node=node-1"
    assert kubelet_summary_url({"metadata": {"name": "n"}, "status": {}}) is None


def test_metrics_api_serves_pod_metrics_to_the_hpa_client_and_kubectl_top(server, api, ns):
    serve_metrics_api(server)
    busy = pod_metrics_object(ns, "busy", {"app": "busy"}, {"main": (250, 8 << 20), "side": (5, 1 << 20)},
                              timestamp=1_700_000_000, window=1.0)
    published = publish(server, POD_METRICS, [busy], set())
    assert published == {(ns, "busy")}
    # the HPA's metrics client sums the containers, through the official client
    read = MetricsAPIClient(api).resource_metrics(ns, "app=busy", "cpu")
    assert set(read) == {"busy"} and read["busy"].value == 255 and read["busy"].window == 1.0
    with pytest.raises(LookupError, match="no metrics returned"):
        MetricsAPIClient(api).resource_metrics(ns, "app=nothing", "cpu")
    # kubectl top finds the API in discovery
    top = subprocess.run([str(KUBECTL), "--kubeconfig", server.kubeconfig_path, "top", "pod", "busy",
                          "-n", ns, "--no-headers"], capture_output=True, text=True, timeout=30)
    assert top.returncode == 0 and top.stdout.split()[:2] == ["busy", "255m"], top.stderr
    # a Pod no longer measured disappears at the next publish
    assert publish(server, POD_METRICS, [], published) == set()
    with pytest.raises(LookupError):
        MetricsAPIClient(api).resource_metrics(ns, "app=busy", "cpu")

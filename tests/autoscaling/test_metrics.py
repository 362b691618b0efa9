"""Metrics sources and the resource metrics API (metrics.k8s.io) that kubectl top reads."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from fromscratch.autoscaling.metrics import LoadModel, MetricsAPIClient, UsageScraper, _duration_seconds
from fromscratch.autoscaling.metrics_api import MetricsPublisher, serve_metrics_api

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
BUSY = "import time\nwhile True: time.process_time()"


@pytest.fixture
def busy_process():
    process = subprocess.Popen([sys.executable, "-c", BUSY])
    yield process
    process.kill()
    process.wait()


def test_scraper_reports_a_pod_only_after_two_samples(busy_process):
    # a rate needs two cumulative readings, as in metrics-server
    scraper = UsageScraper()
    scraper.track("default", "busy", {"app": "busy"}, busy_process.pid)
    assert scraper.resource_metrics("default", "app=busy", "cpu") == {}
    time.sleep(0.5)
    scraper.scrape()
    metric = scraper.resource_metrics("default", "app=busy", "cpu")["busy"]
    assert 100 < metric.value <= 1100 and metric.window > 0.4
    assert scraper.resource_metrics("default", "app=other", "cpu") == {}
    assert scraper.resource_metrics("default", "app=busy", "memory")["busy"].value > 0


def test_load_model_shares_demand_and_respects_limits():
    load = LoadModel.steps((0, 300), (60, 900), limit=250, baseline=10)
    assert load.per_pod(0, 3) == 110
    assert load.per_pod(60, 3) == 250  # 310 wanted, the limit caps it
    assert load.per_pod(60, 0) == 0


def test_go_durations_parse():
    assert _duration_seconds("15s") == 15 and _duration_seconds("1m0s") == 60
    assert _duration_seconds("500ms") == 0.5


def test_metrics_api_serves_pod_and_node_metrics(server, api, ns, busy_process):
    serve_metrics_api(server)
    scraper = UsageScraper()
    scraper.track(ns, "busy", {"app": "busy"}, busy_process.pid)
    time.sleep(0.5)
    publisher = MetricsPublisher(server, scraper, node_name=f"node-{ns}")
    publisher.publish_once()
    # the HPA's metrics client reads back what was published, through the official client
    read = MetricsAPIClient(api).resource_metrics(ns, "app=busy", "cpu")
    assert set(read) == {"busy"} and read["busy"].value > 0
    with pytest.raises(LookupError, match="no metrics returned"):
        MetricsAPIClient(api).resource_metrics(ns, "app=nothing", "cpu")
    # kubectl top finds the API in discovery and prints both
    top = subprocess.run([str(KUBECTL), "--kubeconfig", server.kubeconfig_path, "top", "pod", "busy",
                          "-n", ns, "--no-headers"], capture_output=True, text=True, timeout=30)
    assert top.returncode == 0 and top.stdout.split()[0] == "busy", top.stderr
    # a Pod that is no longer tracked disappears from the API at the next publish
    scraper.forget(ns, "busy")
    publisher.publish_once()
    with pytest.raises(LookupError):
        MetricsAPIClient(api).resource_metrics(ns, "app=busy", "cpu")

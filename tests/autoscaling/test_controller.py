"""The HPA controller against the API server: it reads the scale subresource and Pods,
writes the scale, the HPA status and Events (metrics seeded by hand)."""

from __future__ import annotations

import time

from kubernetes import client as k8s

from fromscratch.autoscaling.controller import HPAS, HorizontalPodAutoscalerController
from fromscratch.autoscaling.metrics import FixedMetrics
from fromscratch.autoscaling.objects import burner_deployment, hpa_manifest
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, EVENTS, PODS, ResourceClient
from fromscratch.controllers.podutil import format_time

LEVELS = {"web-a": 300, "web-b": 500, "web-c": 700}  # millicores; each Pod requests 1 CPU


def _seed(api, ns: str, *, request: str | None = "1") -> None:
    """A Deployment at 3 replicas and its 3 running, ready Pods (no kubelet needed)."""
    ResourceClient(api, DEPLOYMENTS).create(ns, burner_deployment("web", namespace=ns, replicas=3,
                                                                  cpu_request=request))
    pods = ResourceClient(api, PODS)
    long_ago = format_time(time.time() - 3600)
    for name in LEVELS:
        resources = {"requests": {"cpu": request}} if request else {}
        pods.create(ns, {"metadata": {"name": name, "labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "burner", "image": "x", "resources": resources}]}})
        pods.patch(ns, name, {"status": {"phase": "Running", "startTime": long_ago, "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": long_ago}]}}, subresource="status")


def _wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _manager(api, ns: str, metrics) -> ControllerManager:
    controller = HorizontalPodAutoscalerController.with_options(sync_period=0.5, metrics=metrics)
    return ControllerManager(api, controllers=[controller], namespace=ns)


def test_controller_scales_the_deployment_and_reports(api, ns):
    # upstream ScaleUp case end to end: 3 Pods at 300/500/700m of 1 CPU, 30 % -> 5
    _seed(api, ns)
    hpas = ResourceClient(api, HPAS)
    with _manager(api, ns, FixedMetrics(LEVELS, timestamp=time.time())):
        hpas.create(ns, hpa_manifest("web", namespace=ns, cpu_percent=30, max_replicas=10))
        _wait(lambda: ResourceClient(api, DEPLOYMENTS).get(ns, "web")["spec"]["replicas"] == 5)
        status = _wait(lambda: hpas.get(ns, "web")["status"].get("currentMetrics") and
                       hpas.get(ns, "web")["status"])
    assert status["desiredReplicas"] == 5 and "lastScaleTime" in status
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 50
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons["ScalingActive"] == "ValidMetricFound"
    events = ResourceClient(api, EVENTS).list(ns)["items"]
    assert any(e["reason"] == "SuccessfulRescale" and e["message"].startswith("New size: 5;")
               for e in events)
    # the official client reads the same HPA as autoscaling/v1 too
    v1 = k8s.AutoscalingV1Api(api).read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert v1.status.current_cpu_utilization_percentage == 50 and v1.status.desired_replicas == 5


def test_controller_without_requests_says_why(api, ns):
    # no requests, no autoscaling: ScalingActive=False with the reason upstream gives
    _seed(api, ns, request=None)
    hpas = ResourceClient(api, HPAS)
    with _manager(api, ns, FixedMetrics(LEVELS, timestamp=time.time())):
        hpas.create(ns, hpa_manifest("web", namespace=ns, cpu_percent=30))
        active = _wait(lambda: next((c for c in hpas.get(ns, "web")["status"].get("conditions") or []
                                     if c["type"] == "ScalingActive"), None))
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert "missing request for cpu in container burner" in active["message"]
    assert ResourceClient(api, DEPLOYMENTS).get(ns, "web")["spec"]["replicas"] == 3


def test_controller_reports_a_missing_target(api, ns):
    hpas = ResourceClient(api, HPAS)
    with _manager(api, ns, FixedMetrics({})):
        hpas.create(ns, hpa_manifest("nothing", namespace=ns))
        able = _wait(lambda: next((c for c in hpas.get(ns, "nothing")["status"].get("conditions") or []
                                   if c["type"] == "AbleToScale"), None))
    assert (able["status"], able["reason"]) == ("False", "FailedGetScale")


def test_kubectl_autoscale_creates_the_hpa_and_get_shows_targets(server, api, ns):
    # kubectl autoscale sends an autoscaling/v2 HPA as protobuf; get hpa prints TARGETS
    import subprocess
    from pathlib import Path

    kubectl = [str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"),
               "--kubeconfig", server.kubeconfig_path, "-n", ns]
    ResourceClient(api, DEPLOYMENTS).create(ns, burner_deployment("web", namespace=ns))
    made = subprocess.run([*kubectl, "autoscale", "deployment", "web", "--cpu=50%", "--min=2",
                           "--max=7"], capture_output=True, text=True, timeout=30)
    assert made.returncode == 0, made.stderr
    hpa = ResourceClient(api, HPAS).get(ns, "web")
    assert hpa["spec"]["scaleTargetRef"] == {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 7)
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    shown = subprocess.run([*kubectl, "get", "hpa", "web", "--no-headers"], capture_output=True,
                           text=True, timeout=30)
    assert shown.stdout.split()[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "2", "7"]


def test_own_status_writes_do_not_make_it_sync_faster_than_the_period(api, ns):
    # every HPA is reconciled once per sync period: the MODIFIED event of our own status
    # write waits for the period (upstream's fixed-interval rate limiter), in virtual time here
    from fromscratch.controllers.clock import FakeClock

    class Drifting(FixedMetrics):
        """Usage creeps up on every read, so every sync writes a new status."""

        def resource_metrics(self, namespace, selector, resource):
            self.values = {name: value + 10 for name, value in self.values.items()}
            return super().resource_metrics(namespace, selector, resource)

    clock = FakeClock(start=time.time())
    _seed(api, ns)
    controller = HorizontalPodAutoscalerController.with_options(
        sync_period=15.0, metrics=Drifting(LEVELS, timestamp=time.time()))
    with ControllerManager(api, controllers=[controller], namespace=ns, clock=clock) as manager:
        hpa = manager["horizontalpodautoscaler"]
        ResourceClient(api, HPAS).create(ns, hpa_manifest("web", namespace=ns, cpu_percent=30,
                                                          max_replicas=20))
        _wait(lambda: ResourceClient(api, HPAS).get(ns, "web")["status"].get("currentMetrics"))
        syncs = hpa.reconciles
        time.sleep(1.0)  # real time passes; virtual time does not
        assert hpa.reconciles == syncs
        clock.advance(15)
        _wait(lambda: hpa.reconciles == syncs + 1)

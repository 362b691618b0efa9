"""The HPA in virtual time: scale-up under load, the stabilization window on the way down."""

from __future__ import annotations

from fromscratch.autoscaling.behavior import DEFAULT_BEHAVIOR, Behavior, ScalingPolicy, ScalingRules
from fromscratch.autoscaling.metrics import LoadModel
from fromscratch.autoscaling.objects import hpa_manifest
from fromscratch.autoscaling.simulation import Simulation

# 40m of demand, then 800m for 20 minutes, then 40m again; Pods request 100m, target 50 %
SPIKE = LoadModel.steps((0, 40), (300, 800), (1500, 40))


def _first(samples, predicate):
    return next(s for s in samples if predicate(s))


def test_load_spike_scales_up_then_down_after_the_window():
    sim = Simulation(hpa_manifest("web", cpu_percent=50, max_replicas=20, behavior=DEFAULT_BEHAVIOR),
                     SPIKE)
    samples = sim.run(3600)
    assert samples[0].desired == 1
    # 800m / 50m per Pod -> 16 replicas, reached within the default scale-up policies
    peak = _first(samples, lambda s: s.desired == 16)
    assert peak.t < 400
    # load drops at t=1500; the last high recommendation (t=1485) holds the replicas
    # for the 300 s window, then they go
    last_high = max(s.t for s in samples if s.recommended == 16)
    down = _first(samples, lambda s: s.t > 1500 and s.desired < 16)
    assert (last_high, down.t) == (1485, 1485 + 300)
    assert samples[-1].desired == 1


def test_scale_up_is_paced_by_policies():
    # default scale-up: at most max(+100 %, +4 Pods) per 15 s: 1 -> 5 -> 10 -> 16
    sim = Simulation(hpa_manifest("web", cpu_percent=50, max_replicas=20, behavior=DEFAULT_BEHAVIOR),
                     SPIKE, startup_seconds=0)
    steps = sorted({s.desired for s in sim.run(600)})
    assert steps == [1, 5, 10, 16]


def test_no_window_scales_down_at_once():
    fast = Behavior(DEFAULT_BEHAVIOR.scale_up,
                    ScalingRules(0, (ScalingPolicy("Percent", 100, 15),)))
    sim = Simulation(hpa_manifest("web", cpu_percent=50, max_replicas=20, behavior=fast), SPIKE)
    samples = sim.run(1800)
    down = _first(samples, lambda s: s.t > 1500 and s.desired < 16)
    assert down.t <= 1500 + 15


def test_pods_without_requests_never_scale():
    sim = Simulation(hpa_manifest("web", cpu_percent=50), SPIKE, request_millicores=None)
    assert {s.desired for s in sim.run(900)} == {1}
    active = next(c for c in sim.hpa["status"]["conditions"] if c["type"] == "ScalingActive")
    assert active["reason"] == "FailedGetResourceMetric"


def test_a_virtual_hour_is_deterministic():
    hpa = hpa_manifest("web", cpu_percent=50, max_replicas=20)
    assert Simulation(hpa, SPIKE).run(3600) == Simulation(hpa, SPIKE).run(3600)


def test_pods_metric_requests_per_second_drives_scaling():
    # a Pods metric: 800m of demand at 10 ms per request is 80 requests/s; 5 per Pod -> 16
    from fromscratch.autoscaling.metrics import LoadModel as Load

    rps = {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                                    "target": {"type": "AverageValue", "averageValue": "5"}}}
    load = Load.steps((0, 40), (300, 800), (1500, 40), cost_ms=10)
    sim = Simulation(hpa_manifest("web", max_replicas=20, metrics=[rps], behavior=DEFAULT_BEHAVIOR), load)
    samples = sim.run(1485)  # up to the last sync before the load drops
    assert samples[0].desired == 1 and samples[-1].desired == 16
    assert sim.hpa["status"]["currentMetrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "requests_per_second"}, "current": {"averageValue": "5"}}}]

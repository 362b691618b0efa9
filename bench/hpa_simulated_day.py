"""A simulated day of HPA decisions for a Deployment of up to 100 Pods: how long does it take?

The load follows a day: a quiet night (2 CPUs of demand), a morning ramp, an afternoon peak
(8 CPUs) and spikes; each Pod requests 100m and the HPA targets 80 %, so the Deployment swings
between ~25 and 100 replicas.  One sync every 15 s is 5760 decisions.

Measured in the same run:

- **virtual time** — ``Simulation`` calls the HPA's decision (``HorizontalAutoscaler.decide``)
  directly: wall time for the whole day, decisions per second, and the speed-up over real time;
- **the controller path** (the peer) — the same decision made by ``HorizontalPodAutoscalerController``
  through the API server and the official client (GET scale, a decision over 100 cached Pods,
  PUT status), for ``--syncs`` syncs whose measured load alternates so that every sync writes
  a new status: the cost of one real sync.

There is no upstream kube-controller-manager on this machine to time against; the ratio printed
is controller-path sync time / virtual-time decision time.
Run: ``.venv/bin/python bench/hpa_simulated_day.py [--syncs 50]``.
"""

from __future__ import annotations

import argparse
import math
import time

from fromscratch.autoscaling.behavior import DEFAULT_BEHAVIOR
from fromscratch.autoscaling.metrics import FixedMetrics, LoadModel
from fromscratch.autoscaling.objects import burner_deployment, hpa_manifest
from fromscratch.autoscaling.simulation import Simulation

DAY = 86_400.0


def day_demand(t: float) -> float:
    """Millicores asked for at second ``t`` of the day."""
    hour = (t % DAY) / 3600
    base = 2000 + 6000 * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 2000
    spike = 1500 if int(t // 900) % 7 == 3 else 0  # a burst every 105 minutes, 15 minutes long
    return base + spike


def simulated_day() -> tuple[float, int, int]:
    hpa = hpa_manifest("web", cpu_percent=80, min_replicas=1, max_replicas=100, behavior=DEFAULT_BEHAVIOR)
    sim = Simulation(hpa, LoadModel(day_demand), replicas=25)
    started = time.perf_counter()
    samples = sim.run(DAY)
    return time.perf_counter() - started, len(samples), max(s.desired for s in samples)


def controller_path(syncs: int) -> float:
    """Seconds per sync of the real controller against the API server, with 100 Pods."""
    from fromscratch.api.server import APIServer
    from fromscratch.autoscaling.controller import HPAS, HorizontalPodAutoscalerController
    from fromscratch.controllers.base import ControllerManager
    from fromscratch.controllers.client import DEPLOYMENTS, PODS, ResourceClient
    from fromscratch.controllers.podutil import format_time

    with APIServer() as server:
        api = server.client()
        ResourceClient(api, DEPLOYMENTS).create("default", burner_deployment("web", replicas=100))
        pods, long_ago = ResourceClient(api, PODS), format_time(time.time() - 3600)
        for i in range(100):
            name = f"web-{i:03d}"
            pods.create("default", {"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {
                "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "100m"}}}]}})
            pods.patch("default", name, {"status": {"phase": "Running", "startTime": long_ago,
                                                    "conditions": [{"type": "Ready", "status": "True",
                                                                    "lastTransitionTime": long_ago}]}},
                       subresource="status")
        # alternate between two loads so that every sync writes a new status
        metrics = FixedMetrics({f"web-{i:03d}": 80 for i in range(100)}, timestamp=time.time())
        controller_cls = HorizontalPodAutoscalerController.with_options(sync_period=3600, metrics=metrics)
        with ControllerManager(api, controllers=[controller_cls], namespace="default") as manager:
            controller = manager["horizontalpodautoscaler"]
            controller.stop()  # we drive reconcile ourselves, one sync at a time
            ResourceClient(api, HPAS).create("default", hpa_manifest("web", cpu_percent=80,
                                                                     max_replicas=100))
            deadline = time.monotonic() + 10
            while controller.informer.get("default", "web") is None and time.monotonic() < deadline:
                time.sleep(0.01)
            started = time.perf_counter()
            for i in range(syncs):
                level = 80 if i % 2 else 160
                metrics.values = dict.fromkeys(metrics.values, level)
                controller.reconcile("default/web")
            return (time.perf_counter() - started) / syncs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--syncs", type=int, default=50, help="syncs through the API server")
    args = parser.parse_args()
    wall, decisions, peak = simulated_day()
    per_decision = wall / decisions
    print(f"simulated day: {decisions} decisions (15 s sync), peak {peak} replicas, "
          f"{wall:.2f} s wall, {decisions / wall:,.0f} decisions/s, {DAY / wall:,.0f}x real time")
    per_sync = controller_path(args.syncs)
    print(f"controller through the API server: {per_sync * 1000:.1f} ms per sync with 100 Pods "
          f"({args.syncs} syncs)")
    print(f"ratio controller-path sync / virtual-time decision: {per_sync / per_decision:.1f}x; "
          f"a day of syncs through the API server would take {per_sync * decisions:.0f} s")


if __name__ == "__main__":
    main()

"""The HPA in virtual time: an hour of autoscaling in a fraction of a second.

The decision is the controller's own (:class:`~fromscratch.autoscaling.autoscaler.HorizontalAutoscaler`);
only the world around it is modelled:

- a **target** (a Deployment) whose Pods are Pending for ``schedule_seconds``,
  then Running but not Ready for ``startup_seconds``, then Ready; scaling down
  removes not-ready Pods first, then the newest (the ReplicaSet's deletion order);
- a **load model** (:class:`~fromscratch.autoscaling.metrics.LoadModel`) whose
  demand the ready Pods share; starting Pods report only their baseline;
- a **clock** (``controllers.clock.FakeClock``) that the simulation advances
  by one sync period (15 s, ``--horizontal-pod-autoscaler-sync-period``) per step.

:meth:`Simulation.run` returns one :class:`Sample` per sync for plotting.

Simplified: metrics are the instantaneous demand at the sync (metrics-server
averages over its window); Pods never fail.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fromscratch.autoscaling.autoscaler import Decision, HorizontalAutoscaler
from fromscratch.autoscaling.metrics import LoadModel
from fromscratch.autoscaling.replicas import PodMetric
from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    """The state after one sync."""

    t: float  # seconds since the start
    demand: float  # total millicores asked for
    utilization: int | None  # % of request, as the HPA measured it
    recommended: int | None  # what the metrics asked for, before stabilization/policies
    desired: int  # what the HPA set
    replicas: int  # Pods that exist after the sync
    ready: int  # Pods Ready at the sync


class SimulatedTarget:
    """A Deployment's Pods in virtual time."""

    def __init__(self, name: str, *, namespace: str = "default", replicas: int = 1,
                 request_millicores: int | None = 100, schedule_seconds: float = 0.0,
                 startup_seconds: float = 20.0, now: float = 0.0) -> None:
        self.name, self.namespace = name, namespace
        self.request = request_millicores
        self.schedule_seconds, self.startup_seconds = schedule_seconds, startup_seconds
        self.pods: list[Obj] = []
        self.born: dict[str, float] = {}
        self.serial = 0
        self.replicas = replicas
        self.set_replicas(replicas, now, initial=True)

    def scale(self) -> Obj:
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {"replicas": self.replicas},
                "status": {"replicas": len(self.pods), "selector": f"app={self.name}"}}

    def _new_pod(self, now: float, ready: bool) -> Obj:
        self.serial += 1
        name = f"{self.name}-{self.serial:05d}"
        container: Obj = {"name": "app", "resources": {}}
        if self.request is not None:
            container["resources"]["requests"] = {"cpu": f"{self.request}m"}
        pod = {"metadata": {"name": name, "namespace": self.namespace, "labels": {"app": self.name}},
               "spec": {"containers": [container]}, "status": {"phase": "Pending"}}
        # pods present from the start have been up for a long time
        self.born[name] = now - (3600 if ready else 0)
        self.pods.append(pod)
        return pod

    def set_replicas(self, replicas: int, now: float, *, initial: bool = False) -> None:
        self.replicas = replicas
        while len(self.pods) < replicas:
            self._new_pod(now, ready=initial)
        if len(self.pods) > replicas:
            # not-ready Pods go first, then the newest
            ranked = sorted(self.pods, key=lambda p: (self.is_ready(p), -self.born[p["metadata"]["name"]]))
            for pod in ranked[:len(self.pods) - replicas]:
                self.pods.remove(pod)
                self.born.pop(pod["metadata"]["name"])
        self.advance(now)

    def advance(self, now: float) -> None:
        """Move each Pod through Pending -> Running -> Ready as time passes."""
        for pod in self.pods:
            born = self.born[pod["metadata"]["name"]]
            started = born + self.schedule_seconds
            ready_at = started + self.startup_seconds
            if now < started:
                continue
            status = pod["status"]
            status.update(phase="Running", startTime=format_time(started))
            ready = now >= ready_at
            status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                     "lastTransitionTime": format_time(ready_at if ready else started)}]

    @staticmethod
    def is_ready(pod: Obj) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (pod.get("status") or {}).get("conditions") or [])

    def ready_count(self) -> int:
        return sum(1 for p in self.pods if self.is_ready(p))


class SimulatedMetrics:
    """What a metrics-server would report for the target's Pods under ``load``."""

    def __init__(self, target: SimulatedTarget, load: LoadModel, clock: FakeClock, start: float,
                 window: float = 15.0) -> None:
        self.target, self.load, self.clock, self.start, self.window = target, load, clock, start, window

    def resource_metrics(self, namespace: str, selector: str, resource: str) -> dict[str, PodMetric]:
        if resource != "cpu":
            return {}
        now = self.clock.now()
        share = self.load.per_pod(now - self.start, self.target.ready_count())
        return {p["metadata"]["name"]: PodMetric(share if self.target.is_ready(p) else self.load.baseline,
                                                 now, self.window)
                for p in self.target.pods if p["status"].get("phase") == "Running"}


    def pods_metric(self, namespace: str, selector: str, metric: str) -> dict[str, PodMetric]:
        """``requests_per_second`` per ready Pod, when the load model knows a request's cost."""
        if metric != "requests_per_second" or not self.load.cost_ms:
            raise LookupError(f"no pods metric {metric!r} in this simulation")
        now = self.clock.now()
        ready = [p for p in self.target.pods if self.target.is_ready(p)]
        rate = self.load.demand(now - self.start) / self.load.cost_ms  # requests per second
        share = round(rate / len(ready) * 1000) if ready else 0  # milli-requests per second
        return {p["metadata"]["name"]: PodMetric(share, now, self.window) for p in ready}


class Simulation:
    """One HPA, its target and a load, stepped one sync period at a time."""

    def __init__(self, hpa: Obj, load: LoadModel, *, replicas: int = 1, sync_period: float = 15.0,
                 startup_seconds: float = 20.0, request_millicores: int | None = 100,
                 clock: FakeClock | None = None, autoscaler: HorizontalAutoscaler | None = None) -> None:
        self.hpa = copy.deepcopy(hpa)
        self.hpa.setdefault("status", {})
        self.clock = clock or FakeClock()
        self.start = self.clock.now()
        self.sync_period = sync_period
        self.autoscaler = autoscaler or HorizontalAutoscaler()
        self.target = SimulatedTarget(hpa["spec"]["scaleTargetRef"]["name"], replicas=replicas,
                                      namespace=hpa["metadata"].get("namespace", "default"),
                                      request_millicores=request_millicores,
                                      startup_seconds=startup_seconds, now=self.start)
        self.metrics = SimulatedMetrics(self.target, load, self.clock, self.start)
        self.load = load
        self.last: Decision | None = None

    def step(self) -> Sample:
        """Advance one sync period, then run one sync of the HPA."""
        self.clock.advance(self.sync_period)
        now = self.clock.now()
        self.target.advance(now)
        ready = self.target.ready_count()
        decision = self.autoscaler.decide(self.hpa, self.target.scale(), list(self.target.pods),
                                          self.metrics, now=now)
        if decision.rescale:
            self.target.set_replicas(decision.desired_replicas, now)
        self.hpa["status"] = self.autoscaler.status_after(self.hpa, decision, now=now)
        self.last = decision
        return Sample(now - self.start, self.load.demand(now - self.start), decision.utilization,
                      decision.recommended, self.target.replicas, len(self.target.pods), ready)

    def run(self, seconds: float) -> list[Sample]:
        """Run for ``seconds`` of virtual time (one sample per sync period)."""
        return [self.step() for _ in range(int(seconds // self.sync_period))]

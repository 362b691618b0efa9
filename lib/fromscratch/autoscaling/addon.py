"""Autoscaling for an embedded cluster: metrics-server and the HPA controller, added from outside.

In a kubeadm cluster the HPA controller is part of kube-controller-manager
(tuned with ``--horizontal-pod-autoscaler-sync-period`` and
``--horizontal-pod-autoscaler-downscale-stabilization``) and metrics-server is
an add-on Deployment.  :class:`Autoscaling` adds both to a running
:class:`~fromscratch.cluster.Cluster`::

    with Cluster(nodes=2, runtime="process") as c, Autoscaling(c, sync_period=1) as hpa:
        c.apply(yaml.safe_dump(burner_deployment("web", port_dir=hpa.port_dir)))
        c.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5")
        with hpa.load("app=web", rate=25):
            ...

- a :class:`~fromscratch.autoscaling.metrics_server.MetricsServer` scraping
  every kubelet each ``resolution`` seconds, so ``kubectl top`` works;
- a second controller manager running only the HPA controller, on the
  cluster's API server (its sync period shortened for demonstrations);
- a directory on the node for the burners' ports (:mod:`.burner`), and load
  generators aimed at it.

Simplified: the HPA controller gets its own informers instead of sharing the
cluster controller manager's.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

from fromscratch.autoscaling.controller import HorizontalPodAutoscalerController
from fromscratch.autoscaling.load import LoadGenerator
from fromscratch.autoscaling.metrics_server import MetricsServer


class Autoscaling:
    """metrics-server, the HPA controller and the burners' port directory for ``cluster``."""

    def __init__(self, cluster: Any, *, sync_period: float = 15.0, resolution: float = 1.0,
                 namespace: str = "", **autoscaler_options: float) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.sync_period, self.resolution = sync_period, resolution
        self.autoscaler_options = autoscaler_options
        self.metrics: MetricsServer | None = None
        self.controllers: Any = None
        self.loads: list[LoadGenerator] = []
        self.port_dir = Path(tempfile.mkdtemp(prefix="fromscratch-burners-"))

    def start(self) -> Self:
        from fromscratch.controllers.base import ControllerManager

        cluster = self.cluster
        try:
            self.metrics = MetricsServer(cluster.server, cluster.api, resolution=self.resolution)
            self.metrics.start()
            hpa = HorizontalPodAutoscalerController.with_options(
                sync_period=self.sync_period, **self.autoscaler_options)
            self.controllers = ControllerManager(cluster.api, controllers=[hpa],
                                                 namespace=self.namespace)
            self.controllers.start()
        except BaseException:
            self.stop()
            raise
        return self

    def load(self, selector: str, *, namespace: str = "default", rate: float = 0.0,
             cost_ms: float = 10.0) -> LoadGenerator:
        """A started load generator on the Ready Pods of ``selector`` (stopped by :meth:`stop`)."""
        generator = LoadGenerator(self.cluster.api, self.port_dir, namespace=namespace,
                                  selector=selector, rate=rate, cost_ms=cost_ms)
        self.loads.append(generator)
        return generator.start()

    def stop(self) -> None:
        """Stop the load, the HPA controller and the scrapes; remove the port directory."""
        for generator in self.loads:
            generator.stop()
        self.loads.clear()
        if self.controllers is not None:
            self.controllers.stop()
            self.controllers = None
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None
        shutil.rmtree(self.port_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

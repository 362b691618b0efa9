"""The resource metrics API, ``metrics.k8s.io/v1beta1``: what ``kubectl top`` and the HPA read.

Models metrics-server: it scrapes every kubelet, keeps the latest CPU rate and
memory working set per container, and serves them as ``PodMetrics`` and
``NodeMetrics`` through the API server (an *aggregated* API in a real cluster)::

    {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
     "metadata": {"name": "web-x7k2p", "namespace": "default", "labels": {...}},
     "timestamp": "...", "window": "1.0s",
     "containers": [{"name": "burner", "usage": {"cpu": "512m", "memory": "9300Ki"}}]}

Here the API server serves the group like any other kind (``server.kinds.add``),
and :class:`MetricsPublisher` writes the objects into its store after each
scrape of a :class:`~fromscratch.autoscaling.metrics.UsageScraper`.

Simplified: objects are stored and watchable (metrics-server computes them on
each request and offers get/list only); all of a Pod's usage is reported on its
first container; node usage comes from the host's ``/proc/stat`` and
``/proc/meminfo`` (psutil), as the node is this machine.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import psutil

from fromscratch.api import errors
from fromscratch.api.kinds import Kind
from fromscratch.controllers.podutil import format_time

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer
    from fromscratch.autoscaling.metrics import UsageScraper

Obj = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
POD_METRICS = Kind(GROUP, VERSION, "PodMetrics", "pods", verbs=("get", "list", "watch"))
NODE_METRICS = Kind(GROUP, VERSION, "NodeMetrics", "nodes", namespaced=False,
                    verbs=("get", "list", "watch"))


def serve_metrics_api(server: APIServer) -> None:
    """Make ``/apis/metrics.k8s.io/v1beta1`` appear in discovery and serve it."""
    for kind in (POD_METRICS, NODE_METRICS):
        if server.kinds.lookup(kind.group, kind.version, kind.plural) is None:
            server.kinds.add(kind)


def pod_metrics_object(namespace: str, name: str, labels: dict[str, str], container: str, *,
                       millicores: int, memory_bytes: int, timestamp: float, window: float) -> Obj:
    return {"kind": "PodMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "timestamp": format_time(timestamp), "window": f"{window:.1f}s",
            "containers": [{"name": container, "usage": {
                "cpu": f"{millicores}m", "memory": f"{memory_bytes // 1024}Ki"}}]}


def node_usage() -> tuple[int, int]:
    """(millicores busy since the previous call, working-set bytes) of this machine."""
    busy = psutil.cpu_percent(interval=None)  # % of all CPUs since the last call
    memory = psutil.virtual_memory()
    return round(busy / 100 * (os.cpu_count() or 1) * 1000), memory.total - memory.available


class MetricsPublisher:
    """Publish the scraper's latest values as PodMetrics/NodeMetrics, every ``resolution`` seconds."""

    def __init__(self, server: APIServer, scraper: UsageScraper, *, node_name: str,
                 containers: dict[str, str] | None = None, resolution: float = 1.0) -> None:
        serve_metrics_api(server)
        self.server, self.scraper, self.node_name = server, scraper, node_name
        self.containers = containers if containers is not None else {}  # "ns/name" -> container
        self.resolution = resolution
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._published: set[str] = set()
        node_usage()  # prime psutil's CPU counter

    def _put(self, kind: Kind, namespace: str, obj: Obj) -> None:
        registry, name = self.server.registry, obj["metadata"]["name"]
        try:
            registry.guaranteed_update(kind, namespace, name, lambda _old: obj)
        except errors.APIError as err:
            if err.code != 404:
                raise
            registry.create(kind, namespace, obj)

    def publish_once(self) -> None:
        """Scrape, then write one object per measured Pod and one for the node."""
        self.scraper.scrape()
        seen = set()
        with self.scraper.lock:
            tracked = dict(self.scraper.pods)
        for key, pod in tracked.items():
            if pod.cpu is None:
                continue
            namespace, name = key.split("/", 1)
            self._put(POD_METRICS, namespace, pod_metrics_object(
                namespace, name, pod.labels, self.containers.get(key, "main"),
                millicores=pod.cpu, memory_bytes=pod.memory, timestamp=pod.timestamp,
                window=pod.window))
            seen.add(key)
        for key in self._published - seen:
            namespace, name = key.split("/", 1)
            try:
                self.server.registry.delete(POD_METRICS, namespace, name)
            except errors.APIError:
                pass
        self._published = seen
        cpu, memory = node_usage()
        self._put(NODE_METRICS, "", {
            "kind": "NodeMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": self.node_name}, "timestamp": format_time(self.scraper.clock()),
            "window": f"{self.resolution:.1f}s",
            "usage": {"cpu": f"{cpu}m", "memory": f"{memory // 1024}Ki"}})

    def _loop(self) -> None:
        while not self._stop.wait(self.resolution):
            try:
                self.publish_once()
            except Exception:  # a failed scrape is retried at the next tick
                continue

    def start(self) -> MetricsPublisher:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="metrics-publisher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

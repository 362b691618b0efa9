"""The resource metrics API, ``metrics.k8s.io/v1beta1``: what ``kubectl top`` and the HPA read.

Two kinds, both read-only for clients (``k8s.io/metrics/pkg/apis/metrics``)::

    {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
     "metadata": {"name": "web-x7k2p", "namespace": "default", "labels": {...}},
     "timestamp": "...", "window": "1.0s",
     "containers": [{"name": "burner", "usage": {"cpu": "512m", "memory": "9300Ki"}}]}

    {"kind": "NodeMetrics", "metadata": {"name": "node-1"}, "timestamp": "...",
     "window": "1.0s", "usage": {"cpu": "1200m", "memory": "2048000Ki"}}

In a real cluster metrics-server serves them as an *aggregated* API: the
kube-apiserver proxies ``/apis/metrics.k8s.io`` to it, and it answers from
memory.  Here the API server serves the group like any other kind
(:func:`serve_metrics_api`) and the metrics pipeline
(:mod:`~fromscratch.autoscaling.metrics_server`) writes the latest objects into
its store with :func:`publish` after each scrape.

Simplified: the objects are stored, so they can also be watched (metrics-server
offers get and list only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.kinds import Kind
from fromscratch.controllers.podutil import format_time

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

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


def usage(millicores: int, memory_bytes: int) -> Obj:
    """A ``usage`` map: CPU in millicores, memory in KiB (``kubectl top`` shows MiB)."""
    return {"cpu": f"{millicores}m", "memory": f"{memory_bytes // 1024}Ki"}


def pod_metrics_object(namespace: str, name: str, labels: dict[str, str],
                       containers: dict[str, tuple[int, int]], *, timestamp: float,
                       window: float) -> Obj:
    """A PodMetrics; ``containers`` maps each container to (millicores, working-set bytes)."""
    return {"kind": "PodMetrics", "apiVersion": f"{GROUP}/{VERSION}",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
            "timestamp": format_time(timestamp), "window": f"{window:.1f}s",
            "containers": [{"name": c, "usage": usage(cpu, memory)}
                           for c, (cpu, memory) in containers.items()]}


def node_metrics_object(name: str, millicores: int, memory_bytes: int, *, timestamp: float,
                        window: float) -> Obj:
    return {"kind": "NodeMetrics", "apiVersion": f"{GROUP}/{VERSION}", "metadata": {"name": name},
            "timestamp": format_time(timestamp), "window": f"{window:.1f}s",
            "usage": usage(millicores, memory_bytes)}


def _put(server: APIServer, kind: Kind, namespace: str, obj: Obj) -> None:
    registry, name = server.registry, obj["metadata"]["name"]
    try:
        registry.guaranteed_update(kind, namespace, name, lambda _old: obj)
    except errors.APIError as err:
        if err.code != 404:
            raise
        registry.create(kind, namespace, obj)


def _key(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def publish(server: APIServer, kind: Kind, objects: Iterable[Obj],
            previous: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Write ``objects`` and delete those of ``previous`` no longer among them.

    Returns the (namespace, name) keys now published, to pass as ``previous``
    next time: a Pod that is gone, or has no metrics any more, disappears from
    ``kubectl top``.
    """
    published = set()
    for obj in objects:
        namespace, name = _key(obj)
        _put(server, kind, namespace, obj)
        published.add((namespace, name))
    for namespace, name in previous - published:
        try:
            server.registry.delete(kind, namespace, name)
        except errors.APIError:
            pass
    return published

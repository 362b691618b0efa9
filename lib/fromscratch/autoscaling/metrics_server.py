"""The metrics pipeline, in metrics-server's role: scrape every kubelet, serve ``metrics.k8s.io``.

Models metrics-server (kubernetes-sigs/metrics-server).  Every ``resolution``
seconds (its ``--metric-resolution``, 60 s by default, 15 s in many installs):

1. list the Nodes and, for each, find its kubelet: the ``InternalIP`` of
   ``status.addresses`` and the port of
   ``status.daemonEndpoints.kubeletEndpoint.Port``;
2. ``GET /stats/summary`` there (the kubelet's Summary API, which the kubelet
   fills from cgroups for isolated Pods and from process accounting for
   process-runtime Pods);
3. turn the **cumulative** CPU counters into a **rate**: the CPU-nanoseconds a
   container used between two scrapes, divided by the time between the
   kubelet's two readings — so a container has a CPU value only from its second
   scrape on, and ``window`` says how long the rate was measured over.  A
   counter that went *down* (the container restarted) starts again;
4. memory is the working set at the moment of the scrape, not a rate;
5. write one ``PodMetrics`` per Pod whose containers all have values (a Pod
   with a container missing is left out, so the HPA counts it as *missing*)
   and one ``NodeMetrics`` per node (:mod:`.metrics_api`).

A kubelet whose timestamps have whole-second precision (``metav1.Time``, as
the Summary API's ``time`` fields are) cannot time a one-second window; for
those readings the kubelet's own rate, ``usageNanoCores``, is used — what
metrics-server did in its Summary-API days (0.3), before it took rates of the
cumulative counters itself.

Simplified: plain HTTP to the kubelet, no authentication; scrapes one node
after the other; the Pods' labels come from one list per scrape (metrics-server
keeps a Pod informer).  In the embedded cluster every node is this machine, so
each NodeMetrics shows the whole host's CPU and memory.
"""

from __future__ import annotations

import json
import math
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fromscratch.autoscaling.metrics_api import (
    NODE_METRICS,
    POD_METRICS,
    node_metrics_object,
    pod_metrics_object,
    publish,
    serve_metrics_api,
)
from fromscratch.autoscaling.periodic import Periodic
from fromscratch.controllers.client import NODES, PODS, ResourceClient

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

Obj = dict[str, Any]


@dataclass(frozen=True)
class CpuReading:
    """One reading of a container's (or node's) CPU from the Summary API."""

    usage_ns: int  # usageCoreNanoSeconds: CPU time used since it started, cumulative
    time: float  # when the kubelet took the reading, seconds since the epoch
    precise: bool  # the time has sub-second precision
    nano_cores: int | None = None  # the kubelet's own rate, if it gave one


def cpu_reading(cpu: Obj | None) -> CpuReading | None:
    """The ``cpu`` stanza of the Summary API as a reading (None without a counter)."""
    if not cpu or cpu.get("usageCoreNanoSeconds") is None or not cpu.get("time"):
        return None
    stamp = str(cpu["time"])
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    rate = cpu.get("usageNanoCores")
    return CpuReading(int(cpu["usageCoreNanoSeconds"]), when, "." in stamp,
                      int(rate) if rate is not None else None)


def cpu_rate(previous: CpuReading | None, current: CpuReading,
             resolution: float) -> tuple[int, float] | None:
    """(millicores, window in seconds) between two readings, or None if there is no rate yet.

    Millicores round *up*, as ``Quantity.MilliValue()`` does with the nanocores
    metrics-server reports.
    """
    if previous is None or current.usage_ns < previous.usage_ns:
        return None  # first sight of it, or it restarted: wait for the next scrape
    if previous.precise and current.precise:
        if current.time <= previous.time:
            return None  # the same reading twice: no time has passed
        seconds = current.time - previous.time
        return math.ceil((current.usage_ns - previous.usage_ns) / seconds / 1e6), seconds
    if current.nano_cores is not None:
        return math.ceil(current.nano_cores / 1e6), resolution
    return None


def kubelet_summary_url(node: Obj) -> str | None:
    """``http://<InternalIP>:<kubelet port>/stats/summary?node=<name>`` (None if not reported)."""
    status = node.get("status") or {}
    address = next((a.get("address") for a in status.get("addresses") or []
                    if a.get("type") == "InternalIP"), None)
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not address or not port:
        return None
    # ?node= picks one node when one kubelet server stands for several (the embedded cluster)
    return f"http://{address}:{port}/stats/summary?node={quote(node['metadata']['name'])}"


def fetch_summary(url: str, timeout: float) -> Obj:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http to a kubelet
        return json.loads(response.read())


class MetricsServer(Periodic):
    """Scrape every node's kubelet each ``resolution`` seconds and publish the metrics API."""

    name = "metrics-server"

    def __init__(self, server: APIServer, api_client: Any, *, resolution: float = 15.0,
                 timeout: float = 5.0) -> None:
        super().__init__(resolution)
        serve_metrics_api(server)
        self.server, self.timeout = server, timeout
        self.nodes_api, self.pods_api = ResourceClient(api_client, NODES), ResourceClient(api_client, PODS)
        self.readings: dict[tuple[str, ...], CpuReading] = {}
        self.errors: dict[str, str] = {}  # node -> why its last scrape failed
        self._pods: set[tuple[str, str]] = set()
        self._nodes: set[tuple[str, str]] = set()

    @property
    def resolution(self) -> float:
        return self.interval

    def _rate(self, key: tuple[str, ...], cpu: Obj | None, seen: dict) -> tuple[int, float] | None:
        current = cpu_reading(cpu)
        if current is None:
            return None
        seen[key] = current
        return cpu_rate(self.readings.get(key), current, self.resolution)

    def _pod_metrics(self, summary: Obj, pods: dict[tuple[str, str], Obj], seen: dict) -> list[Obj]:
        objects = []
        for entry in summary.get("pods") or []:
            ref = entry.get("podRef") or {}
            pod = pods.get((ref.get("namespace", ""), ref.get("name", "")))
            if pod is None or (ref.get("uid") and ref["uid"] != pod["metadata"].get("uid")):
                continue  # not (or no longer) this Pod in the API
            containers, windows, stamps = {}, [], []
            for container in entry.get("containers") or []:
                rate = self._rate(("pod", ref["namespace"], ref["name"], container["name"]),
                                  container.get("cpu"), seen)
                if rate is None:
                    continue
                memory = (container.get("memory") or {}).get("workingSetBytes") or 0
                containers[container["name"]] = (rate[0], int(memory))
                windows.append(rate[1])
                stamps.append(seen[("pod", ref["namespace"], ref["name"], container["name"])].time)
            if not containers or len(containers) != len(entry.get("containers") or []):
                continue  # metrics-server drops a Pod with a container it cannot measure
            objects.append(pod_metrics_object(
                ref["namespace"], ref["name"], pod["metadata"].get("labels") or {}, containers,
                timestamp=max(stamps), window=max(windows)))
        return objects

    def scrape_once(self) -> None:
        """One round: scrape every node, compute rates, publish PodMetrics and NodeMetrics."""
        nodes = self.nodes_api.list()["items"]
        pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in self.pods_api.list()["items"]}
        seen: dict[tuple[str, ...], CpuReading] = {}
        pod_objects, node_objects = [], []
        for node in nodes:
            name = node["metadata"]["name"]
            url = kubelet_summary_url(node)
            if url is None:
                self.errors[name] = "the Node reports no InternalIP or kubelet port"
                continue
            try:
                summary = fetch_summary(url, self.timeout)
            except (OSError, ValueError) as err:
                self.errors[name] = f"unable to fetch metrics from node {name}: {err}"
                continue
            self.errors.pop(name, None)
            node_stats = summary.get("node") or {}
            rate = self._rate(("node", name), node_stats.get("cpu"), seen)
            if rate is not None:
                memory = (node_stats.get("memory") or {}).get("workingSetBytes") or 0
                node_objects.append(node_metrics_object(
                    name, rate[0], int(memory), timestamp=seen[("node", name)].time, window=rate[1]))
            pod_objects += self._pod_metrics(summary, pods, seen)
        self.readings = seen  # forget what was not seen this time (deleted Pods, gone nodes)
        self._pods = publish(self.server, POD_METRICS, pod_objects, self._pods)
        self._nodes = publish(self.server, NODE_METRICS, node_objects, self._nodes)

    def tick(self) -> None:
        self.scrape_once()

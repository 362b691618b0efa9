"""Metrics sources: where the HPA learns how much CPU and memory each Pod uses.

In a real cluster the path is kubelet (cAdvisor, cgroups) -> metrics-server ->
the resource metrics API ``metrics.k8s.io/v1beta1`` -> the HPA's
``resourceclient`` (``pkg/controller/podautoscaler/metrics/client.go``), which
sums the containers of each Pod.  Here, one interface
(:class:`~fromscratch.autoscaling.autoscaler.MetricsSource`) and three sources:

- :class:`FixedMetrics` — values given by hand, for tests and worked examples;
- :class:`LoadModel` — a scriptable load for simulations: a total demand in
  millicores as a function of (virtual) time, shared by the ready Pods;
- :class:`MetricsAPIClient` — reads ``PodMetrics`` from any API server that
  serves ``metrics.k8s.io`` (ours, filled by ``metrics_server.py`` from the
  kubelets, or a real cluster's metrics-server), through the official client.

Values are milli-units (millicores; bytes × 1000 for memory), as upstream's
``MilliValue()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fromscratch.autoscaling.replicas import PodMetric, milli_value
from fromscratch.controllers.podutil import parse_time

Obj = dict[str, Any]


class FixedMetrics:
    """Metrics given by hand: ``{pod name: millicores}`` (tests and worked examples)."""

    def __init__(self, values: Mapping[str, int], *, timestamp: float = 0.0,
                 window: float = 15.0) -> None:
        self.values, self.timestamp, self.window = dict(values), timestamp, window

    def resource_metrics(self, namespace: str, selector: str, resource: str) -> dict[str, PodMetric]:
        return {name: PodMetric(v, self.timestamp, self.window) for name, v in self.values.items()}


# --- a scriptable load, for simulations -----------------------------------------------------
@dataclass
class LoadModel:
    """Total CPU demand (millicores) over time, spread evenly over the ready Pods.

    ``demand(t)`` is any function of time; :meth:`steps` builds the usual
    piecewise-constant one.  A Pod cannot use more than ``limit`` (its CPU
    limit, if any): demand beyond the replicas' capacity is simply not served.
    """

    demand: Callable[[float], float]
    limit: int | None = None  # millicores per Pod
    baseline: int = 0  # millicores an idle Pod uses anyway
    cost_ms: float = 0.0  # CPU ms per request, for a requests-per-second (Pods) metric

    @classmethod
    def steps(cls, *changes: tuple[float, float], limit: int | None = None,
              baseline: int = 0, cost_ms: float = 0.0) -> LoadModel:
        """``steps((0, 200), (600, 1500))``: 200m from t=0, 1500m from t=600 s on."""
        ordered = sorted(changes)

        def demand(t: float) -> float:
            level = 0.0
            for start, value in ordered:
                if t >= start:
                    level = value
            return level

        return cls(demand, limit, baseline, cost_ms)

    def per_pod(self, t: float, ready_pods: int) -> int:
        """Millicores each of ``ready_pods`` Pods uses at time ``t``."""
        if ready_pods <= 0:
            return 0
        share = self.baseline + self.demand(t) / ready_pods
        if self.limit is not None:
            share = min(share, self.limit)
        return round(share)


# --- the resource metrics API, through the official client ----------------------------------
class MetricsAPIClient:
    """Read ``metrics.k8s.io/v1beta1`` PodMetrics, as the HPA's resource client does.

    A Pod's value is the sum over its containers; a Pod one of whose containers
    lacks the resource gets no metric (it counts as *missing*).
    """

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def resource_metrics(self, namespace: str, selector: str, resource: str) -> dict[str, PodMetric]:
        path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"
        params = [("labelSelector", selector)] if selector else []
        method, url, headers, body, post = self.api_client.param_serialize(
            method="GET", resource_path=path, query_params=params,
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        response = self.api_client.call_api(method, url, headers, body, post, _request_timeout=30)
        data = json.loads(response.read())
        if not 200 <= response.status < 300:
            raise LookupError(f"unable to fetch metrics from resource metrics API: "
                              f"{data.get('message', response.status)}")
        if not data.get("items"):
            raise LookupError("no metrics returned from resource metrics API")
        result = {}
        for item in data["items"]:
            containers = item.get("containers") or []
            usages = [(c.get("usage") or {}).get(resource) for c in containers]
            if not containers or any(u is None for u in usages):
                continue
            total = sum(milli_value(str(u), resource) for u in usages)
            window = _duration_seconds(item.get("window", "15s"))
            timestamp = parse_time(item.get("timestamp")) or 0.0
            result[item["metadata"]["name"]] = PodMetric(total, timestamp, window)
        return result


def _duration_seconds(text: str) -> float:
    """``"15s"``, ``"1m0s"``, ``"500ms"`` -> seconds (a Go duration, the forms the API uses)."""
    import re

    total = 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    for number, unit in re.findall(r"([\d.]+)(ms|h|m|s)", text):
        total += float(number) * units[unit]
    return total

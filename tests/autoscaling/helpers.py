"""Pods and HPAs for the autoscaling tests, in the API's JSON form."""

from __future__ import annotations

from typing import Any

from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]
NOW = 1_000_000.0  # virtual "now" of the calculator tests
LONG_AGO = NOW - 3600  # started well before the CPU initialisation period


def pod(name: str, *, cpu_request: str | None = "1", ready: bool = True, phase: str = "Running",
        started: float | None = LONG_AGO, ready_since: float | None = None, deleting: bool = False,
        containers: int = 1) -> Obj:
    """A Pod as a kubelet would report it (Ready condition, startTime)."""
    resources = {"requests": {"cpu": cpu_request}} if cpu_request is not None else {}
    status: Obj = {"phase": phase}
    if started is not None:
        status["startTime"] = format_time(started)
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": format_time(ready_since or started)}]
    meta: Obj = {"name": name, "namespace": "default", "labels": {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW)
    return {"metadata": meta,
            "spec": {"containers": [{"name": f"c{i}", "resources": resources}
                                    for i in range(containers)]},
            "status": status}


def scale(replicas: int) -> Obj:
    return {"spec": {"replicas": replicas}, "status": {"replicas": replicas, "selector": "app=web"}}

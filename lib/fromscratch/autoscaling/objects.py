"""Manifests the chapter keeps writing: an HPA, and a Deployment whose Pods burn CPU.

Plain dicts in the API's JSON form (``autoscaling/v2``, ``apps/v1``), so they go
straight to the official client, ``kubectl apply`` or the simulation.
``kubectl autoscale deployment web --cpu-percent=50 --min=1 --max=10`` makes
the same HPA as ``hpa_manifest("web", cpu_percent=50, min_replicas=1, max_replicas=10)``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from fromscratch.autoscaling.behavior import Behavior, behavior_to_spec

Obj = dict[str, Any]
PORT_MOUNT = "/run/burners"  # where each burner container sees the shared port directory


def hpa_manifest(target: str, *, name: str | None = None, namespace: str = "default",
                 min_replicas: int = 1, max_replicas: int = 10, cpu_percent: int | None = 80,
                 metrics: list[Obj] | None = None, behavior: Behavior | Obj | None = None,
                 target_kind: str = "Deployment") -> Obj:
    """An ``autoscaling/v2`` HorizontalPodAutoscaler for the Deployment ``target``."""
    spec: Obj = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas}
    if metrics is not None:
        spec["metrics"] = metrics
    elif cpu_percent is not None:
        spec["metrics"] = [cpu_utilization_metric(cpu_percent)]
    if behavior is not None:
        spec["behavior"] = behavior_to_spec(behavior) if isinstance(behavior, Behavior) else behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name or target, "namespace": namespace}, "spec": spec}


def cpu_utilization_metric(percent: int, resource: str = "cpu") -> Obj:
    return {"type": "Resource", "resource": {
        "name": resource, "target": {"type": "Utilization", "averageUtilization": percent}}}


def average_value_metric(quantity: str, resource: str = "memory") -> Obj:
    return {"type": "Resource", "resource": {
        "name": resource, "target": {"type": "AverageValue", "averageValue": quantity}}}


def default_port_dir() -> Path:
    """Where this process's burners announce their ports (a ``hostPath`` on the node)."""
    return Path(tempfile.gettempdir()) / f"fromscratch-burners-{os.getpid()}"


def burner_deployment(name: str = "web", *, namespace: str = "default", replicas: int = 1,
                      cpu_request: str | None = "100m", cpu_limit: str | None = None,
                      port_dir: str | Path | None = None, python: str | None = None) -> Obj:
    """A Deployment whose Pods run the CPU-burning server of :mod:`~fromscratch.autoscaling.burner`.

    ``cpu_request=None`` leaves the request out: the HPA then cannot compute a
    utilisation and says so in its ``ScalingActive`` condition.  The burner is
    started by ``python`` (default: this Python, which can import
    ``fromscratch``), so the Pods need the *process* runtime — the isolated
    runtime's busybox image has no Python.  Each Pod writes its port into
    ``port_dir`` (a ``hostPath`` volume), where the load generator looks.
    """
    resources: Obj = {}
    if cpu_request is not None:
        resources["requests"] = {"cpu": cpu_request}
    if cpu_limit is not None:
        resources["limits"] = {"cpu": cpu_limit}
    labels = {"app": name}
    container = {"name": "burner", "image": "fromscratch/burner",
                 "command": [python or sys.executable, "-m", "fromscratch.autoscaling.burner"],
                 "args": ["--port-dir", PORT_MOUNT],
                 "volumeMounts": [{"name": "ports", "mountPath": PORT_MOUNT}],
                 "resources": resources}
    volume = {"name": "ports", "hostPath": {"path": str(port_dir or default_port_dir()),
                                            "type": "DirectoryOrCreate"}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container], "volumes": [volume],
                                           "terminationGracePeriodSeconds": 2}}}}


def spinner_deployment(name: str, *, switch_dir: str | Path, replicas: int = 1,
                       cpu_request: str = "100m", cpu_limit: str | None = "200m",
                       namespace: str = "default") -> Obj:
    """A Deployment of busybox Pods that spin on the CPU while ``<switch_dir>/on`` exists.

    The load for the *isolated* runtime, whose busybox image has no Python to run
    the burner: each container checks a file in a read-only ``hostPath`` volume and
    busy-loops while it is there (up to its CPU limit, which its cgroup enforces),
    else sleeps 0.2 s between checks.  Touch the file to add load, remove it to take
    the load away.
    """
    resources: Obj = {"requests": {"cpu": cpu_request}}
    if cpu_limit is not None:
        resources["limits"] = {"cpu": cpu_limit}
    labels = {"app": name}
    container = {"name": "spin", "image": "busybox",
                 "command": ["sh", "-c", "while :; do [ -e /switch/on ] || sleep 0.2; done"],
                 "volumeMounts": [{"name": "switch", "mountPath": "/switch", "readOnly": True}],
                 "resources": resources}
    volume = {"name": "switch", "hostPath": {"path": str(switch_dir), "type": "Directory"}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container], "volumes": [volume],
                                           "terminationGracePeriodSeconds": 1}}}}

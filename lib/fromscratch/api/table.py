"""Server-side printing: the ``Table`` that ``kubectl get`` shows.

Models kube-apiserver's table convertor (``pkg/printers/internalversion``):
``kubectl get`` asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``
and prints whatever columns the server sends — so the columns of
``kubectl get pods`` (NAME, READY, STATUS, RESTARTS, AGE) are decided here.
Columns with ``priority: 1`` only appear with ``-o wide``.

Each row carries the object as ``includeObject`` asks: ``None``,
``Metadata`` (a ``PartialObjectMetadata``, the default) or ``Object``.
Custom resources get their CRD's ``additionalPrinterColumns``.

Simplified: fewer columns for some kinds than the real printers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fromscratch.api.kinds import Kind

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration``: 45s, 3m20s, 5h, 12d ..."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 365 * 8 else f"{days // 365}y"


def _age_since(stamp: str | None, now: float) -> str:
    if not stamp:
        return "<unknown>"
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return "<unknown>"
    return human_duration(now - then)


def _get(obj: Any, path: str, default: Any = None) -> Any:
    for part in path.strip(".").split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return default if obj is None else obj


def _pod_ready(pod: Obj) -> str:
    statuses = _get(pod, "status.containerStatuses", [])
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_get(pod, 'spec.containers', []))}"


def _pod_status(pod: Obj) -> str:
    if _get(pod, "metadata.deletionTimestamp"):
        return "Terminating"
    for status in _get(pod, "status.containerStatuses", []):
        waiting = _get(status, "state.waiting.reason")
        if waiting:
            return waiting
    return _get(pod, "status.reason") or _get(pod, "status.phase", "Unknown")


def _restarts(pod: Obj) -> int:
    return sum(s.get("restartCount", 0) for s in _get(pod, "status.containerStatuses", []))


def _images(obj: Obj) -> str:
    return ",".join(c.get("image", "") for c in _get(obj, "spec.template.spec.containers", []))


def _containers(obj: Obj) -> str:
    return ",".join(c.get("name", "") for c in _get(obj, "spec.template.spec.containers", []))


def _selector(obj: Obj) -> str:
    labels = _get(obj, "spec.selector.matchLabels") or _get(obj, "spec.selector") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items()) if isinstance(labels, dict) else ""


def _ports(svc: Obj) -> str:
    parts = []
    for p in _get(svc, "spec.ports", []):
        text = f"{p.get('port')}" + (f":{p['nodePort']}" if p.get("nodePort") else "")
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _node_status(node: Obj) -> str:
    """``Ready``, ``NotReady`` or ``Unknown``, plus ``,SchedulingDisabled`` when cordoned."""
    status = "Unknown"
    for condition in _get(node, "status.conditions", []):
        if condition.get("type") == "Ready":
            status = {"True": "Ready", "False": "NotReady"}.get(condition.get("status"), "Unknown")
    return status + (",SchedulingDisabled" if _get(node, "spec.unschedulable", False) else "")


def _node_roles(node: Obj) -> str:
    """Roles from ``node-role.kubernetes.io/<role>`` labels (and ``kubernetes.io/role``)."""
    labels = _get(node, "metadata.labels", {}) or {}
    roles = sorted({key.split("/", 1)[1] for key in labels
                    if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    return ",".join(roles) or "<none>"


def _node_address(kind: str) -> Callable[[Obj], str]:
    def cell(node: Obj) -> str:
        return next((a.get("address", "") for a in _get(node, "status.addresses", []) or []
                     if a.get("type") == kind), "<none>")
    return cell


def _job_status(job: Obj) -> str:
    for condition in _get(job, "status.conditions", []):
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return condition["type"]
    return "Running" if _get(job, "status.active", 0) else "Pending"


def _hpa_targets(obj: Obj) -> str:
    """``cpu: 42%/50%`` per resource metric, like kubectl's formatHPAMetrics (v2 or v1 form)."""
    specs = _get(obj, "spec.metrics")
    if specs is None and _get(obj, "spec.targetCPUUtilizationPercentage") is not None:
        current = _get(obj, "status.currentCPUUtilizationPercentage")
        shown = "<unknown>" if current is None else f"{current}%"
        return f"cpu: {shown}/{obj['spec']['targetCPUUtilizationPercentage']}%"
    statuses = _get(obj, "status.currentMetrics") or []
    cells = []
    for i, spec in enumerate(specs or []):
        source = spec.get("resource") or spec.get("containerResource")
        if source is None:
            cells.append(f"<{spec.get('type', 'unknown')}>")
            continue
        target = source.get("target") or {}
        status = statuses[i] if i < len(statuses) else {}
        current = ((status.get("resource") or status.get("containerResource") or {})
                   .get("current") or {})
        if target.get("averageValue") is not None:
            shown, wanted = current.get("averageValue", "<unknown>"), target["averageValue"]
        else:
            value = current.get("averageUtilization")
            shown = "<unknown>" if value is None else f"{value}%"
            wanted = f"{target['averageUtilization']}%" if "averageUtilization" in target else "<auto>"
        cells.append(f"{source.get('name', '')}: {shown}/{wanted}")
    if not cells:
        return "<none>"
    more = f" + {len(cells) - 2} more..." if len(cells) > 2 else ""
    return ", ".join(cells[:2]) + more


STR, INT = "string", "integer"
AGE: Column = ("Age", STR, 0, lambda o: None)  # filled in by to_table; last unless placed


def _readiness_gates(pod: Obj) -> str:
    gates = _get(pod, "spec.readinessGates", []) or []
    if not gates:
        return "<none>"
    true = {c.get("type") for c in _get(pod, "status.conditions", []) or [] if c.get("status") == "True"}
    return f"{sum(g.get('conditionType') in true for g in gates)}/{len(gates)}"
COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "Pod"): [("Ready", STR, 0, _pod_ready), ("Status", STR, 0, _pod_status),
                  ("Restarts", INT, 0, _restarts), AGE,
                  ("IP", STR, 1, lambda o: _get(o, "status.podIP", "<none>")),
                  ("Node", STR, 1, lambda o: _get(o, "spec.nodeName", "<none>")),
                  ("Nominated Node", STR, 1, lambda o: _get(o, "status.nominatedNodeName", "<none>")),
                  ("Readiness Gates", STR, 1, _readiness_gates)],
    ("", "Namespace"): [("Status", STR, 0, lambda o: _get(o, "status.phase", ""))],
    ("", "Node"): [("Status", STR, 0, _node_status), ("Roles", STR, 0, _node_roles), AGE,
                   ("Version", STR, 0, lambda o: _get(o, "status.nodeInfo.kubeletVersion", "")),
                   ("Internal-IP", STR, 1, _node_address("InternalIP")),
                   ("External-IP", STR, 1, _node_address("ExternalIP")),
                   ("OS-Image", STR, 1, lambda o: _get(o, "status.nodeInfo.osImage", "<unknown>")),
                   ("Kernel-Version", STR, 1,
                    lambda o: _get(o, "status.nodeInfo.kernelVersion", "<unknown>")),
                   ("Container-Runtime", STR, 1,
                    lambda o: _get(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"))],
    ("", "Service"): [("Type", STR, 0, lambda o: _get(o, "spec.type", "")),
                      ("Cluster-IP", STR, 0, lambda o: _get(o, "spec.clusterIP", "<none>")),
                      ("External-IP", STR, 0, lambda o: "<none>"), ("Port(s)", STR, 0, _ports),
                      ("Selector", STR, 1, lambda o: ",".join(
                          f"{k}={v}" for k, v in (_get(o, "spec.selector") or {}).items())
                       or "<none>")],
    ("", "ConfigMap"): [("Data", INT, 0, lambda o: len(o.get("data") or {})
                         + len(o.get("binaryData") or {}))],
    ("", "Secret"): [("Type", STR, 0, lambda o: o.get("type", "")),
                     ("Data", INT, 0, lambda o: len(o.get("data") or {}))],
    ("", "Event"): [("Type", STR, 0, lambda o: o.get("type", "")),
                    ("Reason", STR, 0, lambda o: o.get("reason", "")),
                    ("Object", STR, 0, lambda o: f"{_get(o, 'involvedObject.kind', '').lower()}/"
                                               f"{_get(o, 'involvedObject.name', '')}"),
                    ("Message", STR, 0, lambda o: o.get("message", ""))],
    ("apps", "Deployment"): [
        ("Ready", STR, 0, lambda o: f"{_get(o, 'status.readyReplicas', 0)}/"
                                  f"{_get(o, 'spec.replicas', 0)}"),
        ("Up-to-date", INT, 0, lambda o: _get(o, "status.updatedReplicas", 0)),
        ("Available", INT, 0, lambda o: _get(o, "status.availableReplicas", 0)),
        ("Containers", STR, 1, _containers), ("Images", STR, 1, _images),
        ("Selector", STR, 1, _selector)],
    ("apps", "ReplicaSet"): [
        ("Desired", INT, 0, lambda o: _get(o, "spec.replicas", 0)),
        ("Current", INT, 0, lambda o: _get(o, "status.replicas", 0)),
        ("Ready", INT, 0, lambda o: _get(o, "status.readyReplicas", 0)),
        ("Containers", STR, 1, _containers), ("Images", STR, 1, _images),
        ("Selector", STR, 1, _selector)],
    ("apps", "StatefulSet"): [("Ready", STR, 0, lambda o: f"{_get(o, 'status.readyReplicas', 0)}/"
                                                       f"{_get(o, 'spec.replicas', 0)}")],
    ("apps", "DaemonSet"): [
        ("Desired", INT, 0, lambda o: _get(o, "status.desiredNumberScheduled", 0)),
        ("Current", INT, 0, lambda o: _get(o, "status.currentNumberScheduled", 0)),
        ("Ready", INT, 0, lambda o: _get(o, "status.numberReady", 0))],
    ("batch", "Job"): [("Status", STR, 0, _job_status),
                       ("Completions", STR, 0, lambda o: f"{_get(o, 'status.succeeded', 0)}/"
                                                       f"{_get(o, 'spec.completions', 1)}")],
    ("batch", "CronJob"): [("Schedule", STR, 0, lambda o: _get(o, "spec.schedule", "")),
                           ("Suspend", STR, 0, lambda o: str(_get(o, "spec.suspend", False))),
                           ("Active", INT, 0, lambda o: len(_get(o, "status.active", [])))],
    ("autoscaling", "HorizontalPodAutoscaler"): [
        ("Reference", STR, 0, lambda o: f"{_get(o, 'spec.scaleTargetRef.kind', '')}/"
                                      f"{_get(o, 'spec.scaleTargetRef.name', '')}"),
        ("Targets", STR, 0, _hpa_targets),
        ("MinPods", INT, 0, lambda o: _get(o, "spec.minReplicas", 1)),
        ("MaxPods", INT, 0, lambda o: _get(o, "spec.maxReplicas", 0)),
        ("Replicas", INT, 0, lambda o: _get(o, "status.currentReplicas", 0))],
    ("coordination.k8s.io", "Lease"): [
        ("Holder", STR, 0, lambda o: _get(o, "spec.holderIdentity", ""))],
    ("policy", "PodDisruptionBudget"): [
        ("Min Available", STR, 0, lambda o: str(_get(o, "spec.minAvailable", "N/A"))),
        ("Max Unavailable", STR, 0, lambda o: str(_get(o, "spec.maxUnavailable", "N/A"))),
        ("Allowed Disruptions", INT, 0, lambda o: _get(o, "status.disruptionsAllowed", 0))],
}


def _custom_columns(kind: Kind) -> list[Column]:
    version = kind.schema or {}  # the CRD's entry for this version
    columns: list[Column] = []
    for col in version.get("additionalPrinterColumns") or []:
        path = str(col.get("jsonPath", ""))
        columns.append((col.get("name", path), col.get("type", STR), int(col.get("priority", 0)),
                        lambda o, p=path: _get(o, p, "")))
    return columns


def columns_for(kind: Kind) -> list[Column]:
    name: Column = ("Name", STR, 0, lambda o: _get(o, "metadata.name", ""))
    columns = _custom_columns(kind) if kind.custom else COLUMNS.get((kind.group, kind.kind), [])
    return [name] + columns + ([] if AGE in columns else [AGE])


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def to_table(kind: Kind, objects: list[Obj], *, include_object: str = "Metadata",
             list_metadata: Obj | None = None, with_columns: bool = True,
             now: float | None = None) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objects``."""
    now = time.time() if now is None else now
    columns = columns_for(kind)
    rows = []
    for obj in objects:
        cells = []
        for name, _, _, cell in columns:
            if name == "Age":
                cells.append(_age_since(_get(obj, "metadata.creationTimestamp"), now))
            else:
                try:
                    cells.append(cell(obj))
                except (TypeError, AttributeError, KeyError):
                    cells.append("<unknown>")  # a malformed status must not break printing
        row: Obj = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    definitions = [{"name": name, "type": type_, "format": "name" if name == "Name" else "",
                    "description": name, "priority": priority}
                   for name, type_, priority, _ in columns]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata or {},
            "columnDefinitions": definitions if with_columns else [], "rows": rows}

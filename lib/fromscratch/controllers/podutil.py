"""Small facts about Pods that every workload controller asks.

Models the helpers of ``k8s.io/kubernetes/pkg/api/v1/pod`` (``IsPodReady``,
``IsPodAvailable``) and ``pkg/controller/controller_utils.go``
(``IsPodActive``, ``FilterActivePods``), plus building a Pod from a template
with an owner reference (``GetPodFromTemplate``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


def parse_time(text: str | None) -> float | None:
    """RFC 3339 (``2024-01-02T03:04:05Z``) -> seconds since the epoch; None stays None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def format_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(obj: Obj, kind: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_ready_since(pod: Obj) -> float | None:
    """When the Pod last became Ready (its Ready condition's lastTransitionTime)."""
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``minReadySeconds``."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = pod_ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def is_pod_active(pod: Obj) -> bool:
    """Not finished and not being deleted: it counts towards the replicas."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def max_container_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((s.get("restartCount", 0) for s in statuses), default=0)


def owner_reference(owner: Obj, *, block_owner_deletion: bool = True) -> Obj:
    """A controller ownerReference pointing at ``owner``."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": block_owner_deletion}


def pod_from_template(template: Obj, owner: Obj, *, name: str | None = None,
                      generate_name: str | None = None) -> Obj:
    """A Pod made from ``template``, controlled by ``owner`` (GetPodFromTemplate)."""
    template = copy.deepcopy(template or {})
    tmeta = template.get("metadata") or {}
    meta: Obj = {"labels": dict(tmeta.get("labels") or {}),
                 "ownerReferences": [owner_reference(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{owner['metadata']['name']}-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": template.get("spec") or {}}

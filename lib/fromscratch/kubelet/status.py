"""The Pod ``status`` a kubelet writes, and when it is worth writing.

Models the kubelet's status manager (``pkg/kubelet/status/status_manager.go``)
and ``generateAPIPodStatus``: the runtime (chapter 5) computes phase,
conditions and container statuses; the kubelet adds what only the node knows —
``hostIP``/``podIP`` the time each condition last changed and ``PodReadyToStartContainers``
(the sandbox exists) — and writes the
result through the ``pods/<name>/status`` subresource **only when it changed**
(ignoring the timestamps), so a thousand idle Pods cost no API writes.

Pod IPs: a process Pod or a ``hostNetwork`` Pod shares the node's network, so
its IP is the node's (127.0.0.1 here).  An isolated Pod has a network namespace
with only a loopback interface — nothing routes to it — so it gets no
``podIP`` at all; the status says so rather than inventing an address.

A Pod the kubelet refused (admission) or cannot set up (an unsupported volume)
is ``Failed`` with a ``reason`` and ``message``; a Pod waiting for a volume
(a missing ConfigMap) stays ``Pending`` with its containers waiting in
``ContainerCreating``.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]
NODE_IP = "127.0.0.1"
_TIMES = ("lastTransitionTime", "lastProbeTime")


def with_transitions(conditions: list[Obj], previous: list[Obj] | None, now: str) -> list[Obj]:
    """Stamp ``lastTransitionTime``: kept while a condition's status is unchanged, else ``now``."""
    before = {c.get("type"): c for c in previous or []}
    stamped = []
    for condition in conditions:
        old = before.get(condition["type"])
        same = old is not None and old.get("status") == condition["status"] and \
            old.get("lastTransitionTime")
        stamped.append({**condition, "lastProbeTime": None,
                        "lastTransitionTime": old["lastTransitionTime"] if same else now})
    return stamped


def pod_ip(runtime_pod: Any) -> str | None:
    """The node's IP for pods sharing its network; None for an isolated network namespace."""
    if runtime_pod.sandbox.mode != "isolated" or runtime_pod.spec.get("hostNetwork"):
        return NODE_IP
    return None


def running_status(runtime_pod: Any, *, previous: Obj | None, now: str) -> Obj:
    """The runtime's status plus hostIP/podIP and condition transition times."""
    status = copy.deepcopy(runtime_pod.status())
    # the sandbox exists (upstream: created and its network configured)
    sandbox = {"type": "PodReadyToStartContainers", "status": "False" if runtime_pod.closed else "True"}
    status["conditions"] = with_transitions([sandbox, *status["conditions"]],
                                            (previous or {}).get("conditions"), now)
    status["hostIP"], status["hostIPs"] = NODE_IP, [{"ip": NODE_IP}]
    ip = pod_ip(runtime_pod)
    if ip is not None:
        status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
    return status


def failed_status(pod: Obj, reason: str, message: str, *, previous: Obj | None, now: str) -> Obj:
    """A Pod that will never run here: phase Failed, with why."""
    conditions = [{"type": "PodScheduled", "status": "True"}]
    return {"phase": "Failed", "reason": reason, "message": message, "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}], "startTime": (previous or {}).get("startTime") or now,
            "conditions": with_transitions(conditions, (previous or {}).get("conditions"), now),
            "qosClass": _qos(pod)}


def waiting_status(pod: Obj, reason: str, message: str, *, previous: Obj | None, now: str) -> Obj:
    """Pending: containers not created yet (``ContainerCreating``), e.g. waiting for a volume."""
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    conditions = [{"type": "PodReadyToStartContainers", "status": "False"},
                  {"type": "PodScheduled", "status": "True"},
                  {"type": "Initialized", "status": "True" if not spec.get("initContainers")
                   else "False"},
                  {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                   "message": f"containers with unready status: [{' '.join(names)}]"},
                  {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                   "message": f"containers with unready status: [{' '.join(names)}]"}]
    statuses = [{"name": c["name"], "image": c.get("image", ""), "ready": False, "restartCount": 0,
                 "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in spec.get("containers") or []]
    return {"phase": "Pending", "reason": reason, "message": message, "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}], "startTime": (previous or {}).get("startTime") or now,
            "conditions": with_transitions(conditions, (previous or {}).get("conditions"), now),
            "containerStatuses": statuses, "qosClass": _qos(pod)}


def comparable(status: Obj | None) -> Obj:
    """The status without condition timestamps: what "changed" means for the status manager."""
    if not status:
        return {}
    result = dict(status)
    result["conditions"] = [{k: v for k, v in c.items() if k not in _TIMES}
                            for c in status.get("conditions") or []]
    return result


def _qos(pod: Obj) -> str:
    from fromscratch.resources import qos_class

    try:
        return qos_class(pod)
    except ValueError:
        return "BestEffort"

"""Pod phase and conditions, computed from container statuses as the kubelet does.

The **phase** is a summary (Pod lifecycle, "Pod phase"): ``Pending`` (accepted,
some container not yet started — init containers still running count here),
``Running`` (bound, all containers created, at least one running or restarting),
``Succeeded`` (all terminated successfully and none will restart), ``Failed``
(all terminated, at least one in failure, and none will restart).
:func:`pod_phase` follows ``getPhase`` in ``pkg/kubelet/kubelet_pods.go``.

The **conditions** say more (``PodScheduled``, ``Initialized``,
``ContainersReady``, ``Ready``), each ``True``/``False`` with a reason, as
``generateAPIPodStatus`` and ``pkg/kubelet/status/generate.go`` set them.

:func:`next_init_action` decides what the init sequence does next (init
containers run one at a time, in order, each to successful completion;
``computeInitContainerActions`` in the kubelet's ``kuberuntime_container.go``).
A *sidecar* — an init container with ``restartPolicy: Always`` — counts as done
once it is running, and keeps running next to the app containers.

Container statuses here are plain dicts in the API's shape::

    {"name": "app", "state": {"running": {"startedAt": "..."}},
     "lastState": {"terminated": {"exitCode": 1, ...}}, "ready": True,
     "restartCount": 2, "started": True}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fromscratch.exercises import pluggable

Status = Mapping[str, Any]


def _find(statuses: Sequence[Status], name: str) -> Status | None:
    for status in statuses:
        if status.get("name") == name:
            return status
    return None


def _exit_code(status: Status, which: str = "state") -> int | None:
    terminated = status.get(which, {}).get("terminated")
    return None if terminated is None else int(terminated.get("exitCode", 0))


@pluggable("pod_phase")
def pod_phase(spec: Mapping[str, Any], init_statuses: Sequence[Status],
              statuses: Sequence[Status]) -> str:
    """The pod's phase from its spec and container statuses (kubelet's ``getPhase``).

    Init containers: one without a status, running, or waiting without a previous
    failure is *pending*; one terminated (or waiting after a termination) with a
    non-zero exit code has *failed*.  App containers are counted as running,
    waiting (never ran), stopped (terminated, or waiting after a termination),
    succeeded (stopped with exit 0) or unknown (no status).  Then, in order:
    a failed init container under ``restartPolicy: Never`` → Failed; pending init
    or any waiting → Pending; some running and none unknown → Running; none running,
    some stopped, none unknown → Running if policy Always, Succeeded if all stopped
    succeeded, Failed if policy Never, else Running (OnFailure is restarting);
    anything else → Pending.
    """
    policy = spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for container in spec.get("initContainers", []):
        status = _find(init_statuses, container["name"])
        if container.get("restartPolicy") == "Always":  # a sidecar: pending until running
            if status is None or "running" not in status.get("state", {}):
                pending_init += 1
            continue
        if status is None:
            pending_init += 1
            continue
        state = status.get("state", {})
        if "running" in state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += _exit_code(status) != 0
        elif "terminated" in status.get("lastState", {}):
            failed_init += _exit_code(status, "lastState") != 0
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = unknown = 0
    for container in spec.get("containers", []):
        status = _find(statuses, container["name"])
        state = status.get("state", {}) if status is not None else {}
        if status is None or not state:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += _exit_code(status) == 0
        elif "terminated" in status.get("lastState", {}):
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if policy == "Always":
            return "Running"  # all of them are restarting
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"  # OnFailure: the failed ones are restarting
    return "Pending"


@pluggable("next_init_action")
def next_init_action(init_containers: Sequence[Mapping[str, Any]], statuses: Sequence[Status],
                     restart_policy: str) -> tuple[str, str | None]:
    """What the init sequence does next: ``(action, container name)``.

    Walk the init containers in order and stop at the first one not yet done:
    no status, or waiting without having run before → ``("start", name)``;
    running → ``("wait", name)`` (a sidecar — ``restartPolicy: Always`` — that is
    running counts as done instead); terminated
    with exit 0 → done, look at the next; terminated with a non-zero code, or
    waiting after a termination → ``("fail", name)`` if the pod's ``restart_policy``
    is Never, else ``("restart", name)`` (a terminated sidecar is always restarted).
    All done → ``("done", None)``.
    """
    for container in init_containers:
        name = container["name"]
        sidecar = container.get("restartPolicy") == "Always"
        status = _find(statuses, name)
        state = (status or {}).get("state") or {}
        never_ran = "terminated" not in (status or {}).get("lastState", {})
        if status is None or ("running" not in state and "terminated" not in state and never_ran):
            return ("start", name)
        if "running" in state:
            if sidecar:
                continue
            return ("wait", name)
        if "terminated" in state and _exit_code(status) == 0 and not sidecar:
            continue
        if sidecar:
            return ("restart", name)
        return ("fail", name) if restart_policy == "Never" else ("restart", name)
    return ("done", None)


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "status": "True" if ok else "False"}
    if not ok and reason:
        condition.update(reason=reason, message=message)
    return condition


def pod_conditions(spec: Mapping[str, Any], phase: str, init_statuses: Sequence[Status],
                   statuses: Sequence[Status], *, scheduled: bool = True) -> list[dict[str, Any]]:
    """``PodScheduled``, ``Initialized``, ``ContainersReady`` and ``Ready``."""
    init_names = [c["name"] for c in spec.get("initContainers", [])]
    incomplete = []
    for container in spec.get("initContainers", []):
        status = _find(init_statuses, container["name"])
        done = status is not None and (
            status.get("ready") if container.get("restartPolicy") == "Always"
            else _exit_code(status) == 0)
        if not done:
            incomplete.append(container["name"])
    initialized = not incomplete or phase == "Succeeded"
    unready = [c["name"] for c in spec.get("containers", [])
               if not (_find(statuses, c["name"]) or {}).get("ready")]
    unready += [name for name in init_names if name not in incomplete and any(
        c["name"] == name and c.get("restartPolicy") == "Always" for c in spec["initContainers"])
        and not (_find(init_statuses, name) or {}).get("ready")]
    ready = not unready
    if phase == "Succeeded":
        ready_reason, containers_reason, message = "PodCompleted", "PodCompleted", ""
    else:
        ready_reason, containers_reason = "ContainersNotReady", "ContainersNotReady"
        message = f"containers with unready status: [{' '.join(unready)}]"
    return [
        _condition("PodScheduled", scheduled, "Unschedulable", "no node"),
        _condition("Initialized", initialized, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        _condition("ContainersReady", ready and phase != "Succeeded", containers_reason, message),
        _condition("Ready", ready and phase != "Succeeded", ready_reason, message),
    ]

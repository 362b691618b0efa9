"""PodDisruptionBudgets: how many of an application's Pods may be voluntarily disrupted now.

Models ``policy/v1`` ``PodDisruptionBudget`` and the arithmetic of
kube-controller-manager's *disruption controller*
(``pkg/controller/disruption/disruption.go``), documented at
https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ and
https://kubernetes.io/docs/tasks/run-application/configure-pdb/:

- a budget selects Pods with ``spec.selector`` (an empty selector selects
  nothing for eviction) and says either ``minAvailable`` or
  ``maxUnavailable``, as a number or a percentage (percentages round *up*);
- ``currentHealthy`` counts selected Pods that are Ready and not being deleted
  (and not just evicted: ``status.disruptedPods``);
- ``expectedPods`` is the number of selected Pods for a plain-number
  ``minAvailable``, else the summed ``spec.replicas`` of the Pods'
  controllers (a Pod without one: no disruption allowed, as upstream);
- ``desiredHealthy`` is ``minAvailable``, or ``expectedPods - maxUnavailable``;
- ``disruptionsAllowed = max(currentHealthy - desiredHealthy, 0)``.

The same arithmetic runs in two places: the disruption controller
(``controllers/disruption.py``) keeps each budget's status current, and the
eviction subresource recomputes it from the Pods at the moment it is asked, so
an eviction never trusts a status the controller has not caught up with yet
(upstream instead refuses with 429 until ``observedGeneration`` catches up).
The controllers' scale is read from each Pod's direct controller (a
ReplicaSet, not the Deployment above it, which upstream follows).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fromscratch.api.errors import FieldError, forbidden, invalid_value, required
from fromscratch.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]
ScaleLookup = Callable[[list[dict[str, Any]]], "int | None"]
DISRUPTED_POD_TIMEOUT = 120.0  # seconds an evicted Pod stays in status.disruptedPods upstream


def is_pod_ready(pod: Obj) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def selects(pdb: Obj, pod: Obj) -> bool:
    """Does the budget cover this Pod?  (An empty or invalid selector covers nothing.)"""
    if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    raw = (pdb.get("spec") or {}).get("selector")
    try:
        selector = label_selector_from_dict(raw)
    except (SelectorError, TypeError, ValueError):
        return False
    if selector.nothing or selector.empty():
        return False
    return selector.matches(pod["metadata"].get("labels") or {})


def scaled(value: int | str, total: int) -> int:
    """An IntOrString against ``total``: ``"50%"`` of 5 is 3 (rounded up, as upstream)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_status(pdb: Obj, pods: list[Obj], *, now: float,
                  disrupted: dict[str, float] | None = None,
                  controller_scale: ScaleLookup = lambda _pods: None) -> Obj:
    """The status the disruption controller would write, for the Pods the budget selects.

    ``disrupted`` maps Pod names evicted recently to when (seconds since the
    epoch): they do not count as healthy until they are gone or time out.
    ``controller_scale(pods)`` is the summed ``spec.replicas`` of the Pods'
    controllers, or None when a Pod has none (upstream's getExpectedScale).
    """
    spec = pdb.get("spec") or {}
    disrupted = {name: when for name, when in (disrupted or {}).items()
                 if now - when < DISRUPTED_POD_TIMEOUT}
    selected = [p for p in pods if selects(pdb, p) and not is_terminal(p)]
    names = {p["metadata"]["name"] for p in selected}
    disrupted = {name: when for name, when in disrupted.items() if name in names}
    healthy = sum(1 for p in selected if is_pod_ready(p)
                  and not p["metadata"].get("deletionTimestamp")
                  and p["metadata"]["name"] not in disrupted)
    expected, desired, fail_safe = len(selected), 0, False
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if isinstance(min_available, int) and max_unavailable is None:
        desired = min_available  # a plain number: no need to know the controllers
    elif min_available is not None or max_unavailable is not None:
        # a percentage or maxUnavailable is relative to how many Pods there *should* be
        scale = controller_scale(selected)
        if scale is None:
            fail_safe = True  # upstream: "found no controllers", no disruption allowed
        else:
            expected = scale
            if max_unavailable is not None:
                desired = max(expected - scaled(max_unavailable, expected), 0)
            else:
                desired = scaled(min_available, expected)
    allowed = 0 if fail_safe else max(healthy - desired, 0)
    return {"observedGeneration": pdb["metadata"].get("generation", 1),
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": allowed, "disruptedPods": disrupted}


def disruption_condition(allowed: int, *, now: str, generation: int,
                         previous: list[Obj] | None = None) -> Obj:
    """The DisruptionAllowed condition (pdbhelper.UpdateDisruptionAllowedCondition);
    its lastTransitionTime moves only when its status does (meta.SetStatusCondition)."""
    status, reason = ("True", "SufficientPods") if allowed > 0 else ("False", "InsufficientPods")
    old = next((c for c in previous or [] if c.get("type") == "DisruptionAllowed"), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status else now
    return {"type": "DisruptionAllowed", "status": status, "reason": reason, "message": "",
            "observedGeneration": generation, "lastTransitionTime": since}


def _int_or_percent_errors(path: str, value: Any) -> list[FieldError]:
    if isinstance(value, bool):
        return [invalid_value(path, value, "must be an integer or percentage (e.g '5%')")]
    if isinstance(value, int):
        return [] if value >= 0 else [invalid_value(path, value,
                                                    "must be greater than or equal to 0")]
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        if int(value[:-1]) > 100:
            return [invalid_value(path, value, "must not be greater than 100%")]
        return []
    return [invalid_value(path, value, "must be an integer or percentage (e.g '5%')")]


def validate_pdb(obj: Obj) -> list[FieldError]:
    """ValidatePodDisruptionBudgetSpec, the parts the course meets."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    problems: list[FieldError] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        problems.append(forbidden("spec", "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        if spec.get(field) is not None:
            problems += _int_or_percent_errors(f"spec.{field}", spec[field])
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy not in (None, "IfHealthyBudget", "AlwaysAllow"):
        problems.append(invalid_value("spec.unhealthyPodEvictionPolicy", policy,
                                      'supported values: "AlwaysAllow", "IfHealthyBudget"'))
    if spec.get("selector") is not None:
        try:
            label_selector_from_dict(spec["selector"])
        except (SelectorError, TypeError, ValueError) as err:
            problems.append(invalid_value("spec.selector", spec["selector"], str(err)))
    return problems

"""``POST …/pods/<name>/eviction``: a delete that respects PodDisruptionBudgets.

Models ``EvictionREST`` (``pkg/registry/core/pod/storage/eviction.go``), the
API ``kubectl drain`` uses.  The body is a policy/v1 (or v1beta1) ``Eviction``:
the Pod's name and optional ``deleteOptions``.

- a terminal, Pending or already-deleting Pod is deleted at once (it has
  disrupted nothing by leaving now);
- otherwise the one budget selecting the Pod must allow a disruption: the
  eviction spends it (``disruptionsAllowed - 1`` and the Pod in
  ``status.disruptedPods``, written with the budget's resourceVersion so two
  evictions never spend the same disruption), then deletes the Pod with the
  Eviction's ``deleteOptions``;
- no disruption left: ``429 TooManyRequests``, "Cannot evict pod as it would
  violate the pod's disruption budget.", with a ``DisruptionBudget`` cause
  ("The disruption budget web needs 2 healthy pods and has 2 currently");
- an unready Pod may go without spending when the budget is met without it
  (or always, with ``unhealthyPodEvictionPolicy: AlwaysAllow``);
- two budgets for one Pod: ``500``, as upstream.

Simplified: the budget's status is recomputed from the Pods here (see
``disruption.py``) instead of trusting the disruption controller's last write.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fromscratch.api import disruption, errors
from fromscratch.api.keys import rfc3339

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")
PDB_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_RETRIES = 20


def _check_eviction(name: str, body: Any, dry_run: bool) -> Obj:
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction") \
            or body.get("apiVersion") not in (None, *EVICTION_VERSIONS):
        raise errors.bad_request("not a Eviction object: send a policy/v1 Eviction")
    if (body.get("metadata") or {}).get("name") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = copy.deepcopy(body.get("deleteOptions") or {})
    if not isinstance(options, dict):
        raise errors.bad_request("deleteOptions must be an object")
    grace = options.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        raise errors.bad_request("deleteOptions.gracePeriodSeconds must be an integer")
    if options.get("propagationPolicy") not in (None, "Orphan", "Foreground", "Background"):
        raise errors.bad_request("deleteOptions.propagationPolicy must be Orphan, Foreground "
                                 "or Background")
    # propagateDryRun: the query's dryRun and the options' must agree
    if dry_run and options.get("dryRun") not in (None, [], ["All"]):
        raise errors.bad_request("Non-matching dry-run options in request and content")
    if dry_run:
        options["dryRun"] = ["All"]
    return options


def _can_ignore_pdb(pod: Obj) -> bool:
    # a terminal, Pending or already-deleting Pod has disrupted nothing by leaving now
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp"))


def _too_many_requests(cause: str, retry_after: int) -> errors.APIError:
    return errors.APIError(429, "TooManyRequests", PDB_MESSAGE, details={
        "causes": [{"reason": "DisruptionBudget", "message": cause}],
        "retryAfterSeconds": retry_after})


def _seconds(stamp: str) -> float:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return 0.0


def evict(registry: Registry, pods: Kind, namespace: str, name: str, body: Any, *,
          dry_run: bool = False) -> None:
    """Evict Pod ``namespace/name`` if its disruption budget allows (else 429)."""
    options = _check_eviction(name, body, dry_run)
    dry_run = options.get("dryRun") == ["All"]
    pod = registry.get(pods, namespace, name)
    if _can_ignore_pdb(pod):
        registry.delete(pods, namespace, name, options, dry_run=dry_run)
        return
    budgets_kind = registry.kinds.lookup("policy", "v1", "poddisruptionbudgets")
    budgets = []
    if budgets_kind is not None:
        items, _ = registry.list_all(budgets_kind, namespace)
        budgets = [b for b in items if disruption.selects(b, pod)]
    if len(budgets) > 1:
        raise errors.APIError(500, "InternalError", "This pod has more than one "
                              "PodDisruptionBudget, which the eviction subresource does not "
                              "support.")
    if budgets:
        assert budgets_kind is not None
        if _spend_budget(registry, budgets_kind, pods, budgets[0], pod, dry_run):
            # an unready Pod evicted without spending: it must still be the Pod we judged
            options.setdefault("preconditions", {}).setdefault(
                "resourceVersion", pod["metadata"]["resourceVersion"])
    try:
        registry.delete(pods, namespace, name, options, dry_run=dry_run)
    except errors.APIError as err:
        if err.reason == "Conflict" and budgets:
            raise _too_many_requests(f"The disruption budget {budgets[0]['metadata']['name']} "
                                     "is still being processed by the server.", 10) from None
        raise


def _spend_budget(registry: Registry, budgets_kind: Kind, pods: Kind, pdb: Obj, pod: Obj,
                  dry_run: bool) -> bool:
    """Take one disruption from ``pdb`` for ``pod`` (429 if none is left).

    Returns True when the Pod is unready and may go without spending (the
    budget is met without it); the caller then pins the Pod's resourceVersion.
    """
    namespace, pdb_name = pdb["metadata"]["namespace"], pdb["metadata"]["name"]
    pod_name = pod["metadata"]["name"]
    for _ in range(MAX_RETRIES):
        now = registry.clock()
        items, _ = registry.list_all(pods, namespace)
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        status = disruption.budget_status(
            pdb, items, now=now, disrupted={n: _seconds(t) for n, t in recorded.items()},
            controller_scale=lambda selected: controllers_scale(registry, selected))
        if not disruption.is_pod_ready(pod):
            policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
            if policy == "AlwaysAllow" or (status["currentHealthy"] >= status["desiredHealthy"]
                                           and status["desiredHealthy"] > 0):
                return True
        allowed = status["disruptionsAllowed"]
        if allowed > 0:
            status["disruptionsAllowed"] = allowed - 1
            status["disruptedPods"] = {**status["disruptedPods"], pod_name: now}
        status["disruptedPods"] = {n: rfc3339(t) for n, t in status["disruptedPods"].items()}
        status["conditions"] = [disruption.disruption_condition(
            status["disruptionsAllowed"], now=rfc3339(now),
            generation=status["observedGeneration"],
            previous=(pdb.get("status") or {}).get("conditions"))]
        try:
            if not dry_run:  # a dry run changes nothing, not even the budget's status
                _write_budget_status(registry, budgets_kind, pdb, status)
        except errors.APIError as err:
            if err.reason != "Conflict":
                raise
            pdb = registry.get(budgets_kind, namespace, pdb_name)  # someone else spent: re-read
            continue
        if allowed == 0:
            raise _too_many_requests(
                f"The disruption budget {pdb_name} needs {status['desiredHealthy']} healthy "
                f"pods and has {status['currentHealthy']} currently", 0)
        return False
    raise errors.APIError(504, "Timeout", f'couldn\'t update PodDisruptionBudget "{pdb_name}" '
                          "due to conflicts", details={"retryAfterSeconds": 10})


def controllers_scale(registry: Registry, pods: list[Obj]) -> int | None:
    """The summed ``spec.replicas`` of the Pods' controllers; None if a Pod has none."""
    replicas: dict[str, int] = {}
    for pod in pods:
        ref = next((r for r in pod["metadata"].get("ownerReferences") or []
                    if r.get("controller")), None)
        kind = registry.kinds.for_object(ref.get("apiVersion", ""), ref.get("kind", "")) \
            if ref else None
        if ref is None or kind is None or kind.scale is None:
            return None
        if ref.get("uid") not in replicas:
            try:
                owner = registry.get(kind, pod["metadata"]["namespace"], ref.get("name", ""))
            except errors.APIError:
                return None
            replicas[ref.get("uid")] = int((owner.get("spec") or {}).get("replicas", 1))
    return sum(replicas.values())


def _write_budget_status(registry: Registry, budgets_kind: Kind, pdb: Obj, status: Obj) -> None:
    meta = pdb["metadata"]
    if (pdb.get("status") or {}) == status:
        return
    registry.guaranteed_update(
        budgets_kind, meta["namespace"], meta["name"], lambda obj: {**obj, "status": status},
        precondition=meta["resourceVersion"], subresource="status")

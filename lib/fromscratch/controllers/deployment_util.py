"""Deployment bookkeeping: revisions, annotations, conditions, status, rollback.

Models ``pkg/controller/deployment/util/deployment_util.go`` and what
``kubectl rollout undo|pause|resume`` do (``kubectl/pkg/polymorphichelpers/rollback.go``):

- each ReplicaSet of a Deployment carries ``deployment.kubernetes.io/revision``;
  the newest template gets ``max(old revisions) + 1``, so rolling back to an old
  template *moves* that ReplicaSet to the newest revision (and records its old
  number in ``revision-history``);
- ``desired-replicas`` and ``max-replicas`` remember the Deployment's size (and
  size + surge) each ReplicaSet was last scaled for: proportional scaling reads them;
- the ``Available`` and ``Progressing`` conditions with upstream's reasons and messages;
- rollback is done by the client, as in apps/v1: copy the chosen ReplicaSet's
  template back into the Deployment.
"""

from __future__ import annotations

import copy
from typing import Any

from kubernetes.client import ApiClient

from fromscratch.controllers.client import DEPLOYMENTS, REPLICASETS, ResourceClient
from fromscratch.controllers.podutil import format_time, parse_time
from fromscratch.controllers.rollout import ReplicaSetState, resolve_fenceposts

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# annotations of a Deployment that are not copied to its ReplicaSets
SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration", REVISION,
                    REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                    "deprecated.deployment.rollback.to"}


# --- reading a Deployment ------------------------------------------------------------------
def is_rolling(d: Obj) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def surge_and_unavailable(d: Obj) -> tuple[int, int]:
    """``(MaxSurge(d), MaxUnavailable(d))`` in Pods; both 0 for Recreate."""
    replicas = int(d["spec"].get("replicas", 1))
    if not is_rolling(d):
        return 0, 0
    rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    surge, unavailable = resolve_fenceposts(rolling.get("maxSurge", "25%"),
                                            rolling.get("maxUnavailable", "25%"), replicas)
    return surge, min(unavailable, replicas)


def revision_of(obj: Obj) -> int:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0")
    try:
        return int(text)
    except ValueError:
        return 0


def template_without_hash(template: Obj) -> Obj:
    result = copy.deepcopy(template or {})
    labels = (result.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return result


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def state_of(rs: Obj) -> ReplicaSetState:
    annotations = rs["metadata"].get("annotations") or {}
    max_replicas = annotations.get(MAX_REPLICAS)
    replicas = int(rs["spec"].get("replicas", 0))
    # subtle: a status written before the last scale-down (or whose update failed) still counts
    # the Pods being removed; trusting it would scale down twice and break the availability floor
    available = min(int((rs.get("status") or {}).get("availableReplicas", 0)), replicas)
    return ReplicaSetState(
        name=rs["metadata"]["name"], replicas=replicas, available=available,
        created=parse_time(rs["metadata"].get("creationTimestamp")) or 0.0,
        max_replicas=int(max_replicas) if max_replicas and max_replicas.isdigit() else None,
        pods=int((rs.get("status") or {}).get("replicas", 0)))


# --- annotations ---------------------------------------------------------------------------
def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    wanted = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(max_replicas)}
    changed = any(annotations.get(k) != v for k, v in wanted.items())
    annotations.update(wanted)
    return changed


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, *, exists: bool) -> bool:
    """Copy the Deployment's annotations and give ``rs`` the newest revision.

    The replicas annotations are set only on a ReplicaSet about to be created:
    on an existing one they record the size it was last *scaled* for, which
    proportional scaling needs.
    """
    annotations = rs["metadata"].setdefault("annotations", {})
    before = dict(annotations)
    for key, value in (d["metadata"].get("annotations") or {}).items():
        if key not in SKIP_ANNOTATIONS:
            annotations[key] = value
    old_revision = revision_of(rs)
    if old_revision < new_revision:
        if old_revision > 0:
            # a rollback: remember the revisions this template held before
            history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
            annotations[REVISION_HISTORY] = ",".join(history + [str(old_revision)])
        annotations[REVISION] = str(new_revision)
    if not exists:
        surge, _ = surge_and_unavailable(d)
        replicas = int(d["spec"].get("replicas", 1))
        set_replicas_annotations(rs, replicas, replicas + surge)
    return annotations != before


# --- conditions ----------------------------------------------------------------------------
def get_condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(status: Obj, kind: str, value: str, reason: str, message: str, now: float) -> None:
    """SetDeploymentCondition: same status and reason -> nothing changes (times kept)."""
    current = get_condition(status, kind)
    if current is not None and current.get("status") == value and current.get("reason") == reason:
        return
    stamp = format_time(now)
    new = {"type": kind, "status": value, "lastUpdateTime": stamp,
           "lastTransitionTime": stamp, "reason": reason, "message": message}
    if current is not None and current.get("status") == value:
        new["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind] + [new]


def deployment_complete(d: Obj, status: Obj) -> bool:
    replicas = int(d["spec"].get("replicas", 1))
    return (status.get("updatedReplicas", 0) == replicas and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 0))


def deployment_progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def deployment_timed_out(d: Obj, status: Obj, now: float) -> bool:
    cond = get_condition(status, "Progressing")
    deadline = d["spec"].get("progressDeadlineSeconds")
    if cond is None or deadline is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    since = parse_time(cond.get("lastUpdateTime")) or now
    return since + int(deadline) < now


# --- client-side rollout commands (what kubectl does) ----------------------------------------
def rollback(api_client: ApiClient, namespace: str, name: str, to_revision: int = 0) -> Obj:
    """``kubectl rollout undo [--to-revision=N]``: put an old ReplicaSet's template back."""
    deployments = ResourceClient(api_client, DEPLOYMENTS)
    d = deployments.get(namespace, name)
    owned = [rs for rs in ResourceClient(api_client, REPLICASETS).list(namespace)["items"]
             if any(r.get("uid") == d["metadata"]["uid"] and r.get("controller")
                    for r in rs["metadata"].get("ownerReferences") or [])]
    by_revision = {revision_of(rs): rs for rs in owned}
    if to_revision == 0:
        revisions = sorted(by_revision, reverse=True)
        if len(revisions) < 2:
            raise ValueError(f"no rollout history found for deployment {name!r}")
        to_revision = revisions[1]
    if to_revision not in by_revision:
        raise ValueError(f"unable to find the specified revision {to_revision} of deployment {name!r}")
    target = by_revision[to_revision]
    template = template_without_hash(target["spec"]["template"])
    cause = (target["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
    # a JSON merge patch would merge into the old template; replace it whole instead
    json_patch = [{"op": "test", "path": "/metadata/resourceVersion",
                   "value": d["metadata"]["resourceVersion"]},
                  {"op": "replace", "path": "/spec/template", "value": template}]
    if cause is not None:
        annotations = dict(d["metadata"].get("annotations") or {}, **{CHANGE_CAUSE: cause})
        json_patch.append({"op": "add", "path": "/metadata/annotations", "value": annotations})
    return deployments.patch(namespace, name, json_patch, patch_type="application/json-patch+json")


def set_paused(api_client: ApiClient, namespace: str, name: str, paused: bool) -> Obj:
    """``kubectl rollout pause`` / ``resume``."""
    return ResourceClient(api_client, DEPLOYMENTS).patch(namespace, name, {"spec": {"paused": paused}})

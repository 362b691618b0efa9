"""The StatefulSet controller: Pods with stable names, stable storage, in order.

Models ``pkg/controller/statefulset`` (``stateful_set_control.go``,
``stateful_pod_control.go``, ``stateful_set_utils.go``):

- Pod ``<set>-<ordinal>`` gets ``hostname`` = its name and ``subdomain`` =
  ``spec.serviceName`` (its DNS name through the headless Service), and the labels
  ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index`` and
  ``controller-revision-hash``;
- each ``volumeClaimTemplates`` entry becomes a PersistentVolumeClaim
  ``<template>-<set>-<ordinal>``, created before the Pod and **kept** when the Pod
  is deleted or the set scaled down (``persistentVolumeClaimRetentionPolicy`` Retain),
  so ``web-0`` gets its own volume back;
- what to do next is the pure
  :func:`~fromscratch.controllers.statefulset_plan.statefulset_next_actions`
  (OrderedReady or Parallel, partitioned rolling updates) — a learner's exercise.

Simplified: the revision is the template's hash kept in ``status.updateRevision``
(no ControllerRevision objects, so no rollback of a StatefulSet), and
``minReadySeconds`` is not honoured.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fromscratch.controllers.base import Controller, controller_ref
from fromscratch.controllers.cache import OWNER_INDEX, split_key
from fromscratch.controllers.client import PODS, PVCS, STATEFULSETS, ResourceClient, is_status
from fromscratch.controllers.hashing import pod_template_hash
from fromscratch.controllers.informer import InformerFactory
from fromscratch.controllers.podutil import is_pod_ready, pod_from_template
from fromscratch.controllers.statefulset_plan import PodState, statefulset_next_actions

Obj = dict[str, Any]
REVISION_LABEL = "controller-revision-hash"


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    match = re.fullmatch(re.escape(set_name) + r"-(\d+)", pod_name)
    return int(match.group(1)) if match else None


class StatefulSetController(Controller):
    name = "statefulset"
    resource = STATEFULSETS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.pods = self.watch_dependents(PODS)
        self.pod_client = ResourceClient(self.api_client, PODS)
        self.pvc_client = ResourceClient(self.api_client, PVCS)

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        sts = self.informer.get(namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return None
        uid = sts["metadata"]["uid"]
        revision = f"{name}-{pod_template_hash(sts['spec']['template'])}"
        pods: dict[int, Obj] = {}
        for pod in self.pods.store.by_index(OWNER_INDEX, uid):
            ordinal = ordinal_of(name, pod["metadata"]["name"])
            if (controller_ref(pod) or {}).get("uid") == uid and ordinal is not None:
                pods[ordinal] = pod
        states = {i: PodState(running_ready=(p.get("status") or {}).get("phase") == "Running"
                              and is_pod_ready(p),
                              terminating=bool(p["metadata"].get("deletionTimestamp")),
                              failed=(p.get("status") or {}).get("phase") == "Failed",
                              revision=(p["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))
                  for i, p in pods.items()}
        strategy = sts["spec"].get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        actions = statefulset_next_actions(
            replicas=int(sts["spec"].get("replicas", 1)), pods=states,
            policy=sts["spec"].get("podManagementPolicy", "OrderedReady"),
            update_revision=revision if rolling else "",
            partition=int((strategy.get("rollingUpdate") or {}).get("partition", 0)))
        for action in actions:
            if action.verb == "create":
                self.create_pod(sts, action.ordinal, revision)
            elif action.verb == "delete":
                pod = pods[action.ordinal]
                try:
                    self.pod_client.delete(namespace, pod["metadata"]["name"],
                                           preconditions={"uid": pod["metadata"]["uid"]})
                except Exception as err:
                    if not is_status(err, 404, 409):
                        raise
                    continue
                self.recorder.event(sts, "Normal", "SuccessfulDelete",
                                    f"delete Pod {pod['metadata']['name']} in StatefulSet {name} successful")
        self.update_status(sts, pods, states, revision)
        return None

    def create_pod(self, sts: Obj, ordinal: int, revision: str) -> None:
        namespace, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        pod_name = f"{set_name}-{ordinal}"
        template = copy.deepcopy(sts["spec"]["template"])
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": pod_name,
                       "apps.kubernetes.io/pod-index": str(ordinal)})
        spec = template.setdefault("spec", {})
        spec["hostname"] = pod_name
        if sts["spec"].get("serviceName"):
            spec["subdomain"] = sts["spec"]["serviceName"]
        volumes = [v for v in spec.get("volumes") or []]
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            claim_name = f"{claim['metadata']['name']}-{pod_name}"
            self._ensure_pvc(namespace, claim, claim_name, sts, pod_name)
            volumes = [v for v in volumes if v.get("name") != claim["metadata"]["name"]]
            volumes.append({"name": claim["metadata"]["name"],
                            "persistentVolumeClaim": {"claimName": claim_name}})
        if volumes:
            spec["volumes"] = volumes
        try:
            self.pod_client.create(namespace, pod_from_template(template, sts, name=pod_name))
        except Exception as err:
            if not is_status(err, 409):  # already there: our cache was behind
                raise
            return
        self.recorder.event(sts, "Normal", "SuccessfulCreate",
                            f"create Pod {pod_name} in StatefulSet {set_name} successful")

    def _ensure_pvc(self, namespace: str, claim: Obj, claim_name: str, sts: Obj, pod_name: str) -> None:
        body = copy.deepcopy(claim)
        body["metadata"] = {"name": claim_name,
                            "labels": dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})}
        body.pop("status", None)
        try:
            self.pvc_client.create(namespace, body)
        except Exception as err:
            if not is_status(err, 409):  # it survived an earlier Pod: keep it, that is the point
                raise
            return
        self.recorder.event(sts, "Normal", "SuccessfulCreate",
                            f"create Claim {claim_name} Pod {pod_name} "
                            f"in StatefulSet {sts['metadata']['name']} success")

    def update_status(self, sts: Obj, pods: dict[int, Obj], states: dict[int, PodState],
                      revision: str) -> None:
        status = copy.deepcopy(sts.get("status") or {})
        live = {i: s for i, s in states.items() if not s.terminating}
        updated = sum(s.revision == revision for s in live.values())
        status.update(replicas=len(live), readyReplicas=sum(s.running_ready for s in live.values()),
                      availableReplicas=sum(s.running_ready for s in live.values()),
                      currentReplicas=len(live) - updated if updated < len(live) else len(live),
                      updatedReplicas=updated, updateRevision=revision,
                      observedGeneration=sts["metadata"].get("generation", 0))
        if updated == len(live) == int(sts["spec"].get("replicas", 1)):
            status["currentRevision"] = revision
        if status != (sts.get("status") or {}):
            self.client.update_status({**sts, "status": status})

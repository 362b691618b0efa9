"""Which nodes a DaemonSet runs on: node selection and the tolerations it adds itself.

Models ``NodeShouldRunDaemonPod`` (``pkg/controller/daemon/daemon_controller.go``)
and ``AddOrUpdateDaemonPodTolerations`` (``pkg/controller/daemon/util``):

- a daemon Pod tolerates, on top of its own tolerations, the taints a node gets
  when it is unhealthy — ``not-ready`` and ``unreachable`` (NoExecute),
  ``disk-pressure``, ``memory-pressure``, ``pid-pressure`` and ``unschedulable``
  (NoSchedule), and ``network-unavailable`` for host-network Pods — so daemons
  like log shippers and CNI agents keep running where nothing else may;
- a node is eligible when the template's ``nodeName`` (if any), ``nodeSelector``
  and required node affinity match it, and no NoSchedule/NoExecute taint is
  left untolerated;
- a daemon Pod already there may *continue running* on a node that became
  ineligible only through a NoSchedule taint; an untolerated NoExecute taint evicts it.

Each daemon Pod is pinned to its node with node affinity on ``metadata.name``
(:func:`pin_to_node`), so the scheduler places it.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.exercises import pluggable
from fromscratch.scheduler.predicates import pod_matches_node_labels, untolerated_taints

Obj = dict[str, Any]


def daemon_tolerations(spec: Obj) -> list[Obj]:
    """The template's tolerations plus the ones every daemon Pod gets."""
    added = [("node.kubernetes.io/not-ready", "NoExecute"),
             ("node.kubernetes.io/unreachable", "NoExecute"),
             ("node.kubernetes.io/disk-pressure", "NoSchedule"),
             ("node.kubernetes.io/memory-pressure", "NoSchedule"),
             ("node.kubernetes.io/pid-pressure", "NoSchedule"),
             ("node.kubernetes.io/unschedulable", "NoSchedule")]
    if spec.get("hostNetwork"):
        added.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    tolerations = list(spec.get("tolerations") or [])
    for key, effect in added:
        wanted = {"key": key, "operator": "Exists", "effect": effect}
        if wanted not in tolerations:
            tolerations.append(wanted)
    return tolerations


@pluggable("daemonset_should_run")
def daemonset_should_run(template_spec: Obj, node: Obj) -> tuple[bool, bool]:
    """``(should_run, should_continue_running)`` for a DaemonSet's Pod on ``node``."""
    name = (node.get("metadata") or {}).get("name")
    if template_spec.get("nodeName") and template_spec["nodeName"] != name:
        return False, False
    pod = {"spec": template_spec}
    if not pod_matches_node_labels(pod, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = daemon_tolerations(template_spec)
    if untolerated_taints(taints, tolerations, ("NoSchedule", "NoExecute")):
        # subtle: a NoSchedule taint keeps new Pods away but does not evict a running one
        return False, not untolerated_taints(taints, tolerations, ("NoExecute",))
    return True, True


def pin_to_node(template_spec: Obj, node_name: str) -> Obj:
    """The daemon Pod's spec for ``node_name``: tolerations added, affinity on metadata.name."""
    spec = copy.deepcopy(template_spec)
    spec["tolerations"] = daemon_tolerations(spec)
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    return spec

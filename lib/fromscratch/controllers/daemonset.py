"""The DaemonSet controller: exactly one Pod on every eligible node.

Models ``pkg/controller/daemon/daemon_controller.go`` (``manage``, ``updateDaemonSetStatus``):
for each node, :func:`~fromscratch.controllers.daemonset_nodes.daemonset_should_run`
(a learner's exercise) decides; the controller creates the missing daemon Pod
— pinned to the node with node affinity on ``metadata.name`` and the daemon
tolerations, so the scheduler places it — deletes Pods on nodes where they may
not continue (and duplicates), and Pods whose node is gone.  A node joining,
changing labels or taints wakes every DaemonSet.

Status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled,
numberReady, numberAvailable, updatedNumberScheduled, observedGeneration.

After a template change, ``updateStrategy: RollingUpdate`` replaces old daemon
Pods node by node, never leaving more than ``maxUnavailable`` (default 1, a
percentage rounds up) nodes without a ready daemon; ``OnDelete`` waits for
someone to delete them.  Simplified: the revision is the template's hash
(label ``controller-revision-hash``), not a ControllerRevision; no ``maxSurge``.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from fromscratch.controllers.base import Controller, controller_ref, object_of
from fromscratch.controllers.cache import OWNER_INDEX, split_key
from fromscratch.controllers.client import DAEMONSETS, NODES, PODS, ResourceClient, is_status
from fromscratch.controllers.daemonset_nodes import daemonset_should_run, pin_to_node
from fromscratch.controllers.expectations import Expectations
from fromscratch.controllers.hashing import pod_template_hash
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import is_pod_ready, pod_from_template
from fromscratch.controllers.rollout import scaled_value

REVISION_LABEL = "controller-revision-hash"

Obj = dict[str, Any]


def pinned_node(pod: Obj) -> str:
    """The node a daemon Pod is for: ``spec.nodeName``, or the node its affinity pins it to."""
    if (pod.get("spec") or {}).get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = ((((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return ""


class DaemonSetController(Controller):
    name = "daemonset"
    resource = DAEMONSETS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.pods = self.watch_dependents(PODS)
        self.nodes = factory.informer(NODES)
        self.nodes.add_event_handler(EventHandler(
            on_add=lambda _n: self._all(), on_update=lambda _o, _n: self._all(),
            on_delete=lambda _n: self._all()))
        self.pod_client = ResourceClient(self.api_client, PODS)
        self.expectations = Expectations(self.clock)
        self.pods.add_event_handler(EventHandler(
            on_add=lambda p: self._observed(p, "add"), on_delete=lambda p: self._observed(p, "delete")))

    def _all(self) -> None:
        for ds in self.informer.list():
            self.enqueue(ds)

    def _observed(self, pod: Any, what: str) -> None:
        pod = object_of(pod)
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "DaemonSet":
            key = f"{pod['metadata']['namespace']}/{ref['name']}"
            if what == "add":
                self.expectations.creation_observed(key)
            else:
                self.expectations.deletion_observed(key)

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        ds = self.informer.get(namespace, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return None
        uid = ds["metadata"]["uid"]
        by_node: dict[str, list[Obj]] = defaultdict(list)
        for pod in self.pods.store.by_index(OWNER_INDEX, uid):
            if (controller_ref(pod) or {}).get("uid") == uid and not pod["metadata"].get("deletionTimestamp"):
                by_node[pinned_node(pod)].append(pod)
        template = ds["spec"]["template"]
        to_create: list[str] = []
        to_delete: list[Obj] = []
        desired = scheduled = misscheduled = 0
        nodes = {n["metadata"]["name"]: n for n in self.nodes.list()}
        for node_name, node in sorted(nodes.items()):
            should_run, may_continue = daemonset_should_run(template.get("spec") or {}, node)
            pods = by_node.get(node_name, [])
            desired += should_run
            if should_run and not pods:
                to_create.append(node_name)
            elif pods and not may_continue:
                to_delete += pods
            elif pods:
                scheduled += should_run
                misscheduled += not should_run
                to_delete += sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""))[1:]
        # daemon Pods of nodes that no longer exist
        to_delete += [p for n, pods in by_node.items() if n not in nodes for p in pods]
        revision = pod_template_hash(template)
        if not to_create and not to_delete:
            to_delete = self._rolling_update(ds, by_node, nodes, desired, revision)
        if self.expectations.satisfied(key):
            self._manage(key, ds, to_create, to_delete)
        ours = [p for pods in by_node.values() for p in pods]
        status = copy.deepcopy(ds.get("status") or {})
        ready = sum(is_pod_ready(p) for p in ours)
        status.update(desiredNumberScheduled=desired, currentNumberScheduled=scheduled,
                      numberMisscheduled=misscheduled, numberReady=ready, numberAvailable=ready,
                      numberUnavailable=max(desired - ready, 0),
                      updatedNumberScheduled=sum(_revision(p) == revision for p in ours),
                      observedGeneration=ds["metadata"].get("generation", 0))
        if status != (ds.get("status") or {}):
            self.client.update_status({**ds, "status": status})
        return None

    def _rolling_update(self, ds: Obj, by_node: dict[str, list[Obj]], nodes: dict[str, Obj],
                        desired: int, revision: str) -> list[Obj]:
        """Old-template Pods to delete now: unready ones first, then up to maxUnavailable."""
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return []  # OnDelete
        max_unavailable = scaled_value((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                       desired, round_up=True)
        pods = [p for n, ps in by_node.items() if n in nodes for p in ps]
        old = sorted((p for p in pods if _revision(p) != revision), key=lambda p: pinned_node(p))
        unavailable = desired - sum(is_pod_ready(p) for p in pods)
        chosen = [p for p in old if not is_pod_ready(p)]  # already unavailable: free to replace
        for pod in old:
            if is_pod_ready(pod) and unavailable < max_unavailable:
                chosen.append(pod)
                unavailable += 1
        return chosen

    def _manage(self, key: str, ds: Obj, to_create: list[str], to_delete: list[Obj]) -> None:
        namespace = ds["metadata"]["namespace"]
        self.expectations.expect(key, adds=len(to_create), deletes=len(to_delete))
        for index, node_name in enumerate(to_create):
            template = copy.deepcopy(ds["spec"]["template"])
            revision = pod_template_hash(ds["spec"]["template"])
            template["spec"] = pin_to_node(template.get("spec") or {}, node_name)
            template.setdefault("metadata", {}).setdefault("labels", {})[REVISION_LABEL] = revision
            try:
                pod = self.pod_client.create(namespace, pod_from_template(template, ds))
            except Exception:
                for _ in range(len(to_create) - index):
                    self.expectations.creation_observed(key)
                raise
            self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        for pod in to_delete:
            try:
                self.pod_client.delete(namespace, pod["metadata"]["name"],
                                       preconditions={"uid": pod["metadata"]["uid"]})
            except Exception as err:
                self.expectations.deletion_observed(key)
                if not is_status(err, 404, 409):
                    raise
                continue
            self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")


def _revision(pod: Obj) -> str:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, "")

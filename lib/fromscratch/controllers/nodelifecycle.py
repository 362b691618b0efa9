"""The node lifecycle controller: notices nodes that stop answering, and taints them.

Models kube-controller-manager's ``node-lifecycle-controller``
(``pkg/controller/nodelifecycle/node_lifecycle_controller.go``), as
https://kubernetes.io/docs/concepts/architecture/nodes/ describes it
("Heartbeats", "Node controller"):

- a kubelet proves it is alive by renewing its Lease in ``kube-node-lease``
  (and by posting node status).  The controller remembers, on *its own*
  clock, when it last saw either change (upstream's ``probeTimestamp``);
- when nothing has changed for ``node_monitor_grace_period`` (40 s by
  default), it sets the node's ``Ready`` condition — and the pressure
  conditions — to ``Unknown`` ("Kubelet stopped posting node status.",
  reason ``NodeStatusUnknown``), and marks every Pod on the node not Ready
  (``MarkPodsNotReady``), so Services stop sending them traffic;
- it keeps the node's taints in step with its conditions
  (``doNoScheduleTaintingPass`` and ``doNoExecuteTaintingPass``):
  ``Ready=Unknown`` -> ``node.kubernetes.io/unreachable`` ``NoSchedule`` and
  ``NoExecute``; ``Ready=False`` -> ``node.kubernetes.io/not-ready`` (both
  effects); pressure conditions and ``spec.unschedulable`` -> their
  ``NoSchedule`` taints; a healthy node loses them again.  Every taint it adds
  carries ``timeAdded``, which the taint manager (``taint_eviction.py``)
  counts ``tolerationSeconds`` from.

Simplified: no rate-limited, zone-aware tainting (upstream slows evictions
down when a whole zone looks unhealthy); a node never seen posting status is
judged from when this controller first saw it, not from its creationTimestamp.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.controllers.base import Controller
from fromscratch.controllers.cache import split_key
from fromscratch.controllers.client import NODES, PODS, Resource, ResourceClient
from fromscratch.controllers.clock import Clock
from fromscratch.controllers.informer import EventHandler, Informer, InformerFactory
from fromscratch.controllers.podutil import condition, format_time

Obj = dict[str, Any]
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
LEASE_NAMESPACE = "kube-node-lease"
NODE_INDEX = "spec.nodeName"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
# condition type -> (the status that taints, taint key), the NoSchedule pass's table
CONDITION_TAINTS = {
    "MemoryPressure": ("True", "node.kubernetes.io/memory-pressure"),
    "DiskPressure": ("True", "node.kubernetes.io/disk-pressure"),
    "PIDPressure": ("True", "node.kubernetes.io/pid-pressure"),
    "NetworkUnavailable": ("True", "node.kubernetes.io/network-unavailable"),
}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_KEYS = {NOT_READY, UNREACHABLE, UNSCHEDULABLE, *(k for _, k in CONDITION_TAINTS.values())}
UNKNOWN_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def node_index(pod: Obj) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


def pods_informer(factory: InformerFactory) -> Informer:
    """The shared Pod informer, indexed by node name."""
    informer = factory.informer(PODS)
    try:
        informer.add_indexers({NODE_INDEX: node_index})
    except ValueError:
        pass  # another controller of this process added it already
    return informer


def wanted_taints(node: Obj) -> list[tuple[str, str]]:
    """(key, effect) of every taint this controller wants on ``node``, from its conditions."""
    wanted = []
    ready = (condition(node, "Ready") or {}).get("status")
    if ready == "False":
        wanted += [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]
    elif ready == "Unknown":
        wanted += [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
    for kind, (status, key) in CONDITION_TAINTS.items():
        if (condition(node, kind) or {}).get("status") == status:
            wanted.append((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.append((UNSCHEDULABLE, "NoSchedule"))
    return wanted


def reconcile_taints(taints: list[Obj], wanted: list[tuple[str, str]], now: str) -> list[Obj]:
    """The node's taints with ours made to match ``wanted``; others' taints untouched."""
    kept = [t for t in taints if t.get("key") not in MANAGED_KEYS
            or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    # SwapNodeControllerTaint stamps what it adds with the time: tolerationSeconds count from it
    added = [{"key": key, "effect": effect, "timeAdded": now}
             for key, effect in wanted if (key, effect) not in have]
    return kept + added


def mark_unknown(node: Obj, now: str) -> Obj:
    """The node with Ready and the pressure conditions set to Unknown."""
    node = copy.deepcopy(node)
    conditions = node.setdefault("status", {}).setdefault("conditions", [])
    for kind in UNKNOWN_CONDITIONS:
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            conditions.append({"type": kind, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": now, "lastTransitionTime": now})
        elif current.get("status") != "Unknown":
            current.update(status="Unknown", reason="NodeStatusUnknown",
                           message="Kubelet stopped posting node status.",
                           lastTransitionTime=now)
    return node


class NodeLifecycleController(Controller):
    """Keys are node names; each reconcile judges one node's health."""

    name = "nodelifecycle"
    component = "node-controller"
    resource = NODES

    def __init__(self, factory: InformerFactory, *, clock: Clock | None = None,
                 node_monitor_grace_period: float = 40.0, node_monitor_period: float = 5.0,
                 **kwargs: Any) -> None:
        super().__init__(factory, clock=clock, **kwargs)
        self.grace_period = node_monitor_grace_period
        self.monitor_period = node_monitor_period
        # subtle: the Lease informer watches kube-node-lease whatever namespace the rest watch
        if LEASES not in factory.informers:
            factory.informers[LEASES] = Informer(
                factory.api_client, LEASES, namespace=LEASE_NAMESPACE, clock=self.clock,
                resync_period=factory.resync_period)
        self.leases = factory.informers[LEASES]
        self.leases.add_event_handler(EventHandler(
            on_add=self._lease_changed, on_update=lambda _old, new: self._lease_changed(new)))
        self.pods = pods_informer(factory)
        self.pods.add_event_handler(EventHandler(
            on_add=self._pod_changed, on_update=lambda _old, new: self._pod_changed(new)))
        self.pod_client = ResourceClient(self.api_client, PODS)
        # node -> (what we last saw of its heartbeats, when we saw it change, on our clock)
        self.health: dict[str, tuple[tuple[str, str], float]] = {}

    def _lease_changed(self, lease: Obj) -> None:
        if lease["metadata"].get("namespace") == LEASE_NAMESPACE:
            self.queue.add(lease["metadata"]["name"])

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:  # a Pod arriving on an unreachable node must be marked not Ready too
            self.queue.add(node)

    # --- reconcile ---------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        _, name = split_key(key)
        node = self.informer.get("", name)
        if node is None:
            self.health.pop(name, None)
            return None
        now = self.clock.now()
        stamp = format_time(self.clock.wall())
        # 1. a heartbeat is any change of the Lease's renewTime or the Ready heartbeat
        lease = self.leases.get(LEASE_NAMESPACE, name) or {}
        seen = ((lease.get("spec") or {}).get("renewTime") or "",
                (condition(node, "Ready") or {}).get("lastHeartbeatTime") or "")
        previous = self.health.get(name)
        if previous is None or previous[0] != seen:
            self.health[name] = (seen, now)
        probed = self.health[name][1]
        # 2. silent for longer than the grace period: the node's state is Unknown
        if now - probed > self.grace_period and \
                (condition(node, "Ready") or {}).get("status") != "Unknown":
            was_ready = (condition(node, "Ready") or {}).get("status") == "True"
            node = self.client.update_status(mark_unknown(node, stamp))
            if was_ready:
                self.recorder.event(node, "Normal", "NodeNotReady",
                                    f"Node {name} status is now: NodeNotReady")
        # 3. taints follow the conditions
        taints = (node.get("spec") or {}).get("taints") or []
        desired = reconcile_taints(taints, wanted_taints(node), stamp)
        if desired != taints:
            changed = copy.deepcopy(node)
            changed.setdefault("spec", {})["taints"] = desired
            node = self.client.update(changed)
        # 4. an unreachable node's Pods are not Ready (their endpoints go away)
        if (condition(node, "Ready") or {}).get("status") == "Unknown":
            self.mark_pods_not_ready(name)
        # look again before the grace period runs out (upstream: every node_monitor_period)
        remaining = probed + self.grace_period - now
        return min(self.monitor_period, remaining + 0.001) if remaining > 0 \
            else self.monitor_period

    def mark_pods_not_ready(self, node_name: str) -> None:
        """MarkPodsNotReady: set Ready=False on every Pod of the node that says True."""
        for pod in self.pods.store.by_index(NODE_INDEX, node_name):
            ready = condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            updated = copy.deepcopy(pod)
            for cond in updated["status"]["conditions"]:
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=format_time(self.clock.wall()))
            self.pod_client.update_status(updated)
            self.recorder.event(updated, "Warning", "NodeNotReady", "Node is not ready")

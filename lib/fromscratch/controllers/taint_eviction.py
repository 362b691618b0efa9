"""The taint manager: Pods leave nodes whose NoExecute taints they do not tolerate.

Models kube-controller-manager's ``taint-eviction-controller`` (the former
``NoExecuteTaintManager``, ``pkg/controller/tainteviction/taint_eviction.go``),
as https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
describes it.  For each Pod bound to a node with ``NoExecute`` taints:

- a taint no toleration tolerates: the Pod is deleted **now**;
- every taint tolerated, some with ``tolerationSeconds``: the Pod stays that
  long after the taint was added (the taint's ``timeAdded``), then is deleted
  — with several, the earliest deadline wins;
- every taint tolerated forever (no ``tolerationSeconds``): the Pod stays.

A taint removed before the deadline cancels the eviction.  That is how the
``DefaultTolerationSeconds`` admission plugin's 300 s tolerations for
``not-ready``/``unreachable`` turn into "Pods leave a dead node after five
minutes".  Before deleting, the Pod gets the ``DisruptionTarget`` condition
(reason ``DeletionByTaintManager``), and an Event ``TaintManagerEviction``.

Each toleration is matched with the scheduler's ``tolerates_taint`` (the
chapter 8 exercise plugs in there).  Simplified: one queue of Pod keys with
delayed re-checks instead of upstream's timed worker per Pod; a taint without
``timeAdded`` counts from when this controller first saw it.
"""

from __future__ import annotations

from typing import Any

from fromscratch.controllers.base import Controller
from fromscratch.controllers.cache import meta_namespace_key, split_key
from fromscratch.controllers.client import NODES, PODS, is_status
from fromscratch.controllers.clock import Clock
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.nodelifecycle import NODE_INDEX, pods_informer
from fromscratch.controllers.podutil import format_time, parse_time
from fromscratch.scheduler.predicates import tolerates_taint

Obj = dict[str, Any]
NEVER = float("inf")


def eviction_time(taints: list[Obj], tolerations: list[Obj], *,
                  first_seen: dict[tuple[str, str], float] | None = None) -> float | None:
    """When a Pod with ``tolerations`` must leave a node with ``taints``.

    ``None``: never (no NoExecute taint, or all tolerated forever); ``-inf``:
    now (a taint is not tolerated); else the earliest ``timeAdded + tolerationSeconds``
    over the taints, using for each taint the first toleration that tolerates it
    (upstream's GetMatchingTolerations).
    """
    deadline = NEVER
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        toleration = next((t for t in tolerations if tolerates_taint(t, taint)), None)
        if toleration is None:
            return float("-inf")
        seconds = toleration.get("tolerationSeconds")
        if seconds is None:
            continue  # tolerated forever
        added = parse_time(taint.get("timeAdded"))
        if added is None:
            added = (first_seen or {}).get((taint.get("key", ""), taint.get("effect", "")), 0.0)
        deadline = min(deadline, added + max(int(seconds), 0))
    return None if deadline == NEVER else deadline


class TaintEvictionController(Controller):
    """Keys are Pod keys; a Pod is re-checked when its node's taints change or its time comes."""

    name = "taint-eviction"
    component = "taint-eviction-controller"
    resource = PODS

    def __init__(self, factory: InformerFactory, *, clock: Clock | None = None,
                 **kwargs: Any) -> None:
        super().__init__(factory, clock=clock, **kwargs)
        self.pods = pods_informer(factory)
        self.nodes = factory.informer(NODES)
        self.nodes.add_event_handler(EventHandler(
            on_add=self._node_changed, on_update=lambda _old, new: self._node_changed(new)))
        # (node, taint key, effect) -> when we first saw a taint that has no timeAdded
        self.first_seen: dict[tuple[str, str, str], float] = {}
        self.scheduled: dict[str, float] = {}  # pod key -> eviction time, for cancel events
        self.evicted = 0

    def _node_changed(self, node: Obj) -> None:
        for pod in self.pods.store.by_index(NODE_INDEX, node["metadata"]["name"]):
            self.queue.add(meta_namespace_key(pod))

    def _taints(self, node: Obj) -> list[Obj]:
        name = node["metadata"]["name"]
        taints = [t for t in (node.get("spec") or {}).get("taints") or []
                  if t.get("effect") == "NoExecute"]
        now = self.clock.wall()
        for taint in taints:
            if not taint.get("timeAdded"):
                self.first_seen.setdefault((name, taint.get("key", ""), "NoExecute"), now)
        return taints

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is None or not node_name or pod["metadata"].get("deletionTimestamp"):
            self.scheduled.pop(key, None)
            return None
        node = self.nodes.get("", node_name)
        taints = self._taints(node) if node is not None else []
        seen = {(k, e): t for (n, k, e), t in self.first_seen.items() if n == node_name}
        when = eviction_time(taints, (pod.get("spec") or {}).get("tolerations") or [],
                             first_seen=seen)
        if when is None:
            if self.scheduled.pop(key, None) is not None:
                self.recorder.event(pod, "Normal", "TaintManagerEviction",
                                    f"Cancelling deletion of Pod {key}")
            return None
        now = self.clock.wall()
        if when > now:
            self.scheduled[key] = when
            return when - now  # come back when the toleration runs out
        self.evict(pod)
        self.scheduled.pop(key, None)
        return None

    def evict(self, pod: Obj) -> None:
        """Mark the Pod a disruption target, then delete it (gracefully, if it runs)."""
        meta = pod["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        self.recorder.event(pod, "Normal", "TaintManagerEviction",
                            f"Marking for deletion Pod {key}")
        target = {"type": "DisruptionTarget", "status": "True",
                  "reason": "DeletionByTaintManager",
                  "message": "Taint manager: deleting due to NoExecute taint",
                  "lastTransitionTime": format_time(self.clock.wall())}
        try:
            # conditions merge by type: no read-modify-write race with the kubelet
            self.client.patch(meta["namespace"], meta["name"],
                              {"status": {"conditions": [target]}},
                              patch_type="application/strategic-merge-patch+json",
                              subresource="status")
            self.client.delete(meta["namespace"], meta["name"],
                               preconditions={"uid": meta.get("uid")})
        except Exception as err:
            if not is_status(err, 404):
                raise
            return  # gone already
        self.evicted += 1

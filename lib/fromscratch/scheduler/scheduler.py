"""kube-scheduler in miniature: pick a node for every unscheduled Pod, bind it, say why.

Models the scheduling cycle of ``pkg/scheduler/schedule_one.go``:

1. informers watch Pods and Nodes; an unscheduled Pod (no ``spec.nodeName``,
   ``schedulerName`` ours) enters the :class:`~fromscratch.scheduler.queue.SchedulingQueue`;
2. for the next Pod, nodes are **filtered** (:func:`~fromscratch.scheduler.filters.filter_node`)
   against a :class:`~fromscratch.scheduler.filters.NodeInfo` per node — the Pods
   already there, including Pods this scheduler *assumed* onto a node but whose
   binding the informer has not shown yet (upstream's scheduler cache); in a big
   cluster the search stops once enough nodes fit (``percentageOfNodesToScore``:
   50% minus 1% per 125 nodes, at least 5% and 100 nodes), starting where the
   previous search stopped;
3. the nodes that fit are **scored** (:func:`~fromscratch.scheduler.scores.score_nodes`),
   the highest total wins;
4. the Pod is **bound** — asynchronously, in a pool of binding threads, while
   the next scheduling cycle already runs (upstream's binding cycle goroutine):
   ``POST pods/<name>/binding`` as upstream's DefaultBinder
   does; if the API server does not serve that subresource, a conditional
   update of ``spec.nodeName`` (with the Pod's resourceVersion) does the same job;
5. a Pod no node takes gets ``PodScheduled=False, reason Unschedulable`` with the
   upstream message (``0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had
   untolerated taint {foo: bar}.``) and waits for the cluster to change.

Every decision is kept as a :class:`Decision` — which filter rejected which
node, each node's scores — so a notebook can show *why*, as the scheduler
simulator does.

Simplified: no preemption, no pod (anti-)affinity or topology spread, one profile.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from fromscratch.controllers.base import object_of
from fromscratch.controllers.cache import meta_namespace_key, split_key
from fromscratch.controllers.client import NODES, PODS, ResourceClient, is_status
from fromscratch.controllers.clock import REAL_CLOCK, Clock
from fromscratch.controllers.events import EventRecorder
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import format_time
from fromscratch.scheduler.filters import NodeInfo, filter_node
from fromscratch.scheduler.queue import SchedulingQueue
from fromscratch.scheduler.scores import score_nodes

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.scheduler")
MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5


def nodes_to_find(all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes are enough (numFeasibleNodesToFind)."""
    if all_nodes < MIN_FEASIBLE_NODES:
        return all_nodes
    if percentage <= 0:
        percentage = max(50 - all_nodes // 125, MIN_FEASIBLE_PERCENTAGE)
    return max(all_nodes * percentage // 100, MIN_FEASIBLE_NODES)


@dataclass
class Decision:
    """Why a Pod went where it went (or nowhere)."""

    pod: str
    node: str | None
    rejected: dict[str, list[str]] = field(default_factory=dict)  # node -> reasons
    scores: dict[str, dict[str, int]] = field(default_factory=dict)  # node -> plugin -> score
    message: str = ""


def fit_error_message(total: int, rejected: dict[str, list[str]]) -> str:
    """``0/N nodes are available: <count> <reason>, ...`` (upstream's FitError)."""
    counts = Counter(reason for reasons in rejected.values() for reason in reasons)
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


class Scheduler:
    def __init__(self, api_client: ApiClient | None = None, *, factory: InformerFactory | None = None,
                 clock: Clock = REAL_CLOCK, scheduler_name: str = "default-scheduler") -> None:
        if factory is None:
            if api_client is None:
                raise ValueError("pass an api_client or an InformerFactory")
            factory = InformerFactory(api_client, clock=clock)
        self.factory, self.clock, self.scheduler_name = factory, clock, scheduler_name
        self.pods = factory.informer(PODS)
        self.nodes = factory.informer(NODES)
        self.pod_client = ResourceClient(factory.api_client, PODS)
        self.queue = SchedulingQueue(clock)
        self.recorder = EventRecorder(factory.api_client, scheduler_name, clock=clock)
        self.decisions: dict[str, Decision] = {}
        self._assumed: dict[str, str] = {}  # pod key -> node, until the informer shows the binding
        self.infos: dict[str, NodeInfo] = {}  # node name -> NodeInfo (the scheduler cache)
        self._next_start = 0  # where the next search through the nodes begins
        self.percentage_of_nodes_to_score = 0  # 0: adaptive, as upstream's default
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.binding_subresource: bool | None = None  # learned on the first bind
        self.scheduled = 0
        self._binder: ThreadPoolExecutor | None = None  # set by start(): asynchronous binding
        self.pods.add_event_handler(EventHandler(
            on_add=self._pod_changed, on_update=lambda _o, new: self._pod_changed(new),
            on_delete=self._pod_deleted))
        self.nodes.add_event_handler(EventHandler(
            on_add=self._node_changed, on_update=lambda _o, new: self._node_changed(new),
            on_delete=self._node_deleted))

    def _info(self, node_name: str) -> NodeInfo:
        info = self.infos.get(node_name)
        if info is None:
            info = self.infos[node_name] = NodeInfo({"metadata": {"name": node_name}})
        return info

    def _node_changed(self, node: Obj) -> None:
        with self._lock:
            self._info(node["metadata"]["name"]).node = node
        self.queue.move_all_to_active()

    def _node_deleted(self, obj: Any) -> None:
        with self._lock:
            self.infos.pop(object_of(obj)["metadata"]["name"], None)

    # --- events --------------------------------------------------------------------------------
    def _ours_and_pending(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
                and (spec.get("schedulerName") or "default-scheduler") == self.scheduler_name
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))

    def _pod_changed(self, pod: Obj) -> None:
        key = meta_namespace_key(pod)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if self._ours_and_pending(pod):
            self.queue.add(key, int((pod.get("spec") or {}).get("priority") or 0))
        elif node_name:
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            with self._lock:
                self._assumed.pop(key, None)  # the informer has caught up with our binding
                if finished:
                    self._info(node_name).remove(key)
                else:
                    self._info(node_name).add(pod)
            self.queue.delete(key)
            if finished:
                self.queue.move_all_to_active()  # room was freed

    def _pod_deleted(self, obj: Any) -> None:
        pod = object_of(obj)
        key = meta_namespace_key(pod)
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        with self._lock:
            node_name = self._assumed.pop(key, node_name)
            if node_name and node_name in self.infos:
                self.infos[node_name].remove(key)
        self.queue.delete(key)
        if node_name:
            self.queue.move_all_to_active()  # room was freed

    # --- one scheduling cycle ----------------------------------------------------------------------
    def pods_on(self, node_name: str) -> list[Obj]:
        """The Pods the scheduler counts on ``node_name`` (bound or assumed)."""
        with self._lock:
            info = self.infos.get(node_name)
            return list(info.pods.values()) if info else []

    def decide(self, pod: Obj) -> Decision:
        """Filter and score nodes for ``pod`` (no side effects)."""
        key = meta_namespace_key(pod)
        with self._lock:
            known = {n["metadata"]["name"] for n in self.nodes.list()}
            infos = sorted((i for i in self.infos.values() if i.name in known), key=lambda i: i.name)
            decision = Decision(pod=key, node=None)
            wanted = nodes_to_find(len(infos), self.percentage_of_nodes_to_score)
            feasible: list[NodeInfo] = []
            start = self._next_start % len(infos) if infos else 0
            examined = 0
            # search from where the last search stopped, until enough nodes fit
            for offset in range(len(infos)):
                if len(feasible) >= wanted:
                    break
                info = infos[(start + offset) % len(infos)]
                examined += 1
                reasons = filter_node(pod, info)
                if reasons:
                    decision.rejected[info.name] = reasons
                else:
                    feasible.append(info)
            self._next_start = start + examined
            if not feasible:
                decision.message = (fit_error_message(len(infos), decision.rejected) if infos
                                    else "0/0 nodes are available: no nodes available to schedule pods.")
                return decision
            decision.scores = score_nodes(pod, feasible)
        # the highest total wins; max() keeps the first of equals, so sort by name first
        # (upstream picks one of the equals at random)
        best = max(sorted(feasible, key=lambda i: i.name),
                   key=lambda i: decision.scores[i.name]["total"])
        decision.node = best.name
        decision.message = f"Successfully assigned {key} to {decision.node}"
        return decision

    def schedule_one(self, timeout: float | None = None) -> Decision | None:
        """Pop one Pod, decide, bind; returns the decision (None if nothing to do)."""
        info = self.queue.pop(timeout=timeout)
        if info is None:
            return None
        namespace, name = split_key(info.key)
        pod = self.pods.get(namespace, name)
        if pod is None or not self._ours_and_pending(pod):
            self.queue.delete(info.key)
            return None
        decision = self.decide(pod)
        self.decisions[info.key] = decision
        if decision.node is None:
            self._mark_unschedulable(pod, decision.message)
            self.recorder.event(pod, "Warning", "FailedScheduling", decision.message)
            self.queue.requeue_unschedulable(info)
            return decision
        assumed = copy.deepcopy(pod)
        assumed["spec"]["nodeName"] = decision.node
        with self._lock:
            # assume: count the Pod on the node now, before the informer shows the binding
            self._assumed[info.key] = decision.node
            self._info(decision.node).add(assumed)
        binder = self._binder
        if binder is not None:
            try:
                binder.submit(self._binding_cycle, info, pod, decision.node)
            except RuntimeError:  # stopping: the binders are gone; forget the assumption
                with self._lock:
                    self._assumed.pop(info.key, None)
                    self._info(decision.node).remove(info.key)
                self.queue.requeue_error(info)
        else:
            self._binding_cycle(info, pod, decision.node)
        return decision

    def _binding_cycle(self, info: Any, pod: Obj, node_name: str) -> None:
        try:
            self.bind(pod, node_name)
        except Exception as err:
            with self._lock:
                self._assumed.pop(info.key, None)
                self._info(node_name).remove(info.key)
            namespace, name = split_key(info.key)
            if is_status(err, 404) and self.pods.get(namespace, name) is None:
                self.queue.delete(info.key)  # deleted meanwhile
            else:
                log.info("binding %s to %s failed: %s", info.key, node_name, err)
                self.queue.requeue_error(info)
            return
        self.queue.delete(info.key)
        self.recorder.event(pod, "Normal", "Scheduled", f"Successfully assigned {info.key} to {node_name}")
        with self._lock:
            self.scheduled += 1

    # --- writing the result -----------------------------------------------------------------------------
    def bind(self, pod: Obj, node_name: str) -> None:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if self.binding_subresource is not False:
            body = {"apiVersion": "v1", "kind": "Binding",
                    "metadata": {"name": name, "namespace": namespace, "uid": pod["metadata"]["uid"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
            try:
                self.pod_client.post_subresource(namespace, name, "binding", body)
                self.binding_subresource = True
                return
            except Exception as err:
                if self.binding_subresource or not is_status(err, 404, 405):
                    raise
                self.binding_subresource = False  # this API server has no pods/binding
        # the fallback: a conditional update, so a Pod changed meanwhile is not bound blindly
        precondition = {"resourceVersion": pod["metadata"]["resourceVersion"]}
        bound = self.pod_client.patch(namespace, name, {"metadata": precondition,
                                                        "spec": {"nodeName": node_name}})
        self._set_scheduled_condition(namespace, name, "True", "", "", current=bound)

    def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        self._set_scheduled_condition(pod["metadata"]["namespace"], pod["metadata"]["name"],
                                      "False", "Unschedulable", message)

    def _set_scheduled_condition(self, namespace: str, name: str, status: str, reason: str,
                                 message: str, current: Obj | None = None) -> None:
        if current is None:
            try:
                current = self.pod_client.get(namespace, name)
            except Exception:
                return
        conditions = [c for c in (current.get("status") or {}).get("conditions") or []
                      if c.get("type") != "PodScheduled"]
        condition = {"type": "PodScheduled", "status": status,
                     "lastTransitionTime": format_time(self.clock.wall())}
        if reason:
            condition.update(reason=reason, message=message)
        updated = copy.deepcopy(current)
        updated.setdefault("status", {})["conditions"] = conditions + [condition]
        try:
            self.pod_client.update_status(updated)
        except Exception as err:  # a conflict: the next attempt writes it again
            log.debug("could not update PodScheduled of %s/%s: %s", namespace, name, err)

    # --- running -------------------------------------------------------------------------------------
    def run_until_idle(self, max_pods: int = 100_000) -> int:
        done = 0
        while done < max_pods and self.schedule_one(timeout=0) is not None:
            done += 1
        return done

    def start(self, binders: int = 8) -> Scheduler:
        self._binder = ThreadPoolExecutor(binders, thread_name_prefix="scheduler-bind")
        self.factory.start()
        self.factory.wait_for_sync()

        def loop() -> None:
            while not self.queue._closed:
                self.schedule_one(timeout=1.0)

        self._thread = threading.Thread(target=loop, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.queue.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._binder is not None:
            self._binder.shutdown(wait=True)
            self._binder = None
        self.recorder.stop()
        self.factory.stop()

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

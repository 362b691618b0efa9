"""The HPA controller: the decision of ``autoscaler.py`` wired to an API server.

Models ``HorizontalController`` in ``pkg/controller/podautoscaler/horizontal.go``,
on the course's controller skeleton (informer -> key -> worker -> ``reconcile``):

1. an informer watches HorizontalPodAutoscalers (``autoscaling/v2``); every
   HPA is reconciled once per **sync period** (15 s by default,
   ``--horizontal-pod-autoscaler-sync-period``): changes to an HPA are
   enqueued *after* the period, as upstream's fixed-interval rate limiter does,
   so our own status writes do not make it scale faster;
2. ``reconcile`` reads the target's **scale subresource**
   (``/apis/apps/v1/namespaces/N/deployments/D/scale``), lists the Pods its
   ``status.selector`` matches (from a Pod informer), and asks a metrics source
   (by default the resource metrics API, ``metrics.k8s.io``);
3. it writes the new replica count to the scale subresource, the HPA's
   ``status`` (conditions, current metrics, ``lastScaleTime``), and Events
   (``SuccessfulRescale``, ``FailedGetResourceMetric`` ...).

Everything goes through the official ``kubernetes`` client, so the same
controller runs against a real cluster (``api_client_from_kubeconfig``).

Simplified: scale targets are Deployments, ReplicaSets and StatefulSets
(upstream resolves any kind through the RESTMapper); Events are created, not
aggregated (no ``count`` increments).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubernetes.client.exceptions import ApiException

from fromscratch.api.selectors import matches, parse_label_selector
from fromscratch.autoscaling.autoscaler import HorizontalAutoscaler, MetricsSource
from fromscratch.autoscaling.conditions import able_to_scale, set_condition
from fromscratch.autoscaling.metrics import MetricsAPIClient
from fromscratch.controllers.base import Controller
from fromscratch.controllers.cache import split_key
from fromscratch.controllers.client import (
    DEPLOYMENTS,
    EVENTS,
    PODS,
    REPLICASETS,
    STATEFULSETS,
    Resource,
    ResourceClient,
    is_status,
)
from fromscratch.controllers.fifo import DeletedFinalStateUnknown
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.hpa")
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
SCALE_TARGETS = {("apps", "Deployment"): DEPLOYMENTS, ("apps", "ReplicaSet"): REPLICASETS,
                 ("apps", "StatefulSet"): STATEFULSETS}


class HorizontalPodAutoscalerController(Controller):
    """Reconcile each HPA every ``sync_period`` seconds."""

    name = "horizontalpodautoscaler"
    resource = HPAS
    sync_period = 15.0
    metrics: MetricsSource | None = None
    autoscaler_options: dict[str, float] = {}

    @classmethod
    def with_options(cls, *, sync_period: float = 15.0, metrics: MetricsSource | None = None,
                     **autoscaler_options: float) -> type[HorizontalPodAutoscalerController]:
        """This controller with other settings, for ``ControllerManager(controllers=[...])``.

        ``autoscaler_options``: ``tolerance``, ``downscale_stabilization``,
        ``cpu_initialization_period``, ``initial_readiness_delay`` (the controller flags).
        """
        return type(cls.__name__, (cls,), {"sync_period": sync_period, "metrics": metrics,
                                           "autoscaler_options": autoscaler_options})

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        # subtle: replace the handler the skeleton just added (the last one): an update
        # waits for the sync period instead of being reconciled at once
        self.informer.handlers.pop()
        self.informer.add_event_handler(EventHandler(
            on_add=self.enqueue, on_update=lambda _old, new: self.enqueue_later(new),
            on_delete=self.enqueue))
        self.pods = factory.informer(PODS)
        self.source: MetricsSource = self.metrics or MetricsAPIClient(self.api_client)
        self.autoscaler = HorizontalAutoscaler(**self.autoscaler_options)
        self.event_client = ResourceClient(self.api_client, EVENTS)

    def enqueue_later(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        from fromscratch.controllers.cache import meta_namespace_key

        self.queue.add_after(meta_namespace_key(obj), self.sync_period)  # type: ignore[arg-type]

    # --- reconcile ---------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        cached = self.informer.get(namespace, name)
        if cached is None:
            self.autoscaler.forget(key)  # deleted: forget its recommendations
            return None
        hpa = copy.deepcopy(cached)  # never mutate objects from the cache: it is shared
        now = self.clock.wall()
        ref = hpa["spec"]["scaleTargetRef"]
        group = ref.get("apiVersion", "").rpartition("/")[0]
        target = SCALE_TARGETS.get((group, ref.get("kind", "")))
        try:
            if target is None:
                raise LookupError(f"no matches for kind {ref.get('kind')!r} in group {group!r}")
            scales = ResourceClient(self.api_client, target)
            scale = scales._json("GET", target.path(namespace, ref["name"], "scale"))
        except (ApiException, LookupError) as err:
            message = f"the HPA controller was unable to get the target's current scale: {_why(err)}"
            self._record(hpa, "Warning", "FailedGetScale", message, now)
            status = copy.deepcopy(hpa.get("status") or {})
            status.setdefault("conditions", [])
            set_condition(status["conditions"], able_to_scale("FailedGetScale", message, False), now)
            self._write_status(hpa, status)
            return self.sync_period
        selector = parse_label_selector((scale.get("status") or {}).get("selector") or "")
        pods = [p for p in self.pods.list(namespace)
                if matches(selector, (p["metadata"].get("labels") or {}))]
        decision = self.autoscaler.decide(hpa, scale, pods, self.source, now=now)
        scale_error = None
        if decision.rescale:
            try:
                scales.patch(namespace, ref["name"], {"spec": {"replicas": decision.desired_replicas}},
                             subresource="scale")
            except ApiException as err:
                scale_error = _why(err)
        status = self.autoscaler.status_after(hpa, decision, now=now, scale_error=scale_error)
        for event_type, reason, message in decision.events:
            self._record(hpa, event_type, reason, message, now)
        self._write_status(hpa, status)
        if decision.error:
            log.info("hpa %s: %s", key, decision.error)
        return self.sync_period

    def _write_status(self, hpa: Obj, status: Obj) -> None:
        if status == hpa.get("status"):
            return
        hpa["status"] = status
        try:
            self.client.update_status(hpa)
        except ApiException as err:
            if not is_status(err, 409):
                raise
            # our cached copy was stale: write the status onto the current object
            fresh = self.client.get(hpa["metadata"]["namespace"], hpa["metadata"]["name"])
            fresh["status"] = status
            self.client.update_status(fresh)

    def _record(self, hpa: Obj, event_type: str, reason: str, message: str, now: float) -> None:
        """Create an Event about ``hpa`` (what ``kubectl describe hpa`` lists)."""
        meta = hpa["metadata"]
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
                 "involvedObject": {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
                                    "name": meta["name"], "namespace": meta["namespace"],
                                    "uid": meta.get("uid")},
                 "type": event_type, "reason": reason, "message": message,
                 "source": {"component": "horizontal-pod-autoscaler"},
                 "firstTimestamp": format_time(now), "lastTimestamp": format_time(now), "count": 1}
        try:
            self.event_client.create(meta["namespace"], event)
        except ApiException as err:  # events are best effort, as in client-go's recorder
            log.debug("could not record event %s: %s", reason, err)


def _why(err: Exception) -> str:
    if isinstance(err, ApiException):
        import json

        try:
            return json.loads(err.body).get("message", str(err.status))
        except (TypeError, ValueError):
            return f"{err.status} {err.reason}"
    return str(err)

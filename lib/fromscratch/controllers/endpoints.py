"""The Endpoints controller: which Pod IPs stand behind each Service.

Models ``pkg/controller/endpoint/endpoints_controller.go``: for a Service with a
selector, the Pods in its namespace whose labels match and that have an IP are
listed in an ``Endpoints`` object of the same name — ready Pods under
``addresses``, the others under ``notReadyAddresses`` (all under ``addresses``
when the Service sets ``publishNotReadyAddresses``) — with each Service port's
``targetPort`` resolved (a number, or the name of a container port).  A Pod with
``hostname`` and ``subdomain`` equal to the Service name carries that hostname:
the name a headless Service gives it in cluster DNS (``web-0.nginx``).

Simplified: one subset with every address (upstream groups addresses by port
set), no EndpointSlices, no ``endpoints.kubernetes.io/last-change-trigger-time``.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.api.selectors import label_selector_from_dict
from fromscratch.controllers.base import Controller, object_of
from fromscratch.controllers.cache import split_key
from fromscratch.controllers.client import ENDPOINTS, PODS, SERVICES, ResourceClient, is_status
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.podutil import is_pod_ready

Obj = dict[str, Any]


def resolve_target_port(service_port: Obj, pod: Obj) -> int | None:
    """A Service port's targetPort on ``pod``: an int, or a named container port."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return port.get("containerPort")
    return None


class EndpointsController(Controller):
    name = "endpoints"
    component = "endpoint-controller"
    resource = SERVICES

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.pods = factory.informer(PODS)
        self.pods.add_event_handler(EventHandler(
            on_add=self._pod_changed, on_delete=self._pod_changed,
            on_update=lambda old, new: (self._pod_changed(old), self._pod_changed(new))))
        self.endpoints_client = ResourceClient(self.api_client, ENDPOINTS)

    def _pod_changed(self, obj: Any) -> None:
        pod = object_of(obj)
        labels = pod["metadata"].get("labels") or {}
        for svc in self.informer.list(pod["metadata"].get("namespace", "")):
            selector = (svc.get("spec") or {}).get("selector")
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                self.enqueue(svc)

    def desired_subsets(self, svc: Obj) -> list[Obj]:
        spec = svc.get("spec") or {}
        selector = label_selector_from_dict({"matchLabels": spec.get("selector") or {}})
        ready, not_ready, ports = [], [], None
        for pod in self.pods.list(svc["metadata"]["namespace"]):
            status = pod.get("status") or {}
            if not selector.matches(pod["metadata"].get("labels") or {}) or not status.get("podIP") \
                    or pod["metadata"].get("deletionTimestamp") \
                    or status.get("phase") in ("Succeeded", "Failed"):
                continue
            address: Obj = {"ip": status["podIP"],
                            "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                          "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
            if pod["spec"].get("nodeName"):
                address["nodeName"] = pod["spec"]["nodeName"]
            if pod["spec"].get("hostname") and pod["spec"].get("subdomain") == svc["metadata"]["name"]:
                address["hostname"] = pod["spec"]["hostname"]
            if ports is None:
                ports = [{"name": p.get("name", ""), "port": resolve_target_port(p, pod),
                          "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or []]
                ports = [{k: v for k, v in p.items() if v != ""} for p in ports if p["port"] is not None]
            publish = is_pod_ready(pod) or spec.get("publishNotReadyAddresses")
            (ready if publish else not_ready).append(address)
        if not ready and not not_ready:
            return []
        subset: Obj = {"ports": ports or []}
        key = lambda a: a["ip"]  # noqa: E731 - a stable order keeps updates idempotent
        if ready:
            subset["addresses"] = sorted(ready, key=key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=key)
        return [subset]

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        svc = self.informer.get(namespace, name)
        if svc is None:
            # the Service is gone: its Endpoints go too (they share the name, not an owner)
            try:
                self.endpoints_client.delete(namespace, name)
            except Exception as err:
                if not is_status(err, 404):
                    raise
            return None
        if not (svc.get("spec") or {}).get("selector"):
            return None  # a Service without a selector: its Endpoints are managed by hand
        subsets = self.desired_subsets(svc)
        try:
            current = self.endpoints_client.get(namespace, name)
        except Exception as err:
            if not is_status(err, 404):
                raise
            self.endpoints_client.create(namespace, {
                "metadata": {"name": name, "labels": dict(svc["metadata"].get("labels") or {})},
                "subsets": subsets})
            return None
        if (current.get("subsets") or []) != subsets:
            updated = copy.deepcopy(current)
            updated["subsets"] = subsets
            self.endpoints_client.update(updated)
        return None

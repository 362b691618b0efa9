"""Builders and a stand-in kubelet shared by the controller tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fromscratch.controllers.client import PODS, ResourceClient
from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]


def pod(name: str, *, node: str = "", phase: str = "Pending", ready: bool = False,
        ready_since: float | None = None, created: float = 1_700_000_000.0, restarts: int = 0,
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        uid: str | None = None) -> Obj:
    """A Pod as the cache would hold it (for the pure decision functions)."""
    status: Obj = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": format_time(ready_since or created)}]
    if restarts:
        status["containerStatuses"] = [{"name": "main", "restartCount": restarts}]
    meta: Obj = {"name": name, "namespace": "default", "uid": uid or f"uid-{name}",
                 "creationTimestamp": format_time(created), "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "nginx"}]},
            "status": status}


def template(labels: dict[str, str], image: str = "nginx:1.27") -> Obj:
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": image}]}}


def deployment(name: str, replicas: int = 3, *, image: str = "nginx:1.27",
               strategy: Obj | None = None, **spec: Any) -> Obj:
    labels = {"app": name}
    body: Obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                 "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                          "template": template(labels, image), **spec}}
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return body


def replicaset(name: str, replicas: int = 3) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": template(labels)}}


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


class FakeKubelet:
    """Marks Pods Running and Ready through the status subresource, as a kubelet would.

    ``ready`` decides per Pod (e.g. only Pods of a good image become ready).
    """

    def __init__(self, api_client: Any, namespace: str,
                 ready: Callable[[Obj], bool] = lambda pod: True) -> None:
        self.pods = ResourceClient(api_client, PODS)
        self.namespace, self.ready = namespace, ready

    def step(self) -> int:
        changed = 0
        for item in self.pods.list(self.namespace)["items"]:
            if item["metadata"].get("deletionTimestamp"):
                # a kubelet confirms a graceful delete once the containers stopped
                try:
                    self.pods.delete(self.namespace, item["metadata"]["name"], grace_period_seconds=0)
                except Exception:
                    pass
                continue
            status = item.get("status") or {}
            if status.get("phase") == "Running" or not self.ready(item):
                continue
            status["phase"] = "Running"
            status["conditions"] = [{"type": "Ready", "status": "True",
                                     "lastTransitionTime": format_time(time.time() - 1)}]
            item["status"] = status
            try:
                self.pods.update_status(item)
                changed += 1
            except Exception:
                pass  # a conflict or a Pod deleted meanwhile: the next step retries
        return changed

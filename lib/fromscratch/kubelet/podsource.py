"""Where a kubelet learns which Pods are bound to it: a watch on ``spec.nodeName``.

Models the kubelet's API pod source (``pkg/kubelet/config/apiserver.go``): a
list-watch of Pods with the field selector ``spec.nodeName=<node>``, so the API
server sends each kubelet only its own Pods.  :class:`NodePodSource` is that:
one informer per kubelet.

For a simulated cluster of a thousand nodes, a thousand watches would cost a
thousand threads; :class:`SharedPodSource` is one informer over all Pods with an
index by ``spec.nodeName`` that any number of kubelets read — the same data,
delivered once.  (Upstream has no such thing: each real kubelet is its own
process.)  Both hand out the cached objects, which must never be mutated.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from fromscratch.controllers.client import PODS
from fromscratch.controllers.informer import Informer

Obj = dict[str, Any]
NODE_INDEX = "spec.nodeName"


class PodSource(Protocol):
    """The Pods bound to a node, from a cache kept fresh by a watch."""

    def pods(self, node_name: str) -> list[Obj]: ...

    def start(self) -> None: ...

    def wait_for_sync(self, timeout: float) -> bool: ...

    def stop(self) -> None: ...


class NodePodSource:
    """One watch for one kubelet: ``fieldSelector=spec.nodeName=<node>``."""

    def __init__(self, api_client: Any, node_name: str) -> None:
        self.informer = Informer(api_client, PODS, field_selector=f"spec.nodeName={node_name}")

    def pods(self, node_name: str) -> list[Obj]:
        return self.informer.list()

    def start(self) -> None:
        self.informer.start()

    def wait_for_sync(self, timeout: float) -> bool:
        return self.informer.wait_for_sync(timeout)

    def stop(self) -> None:
        self.informer.stop()


def _node_of(pod: Obj) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


class SharedPodSource:
    """One watch on all Pods shared by many in-process kubelets (simulations at scale).

    ``start()``/``stop()`` are counted: the watch runs while any kubelet uses it.
    """

    def __init__(self, api_client: Any) -> None:
        self.informer = Informer(api_client, PODS, indexers={NODE_INDEX: _node_of})
        self._users = 0
        self._lock = threading.Lock()

    def pods(self, node_name: str) -> list[Obj]:
        return self.informer.store.by_index(NODE_INDEX, node_name)

    def start(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self.informer.start()

    def wait_for_sync(self, timeout: float) -> bool:
        return self.informer.wait_for_sync(timeout)

    def stop(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0:
                self.informer.stop()

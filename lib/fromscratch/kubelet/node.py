"""The Node object a kubelet registers and keeps up to date.

Models the kubelet's node registration and status setters
(``pkg/kubelet/kubelet_node_status.go`` and ``pkg/kubelet/nodestatus/setters.go``):

- **registration**: ``POST /api/v1/nodes`` with the well-known labels
  (``kubernetes.io/hostname``, ``kubernetes.io/os``, ``kubernetes.io/arch``),
  the taints given with ``--register-with-taints``; if the Node exists already
  (a kubelet restart) it is *adopted*: our labels and taints are added to it;
- **status**: ``capacity`` and ``allocatable`` (cpu, memory, pods,
  ephemeral-storage), the conditions ``Ready`` and ``MemoryPressure``/
  ``DiskPressure``/``PIDPressure``, ``addresses``, ``daemonEndpoints`` (the
  kubelet's port, used by the API server for ``kubectl logs``) and ``nodeInfo``,
  written through the ``nodes/status`` subresource.

Simplified: allocatable equals capacity (no kube-reserved/system-reserved, no
eviction thresholds); the pressure conditions are always False (no eviction
manager); the only address is 127.0.0.1, because every Pod here is reached on
the loopback.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from fromscratch.controllers.client import NODES, ResourceClient, is_status

Obj = dict[str, Any]
KUBELET_VERSION = "v1.31.0-fromscratch"
DEFAULT_PODS = "110"  # the kubelet's --max-pods default
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}

# the three pressure conditions: type -> (reason, message) while there is no pressure
PRESSURE = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
}


def go_arch() -> str:
    """``runtime.GOARCH`` naming of this machine (``amd64``, ``arm64`` ...)."""
    machine = platform.machine()
    return _ARCH.get(machine, machine.lower())


def host_capacity() -> dict[str, str]:
    """This machine's cpu, memory and disk, as cAdvisor reports them, and 110 pods."""
    import psutil

    disk = psutil.disk_usage("/").total
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{psutil.virtual_memory().total // 1024}Ki",
            "ephemeral-storage": f"{disk // 1024}Ki", "pods": DEFAULT_PODS}


def os_image() -> str:
    """``PRETTY_NAME`` from /etc/os-release, as the kubelet reports it."""
    try:
        for line in open("/etc/os-release", encoding="utf-8"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def node_labels(node_name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    labels = {"kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": go_arch(), "beta.kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": go_arch()}
    labels.update(extra or {})
    return labels


def node_info(runtime_name: str) -> Obj:
    return {"machineID": "", "systemUUID": "", "bootID": "",
            "kernelVersion": platform.release(), "osImage": os_image(),
            "containerRuntimeVersion": f"fromscratch://{runtime_name}",
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": go_arch()}


def node_conditions(heartbeat: str, previous: list[Obj] | None = None) -> list[Obj]:
    """Ready=True and no pressure; a condition keeps its lastTransitionTime while unchanged."""
    wanted = [(kind, "False", reason, message) for kind, (reason, message) in PRESSURE.items()]
    wanted.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    before = {c.get("type"): c for c in previous or []}
    conditions = []
    for kind, status, reason, message in wanted:
        old = before.get(kind)
        transition = old["lastTransitionTime"] if old and old.get("status") == status \
            and old.get("lastTransitionTime") else heartbeat
        conditions.append({"type": kind, "status": status, "reason": reason, "message": message,
                           "lastHeartbeatTime": heartbeat, "lastTransitionTime": transition})
    return conditions


class NodeRegistration:
    """Create (or adopt) this kubelet's Node and write its status."""

    def __init__(self, api_client: Any, node_name: str, *, capacity: dict[str, str],
                 allocatable: dict[str, str], labels: dict[str, str], taints: list[Obj],
                 runtime_name: str) -> None:
        self.nodes = ResourceClient(api_client, NODES)
        self.node_name, self.capacity, self.allocatable = node_name, capacity, allocatable
        self.labels, self.taints, self.runtime_name = labels, taints, runtime_name
        self.port = 0
        self.uid = ""

    def register(self) -> Obj:
        """``POST`` the Node; on 409 AlreadyExists adopt the existing one (a kubelet restart)."""
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "labels": dict(self.labels)},
                "spec": {"taints": list(self.taints)} if self.taints else {}}
        try:
            node = self.nodes.create("", body)
        except Exception as err:
            if not is_status(err, 409):
                raise
            node = self._adopt()
        self.uid = node["metadata"]["uid"]
        return node

    def _adopt(self) -> Obj:
        node = self.nodes.get("", self.node_name)
        labels = node["metadata"].setdefault("labels", {})
        taints = node.setdefault("spec", {}).setdefault("taints", [])
        missing = [t for t in self.taints if not any(
            (t.get("key"), t.get("effect")) == (o.get("key"), o.get("effect")) for o in taints)]
        if any(labels.get(k) != v for k, v in self.labels.items()) or missing:
            labels.update(self.labels)
            taints.extend(missing)
            node = self.nodes.update(node)
        return node

    def status(self, heartbeat: str, previous: Obj | None = None) -> Obj:
        """The Node's ``status`` as this kubelet reports it."""
        return {
            "capacity": dict(self.capacity), "allocatable": dict(self.allocatable),
            "conditions": node_conditions(heartbeat, (previous or {}).get("conditions")),
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "nodeInfo": node_info(self.runtime_name),
        }

    def update_status(self, heartbeat: str) -> Obj:
        """``PUT nodes/<name>/status``, retried once on a 409 conflict."""
        for attempt in range(3):
            node = self.nodes.get("", self.node_name)
            node["status"] = self.status(heartbeat, node.get("status"))
            try:
                return self.nodes.update_status(node)
            except Exception as err:
                if not is_status(err, 409) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

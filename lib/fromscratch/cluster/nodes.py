"""The nodes an embedded cluster starts with: workers, and optionally a tainted control-plane node.

Names and marks follow kubeadm and kind: workers are ``node-1``, ``node-2`` …; a
control-plane node is labelled ``node-role.kubernetes.io/control-plane=""`` and
tainted ``node-role.kubernetes.io/control-plane:NoSchedule``, so ordinary Pods
stay off it unless they tolerate the taint (as kubeadm's own static Pods and
DaemonSets such as kube-proxy do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"
# a small machine: enough for the course's examples, small enough to fill up in a lesson
DEFAULT_CAPACITY: dict[str, str] = {"cpu": "4", "memory": "8Gi", "pods": "110"}


@dataclass
class NodeSpec:
    """What a kubelet registers: a name, labels, taints and capacity."""

    name: str
    capacity: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)


def worker_nodes(count: int, capacity: Mapping[str, str]) -> list[NodeSpec]:
    """``node-1`` … ``node-<count>``, all alike."""
    return [NodeSpec(f"node-{i}", dict(capacity)) for i in range(1, count + 1)]


def control_plane_node(capacity: Mapping[str, str]) -> NodeSpec:
    """``control-plane``, labelled and tainted the way kubeadm marks it."""
    return NodeSpec("control-plane", dict(capacity), labels={CONTROL_PLANE_ROLE: ""},
                    taints=[{"key": CONTROL_PLANE_ROLE, "effect": "NoSchedule"}])

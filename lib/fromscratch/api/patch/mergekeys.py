"""Which lists merge, and by which key: the strategic-merge metadata of the built-in kinds.

In the Kubernetes Go types a field's struct tags say how a strategic merge
patch treats it, e.g. in ``k8s.io/api/core/v1/types.go``::

    Containers []Container `json:"containers" patchStrategy:"merge" patchMergeKey:"name"`
    Ports []ContainerPort  `json:"ports,omitempty" patchStrategy:"merge" patchMergeKey:"containerPort"`
    Volumes []Volume       `json:"volumes,omitempty" patchStrategy:"merge,retainKeys" patchMergeKey:"name"`
    Tolerations []Toleration `json:"tolerations,omitempty"`        // no tag: replaced whole

This module is those tags as plain data: ``TYPES[type][field] = Field(...)``.
A field not listed has no strategy: maps merge key by key, lists are replaced.
``KIND_TYPES`` names the root type of each kind.  Only the types the course
uses are listed; custom resources have no entry (the real server refuses a
strategic merge patch for them with ``415``; ``kubectl apply`` falls back to a
JSON merge patch).
"""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    """``patchStrategy`` ("merge", "retainKeys", "merge,retainKeys" or ""), ``patchMergeKey``
    (for lists of objects), and the Go type of the field (or of one list element)."""

    strategy: str = ""
    merge_key: str = ""
    type: str | None = None


def _t(name: str) -> Field:
    return Field(type=name)


_CONDITIONS = Field("merge", "type")
_TEMPLATE = _t("PodTemplateSpec")

TYPES: dict[str, dict[str, Field]] = {
    # k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta
    "ObjectMeta": {
        "finalizers": Field("merge"),  # patchStrategy:"merge" (a set of strings)
        "ownerReferences": Field("merge", "uid"),
    },
    # k8s.io/api/core/v1
    "Pod": {"metadata": _t("ObjectMeta"), "spec": _t("PodSpec"), "status": _t("PodStatus")},
    "PodTemplateSpec": {"metadata": _t("ObjectMeta"), "spec": _t("PodSpec")},
    "PodSpec": {
        "volumes": Field("merge,retainKeys", "name", "Volume"),
        "initContainers": Field("merge", "name", "Container"),
        "containers": Field("merge", "name", "Container"),
        "ephemeralContainers": Field("merge", "name", "Container"),
        "imagePullSecrets": Field("merge", "name"),
        "hostAliases": Field("merge", "ip"),
        "topologySpreadConstraints": Field("merge", "topologyKey"),
        "schedulingGates": Field("merge", "name"),
        "resourceClaims": Field("merge,retainKeys", "name"),
    },
    "Container": {
        "ports": Field("merge", "containerPort"),
        "env": Field("merge", "name"),
        "volumeMounts": Field("merge", "mountPath"),
        "volumeDevices": Field("merge", "devicePath"),
    },
    "Volume": {},
    "PodStatus": {"conditions": _CONDITIONS, "podIPs": Field("merge", "ip")},
    "Node": {"metadata": _t("ObjectMeta"), "spec": _t("NodeSpec"), "status": _t("NodeStatus")},
    "NodeSpec": {"podCIDRs": Field("merge")},
    "NodeStatus": {"conditions": _CONDITIONS, "addresses": Field("merge", "type")},
    "Namespace": {"metadata": _t("ObjectMeta"), "status": _t("NamespaceStatus")},
    "NamespaceStatus": {"conditions": _CONDITIONS},
    "Service": {"metadata": _t("ObjectMeta"), "spec": _t("ServiceSpec"),
                "status": _t("ServiceStatus")},
    "ServiceSpec": {"ports": Field("merge", "port")},
    "ServiceStatus": {"conditions": _CONDITIONS},
    "PersistentVolumeClaim": {"metadata": _t("ObjectMeta"), "status": _t("PVCStatus")},
    "PVCStatus": {"conditions": _CONDITIONS},
    # k8s.io/api/apps/v1
    "Deployment": {"metadata": _t("ObjectMeta"), "spec": _t("DeploymentSpec"),
                   "status": _t("WorkloadStatus")},
    "DeploymentSpec": {
        "template": _TEMPLATE,
        "strategy": Field("retainKeys", "", "DeploymentStrategy"),
    },
    "DeploymentStrategy": {},
    "ReplicaSet": {"metadata": _t("ObjectMeta"), "spec": _t("WorkloadSpec"),
                   "status": _t("WorkloadStatus")},
    "StatefulSet": {"metadata": _t("ObjectMeta"), "spec": _t("WorkloadSpec"),
                    "status": _t("WorkloadStatus")},
    "DaemonSet": {"metadata": _t("ObjectMeta"), "spec": _t("WorkloadSpec"),
                  "status": _t("WorkloadStatus")},
    "WorkloadSpec": {"template": _TEMPLATE},
    "WorkloadStatus": {"conditions": _CONDITIONS},
    # k8s.io/api/batch/v1
    "Job": {"metadata": _t("ObjectMeta"), "spec": _t("WorkloadSpec"),
            "status": _t("WorkloadStatus")},
    "CronJob": {"metadata": _t("ObjectMeta"), "spec": _t("CronJobSpec")},
    "CronJobSpec": {"jobTemplate": _t("JobTemplateSpec")},
    "JobTemplateSpec": {"metadata": _t("ObjectMeta"), "spec": _t("WorkloadSpec")},
    # k8s.io/api/autoscaling/v2
    "HorizontalPodAutoscaler": {"metadata": _t("ObjectMeta"), "status": _t("WorkloadStatus")},
    # everything else: only its metadata has merge keys
    "Object": {"metadata": _t("ObjectMeta")},
}

KIND_TYPES: dict[str, str] = {
    kind: kind
    for kind in ("Pod", "Node", "Namespace", "Service", "PersistentVolumeClaim", "Deployment",
                 "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                 "HorizontalPodAutoscaler")
}
# kinds the server serves whose only merge keys are in their metadata
for _kind in ("ConfigMap", "Secret", "ServiceAccount", "Endpoints", "Event", "PersistentVolume",
              "ControllerRevision", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
              "StorageClass", "Lease", "CustomResourceDefinition"):
    KIND_TYPES[_kind] = "Object"


def root_type(kind: str | None) -> str | None:
    """The type name for ``kind``, or None when we have no schema (e.g. a custom resource)."""
    return KIND_TYPES.get(kind or "")


def field_meta(type_name: str | None, field: str) -> Field:
    """How ``field`` of ``type_name`` patches (no strategy when unknown)."""
    if type_name is None:
        return Field()
    return TYPES.get(type_name, {}).get(field, Field())

"""The kinds the API server serves: group, version, resource, scope, short names.

Models kube-apiserver's *resource registry*: every REST path
``/apis/<group>/<version>/namespaces/<ns>/<resource>/<name>`` is found by its
group, version and resource (the plural, lower-case name), and every object
says which ``apiVersion`` and ``kind`` it is.  The same table answers
discovery (``kubectl api-resources``), routing and ``kubectl``'s short names
(``po``, ``deploy``, ``svc``).

A :class:`KindRegistry` starts with the built-in kinds the course uses and
grows when a CustomResourceDefinition is created (see ``crd.py``).

Simplified: objects of a resource served in several versions (the
HorizontalPodAutoscaler in ``autoscaling/v1`` and ``v2``) share one storage
location and are converted by ``conversion.py``; there is no "storage version"
migration.  Requests may send protobuf for the kinds kubectl's imperative
commands create (``protobuf.py``); answers are always JSON.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# fields every kind can be filtered on with ?fieldSelector=
COMMON_FIELD_LABELS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class ScalePaths:
    """Where the ``scale`` subresource finds replicas (a CRD's ``subresources.scale``)."""

    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = ".status.selector"


@dataclass(frozen=True)
class Kind:
    """One served resource: ``deployments`` in ``apps/v1`` is the kind ``Deployment``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "token"
    field_labels: tuple[str, ...] = ()  # beyond metadata.name / metadata.namespace
    verbs: tuple[str, ...] = ALL_VERBS
    scale: ScalePaths | None = None
    custom: bool = False  # defined by a CustomResourceDefinition
    schema: dict | None = field(default=None, compare=False, hash=False)  # CRD openAPIV3Schema

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def storage_key(self) -> str:
        # one storage location per (group, resource), whatever the version: like etcd keys
        return f"{self.group or 'core'}/{self.plural}"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    def supports_field(self, field_path: str) -> bool:
        return field_path in COMMON_FIELD_LABELS or field_path in self.field_labels


def _k(group: str, version: str, kind: str, plural: str, **kw: object) -> Kind:
    return Kind(group=group, version=version, kind=kind, plural=plural, **kw)  # type: ignore[arg-type]


_POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
               "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
               "status.nominatedNodeName")
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                 "involvedObject.uid", "involvedObject.apiVersion",
                 "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                 "reportingComponent", "source", "type")
_REPLICAS = ScalePaths()

BUILTIN_KINDS: tuple[Kind, ...] = (
    # the core group, served under /api/v1
    _k("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
       subresources=("status",), field_labels=("status.phase",)),
    _k("", "v1", "Pod", "pods", short_names=("po",), categories=("all",),
       subresources=("status", "binding", "eviction", "log"), field_labels=_POD_FIELDS),
    # the older form of pods/binding: POST /api/v1/namespaces/<ns>/bindings, never stored
    _k("", "v1", "Binding", "bindings", verbs=("create",)),
    _k("", "v1", "Node", "nodes", namespaced=False, short_names=("no",),
       subresources=("status",), field_labels=("spec.unschedulable",)),
    _k("", "v1", "Service", "services", short_names=("svc",), categories=("all",),
       subresources=("status",)),
    _k("", "v1", "Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
    _k("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _k("", "v1", "Secret", "secrets", field_labels=("type",)),
    _k("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",),
       subresources=("token",)),
    _k("", "v1", "Event", "events", short_names=("ev",), field_labels=_EVENT_FIELDS),
    _k("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False,
       short_names=("pv",), subresources=("status",)),
    _k("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
       subresources=("status",)),
    # apps
    _k("apps", "v1", "Deployment", "deployments", short_names=("deploy",),
       categories=("all",), subresources=("status", "scale"), scale=_REPLICAS),
    _k("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
       subresources=("status", "scale"), scale=_REPLICAS, field_labels=("status.replicas",)),
    _k("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",),
       categories=("all",), subresources=("status", "scale"), scale=_REPLICAS),
    _k("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=("all",),
       subresources=("status",)),
    _k("apps", "v1", "ControllerRevision", "controllerrevisions"),
    # batch
    _k("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",),
       field_labels=("status.successful",)),
    _k("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=("all",),
       subresources=("status",)),
    # autoscaling: v2 is the preferred version, v1 is converted (conversion.py)
    _k("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), categories=("all",), subresources=("status",)),
    _k("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), categories=("all",), subresources=("status",)),
    # RBAC
    _k("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _k("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _k("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
       namespaced=False),
    # access reviews: created, answered, never stored (reviews.py)
    _k("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
       namespaced=False, verbs=("create",)),
    _k("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
       namespaced=False, verbs=("create",)),
    _k("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
       namespaced=False, verbs=("create",)),
    # policy: disruption budgets (the eviction subresource of pods reads them)
    _k("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
       subresources=("status",)),
    # scheduling: Pod priority (priority.py resolves a Pod's class at admission)
    _k("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False,
       short_names=("pc",)),
    # networking: Ingress rules are stored for an ingress controller to act on (none runs here,
    # as none ships with Kubernetes itself)
    _k("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",),
       subresources=("status",)),
    # storage, coordination, CRDs
    _k("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False,
       short_names=("sc",)),
    _k("coordination.k8s.io", "v1", "Lease", "leases"),
    _k("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
       namespaced=False, short_names=("crd", "crds"), subresources=("status",)),
)

# subresource -> (group, version, kind) of the object it speaks, for discovery
SUBRESOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    "scale": ("autoscaling", "v1", "Scale"),
    "token": ("authentication.k8s.io", "v1", "TokenRequest"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
}
# subresource -> verbs, for discovery (the rest are get, patch, update)
SUBRESOURCE_VERBS: dict[str, tuple[str, ...]] = {
    "token": ("create",), "binding": ("create",), "eviction": ("create",), "log": ("get",),
}


class KindRegistry:
    """Every served kind, looked up by path (group/version/resource) or by object."""

    def __init__(self, kinds: tuple[Kind, ...] = BUILTIN_KINDS) -> None:
        self._lock = threading.Lock()
        self._kinds: list[Kind] = []
        for kind in kinds:
            self.add(kind)

    def add(self, kind: Kind) -> None:
        with self._lock:
            self._kinds = [
                k for k in self._kinds
                if (k.group, k.version, k.plural) != (kind.group, kind.version, kind.plural)
            ] + [kind]

    def remove_resource(self, group: str, plural: str) -> None:
        """Stop serving a resource in every version (its CRD was deleted)."""
        with self._lock:
            self._kinds = [k for k in self._kinds if (k.group, k.plural) != (group, plural)]

    def all(self) -> list[Kind]:
        with self._lock:
            return list(self._kinds)

    def lookup(self, group: str, version: str, plural: str) -> Kind | None:
        for kind in self.all():
            if (kind.group, kind.version, kind.plural) == (group, version, plural):
                return kind
        return None

    def for_object(self, api_version: str, kind_name: str) -> Kind | None:
        """The kind an object's ``apiVersion`` and ``kind`` name."""
        for kind in self.all():
            if kind.api_version == api_version and kind.kind == kind_name:
                return kind
        return None

    def versions_of(self, group: str, plural: str) -> list[Kind]:
        return [k for k in self.all() if (k.group, k.plural) == (group, plural)]

    def groups(self) -> dict[str, list[str]]:
        """group -> versions served, preferred version first (registration order)."""
        result: dict[str, list[str]] = {}
        for kind in self.all():
            versions = result.setdefault(kind.group, [])
            if kind.version not in versions:
                versions.append(kind.version)
        return result

    def resources(self, group: str, version: str) -> list[Kind]:
        return [k for k in self.all() if (k.group, k.version) == (group, version)]

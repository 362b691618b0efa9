"""Defaulting: the fields the API server fills in when a client leaves them out.

Models the ``SetDefaults_*`` functions of ``k8s.io/kubernetes/pkg/apis/*/v1``
(and a few "PrepareForCreate" steps of the registry strategies).  A learner
who creates a bare Deployment reads back ``replicas: 1`` and a RollingUpdate
strategy of 25% / 25% because of this module.

Only the fields the course relies on are defaulted; the Kubernetes API
reference lists the full set.  Defaulting never overwrites a value the client
sent.  Objects are changed in place.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from fromscratch.api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]


def _default(mapping: Obj, key: str, value: Any) -> Any:
    # like Go's defaulting, an empty string counts as "not set"
    if mapping.get(key) is None or mapping.get(key) == "":
        mapping[key] = value
    return mapping[key]


def _image_pull_policy(image: str) -> str:
    # :latest (or no tag at all) means "always pull", anything else "if not present"
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.split(":", 1)[1] if ":" in name else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_container(container: Obj) -> None:
    if isinstance(container.get("image"), str):
        _default(container, "imagePullPolicy", _image_pull_policy(container["image"]))
    _default(container, "terminationMessagePath", "/dev/termination-log")
    _default(container, "terminationMessagePolicy", "File")
    # Go's encoder writes an empty struct even with omitempty: every container shows resources: {}
    _default(container, "resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")


def default_pod_spec(spec: Obj) -> None:
    _default(spec, "restartPolicy", "Always")
    _default(spec, "dnsPolicy", "ClusterFirst")
    _default(spec, "schedulerName", "default-scheduler")
    _default(spec, "terminationGracePeriodSeconds", 30)
    _default(spec, "securityContext", {})
    _default(spec, "enableServiceLinks", True)
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                default_container(container)


def qos_class(spec: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    requests, limits, guaranteed = {}, {}, True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        req, lim = resources.get("requests") or {}, resources.get("limits") or {}
        requests.update(req)
        limits.update(lim)
        for name in ("cpu", "memory"):
            # requests default to limits, so a container with only limits can be Guaranteed
            if name not in lim or _quantity(req.get(name, lim[name])) != _quantity(lim[name]):
                guaranteed = False
    if not any(_quantity(v) != 0 for v in list(requests.values()) + list(limits.values())):
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _quantity(value: Any) -> Any:
    try:
        return parse_quantity(str(value))
    except QuantityError:
        return value


def _template(obj: Obj) -> Obj:
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {}) if isinstance(spec, dict) else {}
    if isinstance(template, dict):
        pod_spec = template.setdefault("spec", {})
        if isinstance(pod_spec, dict):
            default_pod_spec(pod_spec)
    return spec


def default_pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        default_pod_spec(spec)


def default_deployment(obj: Obj) -> None:
    spec = _template(obj)
    _default(spec, "replicas", 1)
    strategy = _default(spec, "strategy", {})
    if _default(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _default(strategy, "rollingUpdate", {})
        _default(rolling, "maxUnavailable", "25%")
        _default(rolling, "maxSurge", "25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)


def default_replicaset(obj: Obj) -> None:
    _default(_template(obj), "replicas", 1)


def default_statefulset(obj: Obj) -> None:
    spec = _template(obj)
    _default(spec, "replicas", 1)
    _default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _default(spec, "updateStrategy", {})
    if _default(strategy, "type", "RollingUpdate") == "RollingUpdate":
        _default(_default(strategy, "rollingUpdate", {}), "partition", 0)
    _default(spec, "revisionHistoryLimit", 10)
    policy = _default(spec, "persistentVolumeClaimRetentionPolicy", {})
    _default(policy, "whenDeleted", "Retain")
    _default(policy, "whenScaled", "Retain")


def default_daemonset(obj: Obj) -> None:
    spec = _template(obj)
    strategy = _default(spec, "updateStrategy", {})
    if _default(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _default(strategy, "rollingUpdate", {})
        _default(rolling, "maxUnavailable", 1)
        _default(rolling, "maxSurge", 0)
    _default(spec, "revisionHistoryLimit", 10)


def default_job(obj: Obj) -> None:
    spec = _template(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _default(spec, "parallelism", 1)
    _default(spec, "backoffLimit", 6)
    _default(spec, "completionMode", "NonIndexed")
    _default(spec, "suspend", False)
    _default(spec, "podReplacementPolicy", "TerminatingOrFailed")


def generate_job_selector(obj: Obj) -> None:
    """A Job's selector and pod labels, generated from its uid (unless ``manualSelector``).

    Models the Job strategy's PrepareForCreate: the uid makes the selector
    unique, so two Jobs never adopt each other's Pods.
    """
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    uid, name = obj["metadata"]["uid"], obj["metadata"].get("name", "")
    labels = {"batch.kubernetes.io/controller-uid": uid}
    spec.setdefault("selector", {"matchLabels": dict(labels)})
    template = spec.get("template")
    if isinstance(template, dict):
        meta = template.setdefault("metadata", {})
        if isinstance(meta, dict):
            pod_labels = meta.setdefault("labels", {})
            if isinstance(pod_labels, dict):
                pod_labels.update(labels)
                pod_labels.update({"batch.kubernetes.io/job-name": name,
                                   "controller-uid": uid, "job-name": name})


def default_cronjob(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _default(spec, "concurrencyPolicy", "Allow")
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        default_job(job_template)


def default_service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _default(spec, "type", "ClusterIP")
    _default(spec, "sessionAffinity", "None")
    _default(spec, "internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
            _default(port, "targetPort", port.get("port"))


def default_namespace(obj: Obj) -> None:
    name = obj.get("metadata", {}).get("name")
    if name:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    _default(obj.setdefault("spec", {}), "finalizers", ["kubernetes"])
    _default(obj.setdefault("status", {}), "phase", "Active")


def default_secret(obj: Obj) -> None:
    _default(obj, "type", "Opaque")
    # stringData is write-only: merged into data (base64) and never stored
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = _default(obj, "data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def default_pvc(obj: Obj) -> None:
    _default(obj.setdefault("spec", {}), "volumeMode", "Filesystem")
    _default(obj.setdefault("status", {}), "phase", "Pending")


def default_pv(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _default(spec, "persistentVolumeReclaimPolicy", "Retain")
    _default(spec, "volumeMode", "Filesystem")
    _default(obj.setdefault("status", {}), "phase", "Pending")


def default_storageclass(obj: Obj) -> None:
    _default(obj, "reclaimPolicy", "Delete")
    _default(obj, "volumeBindingMode", "Immediate")


def default_hpa(obj: Obj) -> None:
    _default(obj.setdefault("spec", {}), "minReplicas", 1)


DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "Pod"): default_pod,
    ("", "Service"): default_service,
    ("", "Namespace"): default_namespace,
    ("", "Secret"): default_secret,
    ("", "PersistentVolumeClaim"): default_pvc,
    ("", "PersistentVolume"): default_pv,
    ("apps", "Deployment"): default_deployment,
    ("apps", "ReplicaSet"): default_replicaset,
    ("apps", "StatefulSet"): default_statefulset,
    ("apps", "DaemonSet"): default_daemonset,
    ("batch", "Job"): default_job,
    ("batch", "CronJob"): default_cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): default_hpa,
    ("storage.k8s.io", "StorageClass"): default_storageclass,
}


def apply_defaults(group: str, kind: str, obj: Obj) -> None:
    """Fill in the defaults for one object of ``group``/``kind`` (in place)."""
    defaulter = DEFAULTERS.get((group, kind))
    if defaulter is not None and isinstance(obj.get("spec", {}), dict):
        defaulter(obj)

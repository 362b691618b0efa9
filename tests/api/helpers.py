"""Object builders shared by the API server tests."""

from __future__ import annotations


def pod(name: str, labels: dict[str, str] | None = None, image: str = "nginx:1.27") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": image}]}}


def deployment(name: str, replicas: int = 2, image: str = "nginx:1.27") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "main", "image": image}]}}}}


def job(name: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "busybox", "command": ["true"]}]}}}}


def _template(labels: dict) -> dict:
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}


def _workload(api_version: str, kind: str, name: str) -> dict:
    labels = {"app": name}
    spec = {"selector": {"matchLabels": labels}, "template": _template(labels)}
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def manifests(name: str) -> list[dict]:
    """One minimal valid object of every built-in kind the course uses."""
    meta = {"name": name}
    rule = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    subjects = [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]
    hpa_target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    return [
        pod(name),
        {"apiVersion": "v1", "kind": "Node", "metadata": meta},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": []},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"k": "v"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "v1", "kind": "Event", "metadata": meta, "reason": "Tested",
         "involvedObject": {"kind": "Pod", "name": name}, "message": "hello"},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "hostPath": {"path": "/tmp/pv"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
         "spec": {"accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}},
        deployment(name),
        _workload("apps/v1", "ReplicaSet", name),
        _workload("apps/v1", "StatefulSet", name),
        _workload("apps/v1", "DaemonSet", name),
        {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
         "revision": 1, "data": {}},
        job(name),
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
         "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job(name)["spec"]}}},
        {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta,
         "spec": {"scaleTargetRef": hpa_target, "maxReplicas": 5,
                  "targetCPUUtilizationPercentage": 60}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": rule},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
         "rules": rule},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": ref, "subjects": subjects},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta, "roleRef": ref, "subjects": subjects},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
         "provisioner": "fromscratch.local/hostpath"},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
         "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}},
    ]


def raw_request(server, method: str, path: str, body: bytes | str | dict | list | None = None,
                headers: dict[str, str] | None = None, token: str | None = "admin"
                ) -> tuple[int, object]:
    """One HTTPS request without any client library: (status, decoded JSON or text)."""
    import http.client
    import json
    import ssl

    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context,
                                             timeout=30)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {server.token if token == 'admin' else token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode(errors="replace")

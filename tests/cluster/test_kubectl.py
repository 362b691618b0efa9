"""Real ``kubectl`` against the embedded cluster: the everyday commands of the Kubernetes docs.

Each test drives the cluster only through kubectl (as a learner would) and
checks the outcome the Kubernetes documentation describes for that command.
"""

from __future__ import annotations

import json

import pytest

from fromscratch.cluster import Cluster, KubectlError

pytestmark = pytest.mark.slow


def get_json(cluster: Cluster, *args: str) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json"))


def deployment(cluster: Cluster, ns: str, name: str, replicas: int = 2, *command: str) -> None:
    command = command or ("sleep", "3600")
    cluster.kubectl("create", "deployment", name, "-n", ns, "--image=busybox",
                    f"--replicas={replicas}", "--", *command)


def wait_ready(cluster: Cluster, ns: str, count: int, selector: str = "", timeout: float = 45) -> list:
    return cluster.wait_for(lambda: (lambda p: p if len(p) == count else None)(
        cluster.ready_pods(ns, selector)), timeout=timeout, message=f"{count} ready Pods in {ns}")


def test_get_nodes_lists_ready_workers_and_a_tainted_control_plane(cluster):
    nodes = {n["metadata"]["name"]: n for n in get_json(cluster, "nodes")["items"]}
    assert set(nodes) == {"control-plane", "node-1", "node-2"}
    for node in nodes.values():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    taints = nodes["control-plane"]["spec"]["taints"]
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in [
        {k: t[k] for k in ("key", "effect")} for t in taints]
    table = cluster.kubectl("get", "nodes")
    assert "Ready" in table and "node-1" in table


def test_deployment_pods_run_on_workers_and_get_pods_wide_shows_the_node(cluster, ns):
    deployment(cluster, ns, "web", 3)
    pods = wait_ready(cluster, ns, 3)
    assert {p["spec"]["nodeName"] for p in pods} <= {"node-1", "node-2"}  # never the tainted one
    wide = cluster.kubectl("get", "pods", "-n", ns, "-o", "wide")
    assert "NODE" in wide.splitlines()[0]
    for pod in pods:
        line = next(row for row in wide.splitlines() if row.startswith(pod["metadata"]["name"]))
        assert pod["spec"]["nodeName"] in line and "Running" in line


def test_scale_changes_the_number_of_running_pods(cluster, ns):
    deployment(cluster, ns, "web", 1)
    wait_ready(cluster, ns, 1)
    cluster.kubectl("scale", "deployment/web", "-n", ns, "--replicas=3")
    wait_ready(cluster, ns, 3)
    cluster.kubectl("scale", "deployment/web", "-n", ns, "--replicas=1")
    cluster.wait_for(lambda: len(cluster.pods(ns)) == 1, timeout=45, message="scale down to 1")


def test_rollout_status_history_undo_pause_and_resume(cluster, ns):
    deployment(cluster, ns, "web", 2)
    wait_ready(cluster, ns, 2)
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    cluster.kubectl("set", "env", "deployment/web", "-n", ns, "COLOUR=blue")
    out = cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert "successfully rolled out" in out
    history = cluster.kubectl("rollout", "history", "deployment/web", "-n", ns)
    assert [line.split()[0] for line in history.splitlines() if line[:1].isdigit()] == ["1", "2"]

    cluster.kubectl("rollout", "undo", "deployment/web", "-n", ns)
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    env = get_json(cluster, "deployment/web", "-n", ns)["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in env  # back to revision 1's template (now revision 3)

    cluster.kubectl("rollout", "pause", "deployment/web", "-n", ns)
    replicasets = len(get_json(cluster, "replicasets", "-n", ns)["items"])
    cluster.kubectl("set", "env", "deployment/web", "-n", ns, "COLOUR=green")
    with pytest.raises(TimeoutError):  # paused: no new ReplicaSet for the changed template
        cluster.wait_for(lambda: len(get_json(cluster, "replicasets", "-n", ns)["items"]) > replicasets,
                         timeout=2)
    cluster.kubectl("rollout", "resume", "deployment/web", "-n", ns)
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert len(get_json(cluster, "replicasets", "-n", ns)["items"]) == replicasets + 1


def test_logs_come_from_the_container_through_the_api_server(cluster, ns):
    cluster.kubectl("run", "talker", "-n", ns, "--image=busybox", "--restart=Never", "--",
                    "sh", "-c", "echo hello from the pod; sleep 3600")
    wait_ready(cluster, ns, 1)
    logs = cluster.wait_for(lambda: (lambda out: out if "hello" in out else None)(
        cluster.kubectl("logs", "talker", "-n", ns)), timeout=20, message="the pod's output")
    assert logs.strip() == "hello from the pod"


def test_describe_pod_shows_scheduler_and_kubelet_events(cluster, ns):
    cluster.kubectl("run", "described", "-n", ns, "--image=busybox", "--restart=Never", "--",
                    "sleep", "3600")
    wait_ready(cluster, ns, 1)

    def described() -> str | None:
        out = cluster.kubectl("describe", "pod", "described", "-n", ns)
        return out if "Scheduled" in out and "Started" in out else None

    out = cluster.wait_for(described, timeout=20, message="Scheduled and Started events")
    assert "Successfully assigned" in out and "default-scheduler" in out


def test_cordon_drain_and_uncordon_move_pods_off_a_node(cluster, ns):
    deployment(cluster, ns, "web", 4)
    wait_ready(cluster, ns, 4)
    cluster.kubectl("cordon", "node-1")
    try:
        assert get_json(cluster, "node", "node-1")["spec"]["unschedulable"] is True
        cluster.kubectl("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data",
                        "--timeout=60s", timeout=90)
        pods = wait_ready(cluster, ns, 4)
        assert {p["spec"]["nodeName"] for p in pods} == {"node-2"}
    finally:
        cluster.kubectl("uncordon", "node-1")
    assert not get_json(cluster, "node", "node-1")["spec"].get("unschedulable")


def test_taint_keeps_pods_without_a_toleration_away(cluster, ns):
    cluster.kubectl("taint", "nodes", "node-2", "foo=bar:NoSchedule")
    try:
        deployment(cluster, ns, "plain", 3)
        pods = wait_ready(cluster, ns, 3, "app=plain")
        assert {p["spec"]["nodeName"] for p in pods} == {"node-1"}
        taints = get_json(cluster, "node", "node-2")["spec"]["taints"]
        assert {"key": "foo", "value": "bar", "effect": "NoSchedule"} in taints
    finally:
        cluster.kubectl("taint", "nodes", "node-2", "foo=bar:NoSchedule-")
    assert "foo" not in json.dumps(get_json(cluster, "node", "node-2")["spec"].get("taints", []))


def test_kubectl_errors_name_the_problem(cluster):
    with pytest.raises(KubectlError, match="NotFound|not found"):
        cluster.kubectl("get", "pod", "no-such-pod")


def test_rollout_undo_reuses_the_old_replicaset(cluster, ns):
    # kubectl sends the old template back with `resources: {}` on each container (Go writes empty
    # structs); the server's defaults give stored templates the same, so the old ReplicaSet matches
    cluster.apply(f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: app, image: busybox, command: [sleep, "3600"]}}]
""")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    cluster.kubectl("set", "env", "deployment/web", "-n", ns, "A=1")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    cluster.kubectl("rollout", "undo", "deployment/web", "-n", ns)
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    assert len(get_json(cluster, "replicasets", "-n", ns)["items"]) == 2

"""Job, DaemonSet, StatefulSet and Endpoints controllers end to end against the API server."""

from __future__ import annotations

import time

import pytest

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import (
    DAEMONSETS,
    ENDPOINTS,
    JOBS,
    NODES,
    PODS,
    PVCS,
    SERVICES,
    STATEFULSETS,
    ResourceClient,
)
from fromscratch.controllers.daemonset import DaemonSetController, pinned_node
from fromscratch.controllers.endpoints import EndpointsController
from fromscratch.controllers.job import JobController
from fromscratch.controllers.podutil import format_time
from fromscratch.controllers.statefulset import StatefulSetController
from tests.controllers.helpers import FakeKubelet, template, wait_for


def set_phase(api, ns: str, name: str, phase: str, *, ready: bool = False, ip: str | None = None) -> None:
    pods = ResourceClient(api, PODS)
    pod = pods.get(ns, name)
    pod["status"]["phase"] = phase
    if ready:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "True",
                                        "lastTransitionTime": format_time(0)}]
    if ip:
        pod["status"]["podIP"] = ip
    pods.update_status(pod)


def pod_names(api, ns: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in ResourceClient(api, PODS).list(ns)["items"]
                  if not p["metadata"].get("deletionTimestamp"))


# --- Job ----------------------------------------------------------------------------------------------
def test_a_job_runs_until_its_completions_succeed(api, ns):
    jobs = ResourceClient(api, JOBS)
    with ControllerManager(api, controllers=[JobController], namespace=ns):
        jobs.create(ns, {"metadata": {"name": "pi"}, "spec": {"completions": 3, "parallelism": 2,
                         "template": {"spec": {"restartPolicy": "Never", "containers": [
                             {"name": "pi", "image": "perl"}]}}}})
        for done in range(3):
            pods = wait_for(lambda d=done: [p for p in ResourceClient(api, PODS).list(ns)["items"]
                                            if p["status"].get("phase") == "Pending"],
                            message="a pending Job pod")
            assert len(pods) <= 2  # parallelism
            set_phase(api, ns, pods[0]["metadata"]["name"], "Succeeded")
        status = wait_for(lambda: (s := jobs.get(ns, "pi")["status"]).get("completionTime") and s,
                          message="Complete")
        assert status["succeeded"] == 3
        assert [c["type"] for c in status["conditions"]] == ["Complete"]
        assert len(ResourceClient(api, PODS).list(ns)["items"]) == 3


def test_a_job_fails_after_its_backoff_limit(api, ns):
    jobs = ResourceClient(api, JOBS)
    with ControllerManager(api, controllers=[JobController], namespace=ns):
        jobs.create(ns, {"metadata": {"name": "flaky"}, "spec": {"backoffLimit": 1, "template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
        for _ in range(2):
            pod = wait_for(lambda: next((p for p in ResourceClient(api, PODS).list(ns)["items"]
                                         if p["status"].get("phase") == "Pending"), None))
            set_phase(api, ns, pod["metadata"]["name"], "Failed")
        cond = wait_for(lambda: next((c for c in jobs.get(ns, "flaky")["status"].get("conditions") or []
                                      if c["type"] == "Failed"), None), message="Failed")
        assert cond["reason"] == "BackoffLimitExceeded"


# --- DaemonSet ----------------------------------------------------------------------------------------
@pytest.fixture
def nodes(api, ns):
    client = ResourceClient(api, NODES)
    made = []

    def add(name: str, **spec) -> str:
        full = f"{ns}-{name}"
        client.create("", {"metadata": {"name": full, "labels": {"fromscratch-test": ns}}, "spec": spec})
        made.append(full)
        return full

    yield add
    for name in made:
        try:
            client.delete("", name)
        except Exception:
            pass


def test_a_daemonset_follows_nodes_as_they_join_and_leave(api, ns, nodes):
    daemonsets = ResourceClient(api, DAEMONSETS)
    first = nodes("a")
    nodes("master", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    with ControllerManager(api, controllers=[DaemonSetController], namespace=ns):
        daemonsets.create(ns, {"metadata": {"name": "logs"}, "spec": {
            "selector": {"matchLabels": {"app": "logs"}},
            "template": {**template({"app": "logs"}), "spec": {
                "nodeSelector": {"fromscratch-test": ns},
                "containers": [{"name": "fluentd", "image": "fluentd"}]}}}})

        def placed() -> set[str]:
            return {pinned_node(p) for p in ResourceClient(api, PODS).list(ns)["items"]
                    if not p["metadata"].get("deletionTimestamp")}

        assert wait_for(lambda: placed() == {first} and placed(), message="one pod") == {first}
        second = nodes("b")
        wait_for(lambda: placed() == {first, second}, message="a pod on the new node")
        ResourceClient(api, NODES).delete("", first)
        wait_for(lambda: placed() == {second}, message="the pod of the removed node deleted")
        status = wait_for(lambda: (s := daemonsets.get(ns, "logs")["status"]).get(
            "desiredNumberScheduled") == 1 and s.get("currentNumberScheduled") == 1 and s)
        assert status["numberMisscheduled"] == 0


# --- StatefulSet ------------------------------------------------------------------------------------------
def test_a_statefulset_creates_web_0_then_web_1_and_keeps_each_pvc(api, ns):
    sets = ResourceClient(api, STATEFULSETS)
    with ControllerManager(api, controllers=[StatefulSetController], namespace=ns):
        sets.create(ns, {"metadata": {"name": "web"}, "spec": {
            "replicas": 2, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
            "template": template({"app": "nginx"}),
            "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
        wait_for(lambda: pod_names(api, ns) == ["web-0"], message="web-0 first")
        assert pod_names(api, ns) == ["web-0"]  # web-1 waits for web-0 to be Running and Ready
        set_phase(api, ns, "web-0", "Running", ready=True)
        wait_for(lambda: pod_names(api, ns) == ["web-0", "web-1"], message="then web-1")
        pod = ResourceClient(api, PODS).get(ns, "web-1")
        assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "nginx")
        claims = sorted(c["metadata"]["name"] for c in ResourceClient(api, PVCS).list(ns)["items"])
        assert claims == ["www-web-0", "www-web-1"]
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "www")
        assert volume["persistentVolumeClaim"]["claimName"] == "www-web-1"
        # delete web-0: it comes back with the same name and the same claim
        uid = ResourceClient(api, PODS).get(ns, "web-0")["metadata"]["uid"]
        ResourceClient(api, PODS).delete(ns, "web-0")
        wait_for(lambda: (p := next((x for x in ResourceClient(api, PODS).list(ns)["items"]
                                     if x["metadata"]["name"] == "web-0"), None))
                 and p["metadata"]["uid"] != uid, message="web-0 recreated")
        assert len(ResourceClient(api, PVCS).list(ns)["items"]) == 2


def test_a_statefulset_scales_down_from_the_highest_ordinal(api, ns):
    sets = ResourceClient(api, STATEFULSETS)
    with ControllerManager(api, controllers=[StatefulSetController], namespace=ns):
        sets.create(ns, {"metadata": {"name": "db"}, "spec": {
            "replicas": 3, "podManagementPolicy": "Parallel", "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}}, "template": template({"app": "db"})}})
        wait_for(lambda: pod_names(api, ns) == ["db-0", "db-1", "db-2"], message="3 pods at once")
        FakeKubelet(api, ns).step()
        sets.patch(ns, "db", {"spec": {"replicas": 1}})
        wait_for(lambda: pod_names(api, ns) == ["db-0"], message="scaled down to db-0")


# --- Endpoints -------------------------------------------------------------------------------------------
def test_endpoints_list_ready_and_not_ready_pod_ips_with_named_target_ports(api, ns):
    services, pods = ResourceClient(api, SERVICES), ResourceClient(api, PODS)
    with ControllerManager(api, controllers=[EndpointsController], namespace=ns):
        services.create(ns, {"metadata": {"name": "nginx"}, "spec": {
            "selector": {"app": "nginx"}, "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}})
        for name, ip, ready in (("a", "10.0.0.2", True), ("b", "10.0.0.3", False)):
            pods.create(ns, {"metadata": {"name": name, "labels": {"app": "nginx"}}, "spec": {
                "hostname": name, "subdomain": "nginx",
                "containers": [{"name": "c", "image": "nginx", "ports": [
                    {"name": "web", "containerPort": 8080}]}]}})
            set_phase(api, ns, name, "Running", ready=ready, ip=ip)
        pods.create(ns, {"metadata": {"name": "other", "labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "c", "image": "postgres"}]}})
        endpoints = ResourceClient(api, ENDPOINTS)

        def subsets():
            try:
                return endpoints.get(ns, "nginx").get("subsets")
            except Exception:
                return None

        (subset,) = wait_for(lambda: (s := subsets()) and s[0].get("notReadyAddresses") and s)
        assert [(a["ip"], a["hostname"]) for a in subset["addresses"]] == [("10.0.0.2", "a")]
        assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.3"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        services.delete(ns, "nginx")
        wait_for(lambda: not endpoints.list(ns)["items"], message="Endpoints removed with the Service")


def daemonset(ns: str, strategy: dict) -> dict:
    return {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": strategy,
        "template": {**template({"app": "agent"}), "spec": {
            "nodeSelector": {"fromscratch-test": ns},
            "containers": [{"name": "agent", "image": "agent:1"}]}}}}


def test_daemonset_rolling_update_replaces_one_node_at_a_time(api, ns, nodes):
    for name in ("a", "b", "c"):
        nodes(name)
    daemonsets, pods = ResourceClient(api, DAEMONSETS), ResourceClient(api, PODS)
    kubelet = FakeKubelet(api, ns)

    def live() -> list[dict]:
        return [p for p in pods.list(ns)["items"] if not p["metadata"].get("deletionTimestamp")]

    with ControllerManager(api, controllers=[DaemonSetController], namespace=ns):
        rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
        daemonsets.create(ns, daemonset(ns, rolling))
        wait_for(lambda: kubelet.step() is not None and len(live()) == 3
                 and all(p["status"].get("phase") == "Running" for p in live()), message="3 ready daemons")
        # subtle: wait until the controller's own cache has them ready too (its status says so);
        # an old Pod it still thinks unready is "already unavailable", replaced without counting
        wait_for(lambda: kubelet.step() is not None
                 and (daemonsets.get(ns, "agent").get("status") or {}).get("numberReady") == 3,
                 message="the controller to see 3 ready daemons")
        daemonsets.patch(ns, "agent", {"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "agent:2"}]}}}})

        def done() -> bool:
            ready = [p for p in live() if p["status"].get("phase") == "Running"]
            assert len(ready) >= 2, "more than maxUnavailable nodes without a ready daemon"
            kubelet.step()
            return len(ready) == 3 and {p["spec"]["containers"][0]["image"] for p in ready} == {"agent:2"}

        wait_for(done, timeout=30, message="every node on the new template")
        status = wait_for(lambda: (s := daemonsets.get(ns, "agent")["status"])
                          .get("updatedNumberScheduled") == 3 and s, message="status")
        assert status["numberReady"] == 3


def test_daemonset_on_delete_keeps_old_pods_until_deleted(api, ns, nodes):
    nodes("a")
    daemonsets, pods = ResourceClient(api, DAEMONSETS), ResourceClient(api, PODS)
    with ControllerManager(api, controllers=[DaemonSetController], namespace=ns):
        daemonsets.create(ns, daemonset(ns, {"type": "OnDelete"}))
        (pod,) = wait_for(lambda: pods.list(ns)["items"], message="the daemon")
        FakeKubelet(api, ns).step()
        daemonsets.patch(ns, "agent", {"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "agent:2"}]}}}})
        wait_for(lambda: daemonsets.get(ns, "agent")["status"].get("observedGeneration") == 2)
        assert [p["metadata"]["name"] for p in pods.list(ns)["items"]] == [pod["metadata"]["name"]]
        pods.delete(ns, pod["metadata"]["name"])
        wait_for(lambda: [p["spec"]["containers"][0]["image"] for p in pods.list(ns)["items"]
                          if not p["metadata"].get("deletionTimestamp")] == ["agent:2"],
                 message="the replacement on the new template")


def test_statefulset_partition_updates_only_the_canary_then_the_rest(api, ns):
    # docs: with partition 2, only Pods with an ordinal >= 2 get the new template
    sets, pods = ResourceClient(api, STATEFULSETS), ResourceClient(api, PODS)
    kubelet = FakeKubelet(api, ns)

    def images() -> dict[str, str]:
        return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in pods.list(ns)["items"]
                if not p["metadata"].get("deletionTimestamp")}

    with ControllerManager(api, controllers=[StatefulSetController], namespace=ns):
        sets.create(ns, {"metadata": {"name": "web"}, "spec": {
            "replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
            "template": template({"app": "web"}, "nginx:1"),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}})
        wait_for(lambda: kubelet.step() is not None and len(images()) == 3
                 and all(p["status"].get("phase") == "Running" for p in pods.list(ns)["items"]),
                 message="web-0..2 running")
        sets.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": "nginx:2"}]}}}})
        wait_for(lambda: kubelet.step() is not None
                 and images() == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"},
                 message="only the canary updated")
        time.sleep(0.3)
        kubelet.step()
        assert images() == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"}
        sets.patch(ns, "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})
        wait_for(lambda: kubelet.step() is not None and set(images().values()) == {"nginx:2"}
                 and len(images()) == 3, message="the rest follow, highest ordinal first")
        status = wait_for(lambda: (s := sets.get(ns, "web")["status"]).get("updatedReplicas") == 3 and s)
        assert status["currentRevision"] == status["updateRevision"]

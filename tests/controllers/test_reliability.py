"""Controllers converge through 409 conflicts, dropped watches and a restart mid-rollout."""

from __future__ import annotations

import random
import threading

import pytest

from fromscratch import exercises
from fromscratch.api import errors
from fromscratch.api.server import APIServer
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, PODS, REPLICASETS, ResourceClient, is_status
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.replica_diff import ReplicaDiff
from fromscratch.controllers.replicaset import ReplicaSetController
from tests.controllers.helpers import FakeKubelet, deployment, replicaset, wait_for
from tests.controllers.test_deployment_controller import complete, drive, image_of, live_pods

CONTROLLERS = [ReplicaSetController, DeploymentController]
SURGE_1_0 = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def new_image(api, ns: str, image: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": image}]}}}}
    for _ in range(20):  # a user retries a 409 too, as kubectl does
        try:
            ResourceClient(api, DEPLOYMENTS).patch(ns, "web", patch)
            return
        except Exception as err:
            if not is_status(err, 409):
                raise
    raise AssertionError("could not change the image through the injected conflicts")


def bounded(api, ns: str, replicas: int, surge: int, unavailable: int):
    def check() -> None:
        pods = live_pods(api, ns)
        assert len(pods) <= replicas + surge, f"{len(pods)} Pods > replicas + maxSurge"
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        assert len(running) >= replicas - unavailable, f"only {len(running)} Pods running"
    return check


@pytest.mark.slow
def test_rollout_converges_through_conflicts_and_dropped_watches():
    rng = random.Random(7)
    injected = []

    def flaky_updates(request) -> None:
        # 20% of all updates fail with 409 Conflict, as if someone else had written first
        if request.operation == "UPDATE" and rng.random() < 0.2:
            injected.append(request.name)
            raise errors.conflict(request.kind.plural, request.name, request.kind.group)

    with APIServer() as srv:
        api, ns = srv.client(), "default"
        srv.admission.add_validating("InjectConflicts", flaky_updates)
        stop = threading.Event()
        with ControllerManager(api, controllers=CONTROLLERS, namespace=ns) as cm:
            def drop_watches() -> None:
                while not stop.wait(0.15):
                    for informer in cm.factory.informers.values():
                        informer.reflector.interrupt()

            dropper = threading.Thread(target=drop_watches, daemon=True)
            dropper.start()
            try:
                ResourceClient(api, DEPLOYMENTS).create(ns, deployment("web", 6, strategy=SURGE_1_0))
                kubelet = FakeKubelet(api, ns)
                drive(kubelet, complete(api, ns, "web"), timeout=60)
                new_image(api, ns, "nginx:1.28")
                drive(kubelet, lambda: complete(api, ns, "web")()
                      and {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.28"},
                      check=bounded(api, ns, 6, 1, 0), timeout=90)
            finally:
                stop.set()
                dropper.join(5)
        assert len(live_pods(api, ns)) == 6
        assert len(injected) > 5
        assert sum(i.reflector.watches for i in cm.factory.informers.values()) > 10


def test_rollout_completes_after_the_controller_manager_is_killed_mid_way(api, ns):
    deployments = ResourceClient(api, DEPLOYMENTS)
    deployments.create(ns, deployment("web", 6, strategy=SURGE_1_0))
    kubelet = FakeKubelet(api, ns)
    check = bounded(api, ns, 6, 1, 0)
    with ControllerManager(api, controllers=CONTROLLERS, namespace=ns):
        drive(kubelet, complete(api, ns, "web"))
        new_image(api, ns, "nginx:1.28")
        drive(kubelet, lambda: len(ResourceClient(api, REPLICASETS).list(ns)["items"]) == 2
              and any(image_of(p) == "nginx:1.28" and p["status"].get("phase") == "Running"
                      for p in live_pods(api, ns)), check=check)
    # the controller manager is gone mid-rollout; the kubelet keeps running Pods
    for _ in range(5):
        kubelet.step()
        check()
    with ControllerManager(api, controllers=CONTROLLERS, namespace=ns):
        drive(kubelet, lambda: complete(api, ns, "web")()
              and {image_of(p) for p in live_pods(api, ns)} == {"nginx:1.28"}, check=check)
    assert len(live_pods(api, ns)) == 6
    names = [p["metadata"]["name"] for p in ResourceClient(api, PODS).list(ns)["items"]]
    assert len(names) == len(set(names))
    for pod in live_pods(api, ns):  # no orphans: every Pod has its controller
        assert pod["metadata"]["ownerReferences"][0]["controller"] is True


def test_a_learners_replicaset_diff_drives_the_running_controller(api, ns):
    # exercises.use plugs a learner's function into the controller: here one that never deletes
    def replicaset_diff(replicas: int, pods: list[dict], *, burst: int = 500) -> ReplicaDiff:
        return ReplicaDiff(create=max(replicas - len(pods), 0))

    rs_client = ResourceClient(api, REPLICASETS)
    with exercises.using(replicaset_diff) as point:
        with ControllerManager(api, controllers=[ReplicaSetController], namespace=ns):
            rs_client.create(ns, replicaset("web", 3))
            wait_for(lambda: len(live_pods(api, ns)) == 3, message="3 pods")
            rs_client.patch(ns, "web", {"spec": {"replicas": 1}})
            wait_for(lambda: rs_client.get(ns, "web")["status"].get("observedGeneration") == 2)
            assert len(live_pods(api, ns)) == 3  # the learner's version never scales down
        assert point.calls_to_learner >= 2

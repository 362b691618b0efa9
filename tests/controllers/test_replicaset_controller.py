"""The ReplicaSet controller end to end: the official client creates, the controller converges."""

from __future__ import annotations

import pytest
from kubernetes import client

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import PODS, REPLICASETS, ResourceClient
from fromscratch.controllers.replicaset import ReplicaSetController
from tests.controllers.helpers import FakeKubelet, replicaset, wait_for


@pytest.fixture
def manager(api, ns):
    with ControllerManager(api, controllers=[ReplicaSetController], namespace=ns) as cm:
        yield cm


def live_pods(api, ns: str) -> list[dict]:
    return [p for p in ResourceClient(api, PODS).list(ns)["items"]
            if not p["metadata"].get("deletionTimestamp")]


def test_creates_the_missing_pods_with_an_owner_reference(api, ns, manager):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_replica_set(ns, replicaset("web", 3))
    pods = wait_for(lambda: len(live_pods(api, ns)) == 3 and live_pods(api, ns), message="3 pods")
    owner = ResourceClient(api, REPLICASETS).get(ns, "web")
    for pod in pods:
        assert pod["metadata"]["name"].startswith("web-")
        assert pod["metadata"]["labels"] == {"app": "web"}
        (ref,) = pod["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["uid"], ref["controller"]) == ("ReplicaSet", owner["metadata"]["uid"], True)


def test_scale_down_deletes_not_ready_pods_first(api, ns, manager):
    rs_client = ResourceClient(api, REPLICASETS)
    rs_client.create(ns, replicaset("web", 3))
    pods = wait_for(lambda: len(live_pods(api, ns)) == 3 and live_pods(api, ns), message="3 pods")
    favourite = pods[0]["metadata"]["name"]
    FakeKubelet(api, ns, ready=lambda p: p["metadata"]["name"] == favourite).step()
    wait_for(lambda: rs_client.get(ns, "web")["status"].get("readyReplicas") == 1, message="1 ready")
    rs_client.patch(ns, "web", {"spec": {"replicas": 1}})
    remaining = wait_for(lambda: len(live_pods(api, ns)) == 1 and live_pods(api, ns), message="1 pod")
    assert remaining[0]["metadata"]["name"] == favourite


def test_status_counts_ready_and_available_pods(api, ns, manager):
    rs_client = ResourceClient(api, REPLICASETS)
    rs_client.create(ns, replicaset("web", 2))
    wait_for(lambda: len(live_pods(api, ns)) == 2, message="2 pods")
    FakeKubelet(api, ns).step()
    status = wait_for(lambda: (s := rs_client.get(ns, "web")["status"]).get("availableReplicas") == 2
                      and s, message="2 available")
    assert status == {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                      "availableReplicas": 2, "observedGeneration": 1}


def test_deleted_pods_are_replaced(api, ns, manager):
    ResourceClient(api, REPLICASETS).create(ns, replicaset("web", 2))
    pods = wait_for(lambda: len(live_pods(api, ns)) == 2 and live_pods(api, ns), message="2 pods")
    ResourceClient(api, PODS).delete(ns, pods[0]["metadata"]["name"])
    wait_for(lambda: len(live_pods(api, ns)) == 2
             and pods[0]["metadata"]["name"] not in {p["metadata"]["name"] for p in live_pods(api, ns)},
             message="a replacement pod")


def test_orphans_matching_the_selector_are_adopted_not_duplicated(api, ns, manager):
    pod_client = ResourceClient(api, PODS)
    pod_client.create(ns, {"metadata": {"name": "orphan", "labels": {"app": "web"}},
                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    ResourceClient(api, REPLICASETS).create(ns, replicaset("web", 2))
    wait_for(lambda: len(live_pods(api, ns)) == 2
             and pod_client.get(ns, "orphan")["metadata"].get("ownerReferences"), message="adoption")
    assert len(live_pods(api, ns)) == 2


def test_a_pod_whose_labels_stop_matching_is_released_and_replaced(api, ns, manager):
    ResourceClient(api, REPLICASETS).create(ns, replicaset("web", 1))
    (pod,) = wait_for(lambda: len(live_pods(api, ns)) == 1 and live_pods(api, ns), message="1 pod")
    name = pod["metadata"]["name"]
    pod_client = ResourceClient(api, PODS)
    pod_client.patch(ns, name, {"metadata": {"labels": {"app": "debug"}}})
    wait_for(lambda: not pod_client.get(ns, name)["metadata"].get("ownerReferences"), message="release")
    wait_for(lambda: len(live_pods(api, ns)) == 2, message="a replacement")


def test_converges_after_the_controller_restarts(api, ns):
    # kill the controller manager mid-way: a new one finishes the job, no duplicates
    rs_client = ResourceClient(api, REPLICASETS)
    rs_client.create(ns, replicaset("web", 5))
    with ControllerManager(api, controllers=[ReplicaSetController], namespace=ns):
        wait_for(lambda: len(live_pods(api, ns)) >= 1, message="some pods")
    rs_client.patch(ns, "web", {"spec": {"replicas": 7}})
    with ControllerManager(api, controllers=[ReplicaSetController], namespace=ns):
        wait_for(lambda: rs_client.get(ns, "web")["status"].get("replicas") == 7, message="7 pods")
        assert len(live_pods(api, ns)) == 7

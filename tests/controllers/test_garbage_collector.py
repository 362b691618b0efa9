"""The garbage collector: background, foreground and orphan deletion, as the documentation describes."""

from __future__ import annotations

import pytest

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import DEPLOYMENTS, PODS, REPLICASETS, ResourceClient, is_status
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.garbagecollector import GarbageCollector
from fromscratch.controllers.podutil import owner_reference
from fromscratch.controllers.replicaset import ReplicaSetController
from tests.controllers.helpers import FakeKubelet, deployment, replicaset, wait_for


@pytest.fixture
def gc(api, ns):
    with ControllerManager(api, controllers=[GarbageCollector], namespace=ns) as cm:
        yield cm["garbagecollector"]


def owned_pods(api, ns: str, owner: dict, count: int) -> list[str]:
    """An owner with ``count`` dependent Pods (no ReplicaSet controller running)."""
    pods = ResourceClient(api, PODS)
    names = []
    for i in range(count):
        created = pods.create(ns, {"metadata": {"name": f"{owner['metadata']['name']}-{i}",
                                                "ownerReferences": [owner_reference(owner)]},
                                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        names.append(created["metadata"]["name"])
    return names


def exists(client: ResourceClient, ns: str, name: str) -> bool:
    try:
        client.get(ns, name)
        return True
    except Exception as err:
        if is_status(err, 404):
            return False
        raise


def test_background_deletion_removes_dependents_after_the_owner(api, ns, gc):
    owners, pods = ResourceClient(api, REPLICASETS), ResourceClient(api, PODS)
    owner = owners.create(ns, replicaset("web", 0))
    names = owned_pods(api, ns, owner, 2)
    owners.delete(ns, "web", propagation_policy="Background")
    assert not exists(owners, ns, "web")  # the owner goes at once
    wait_for(lambda: not any(exists(pods, ns, n) for n in names), message="dependents deleted")


def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(api, ns, gc):
    owners, pods = ResourceClient(api, REPLICASETS), ResourceClient(api, PODS)
    owner = owners.create(ns, replicaset("web", 0))
    names = owned_pods(api, ns, owner, 2)
    owners.delete(ns, "web", propagation_policy="Foreground")
    # the owner is still visible, marked for deletion and carrying the finalizer
    marked = owners.get(ns, "web")
    assert marked["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in marked["metadata"]["finalizers"]
    wait_for(lambda: not exists(owners, ns, "web"), message="the owner deleted last")
    assert not any(exists(pods, ns, n) for n in names)


def test_orphan_deletion_keeps_dependents_without_the_owner_reference(api, ns, gc):
    owners, pods = ResourceClient(api, REPLICASETS), ResourceClient(api, PODS)
    owner = owners.create(ns, replicaset("web", 0))
    names = owned_pods(api, ns, owner, 2)
    owners.delete(ns, "web", propagation_policy="Orphan")
    wait_for(lambda: not exists(owners, ns, "web"), message="the owner deleted")
    for name in names:
        assert not pods.get(ns, name)["metadata"].get("ownerReferences")


def test_a_dependent_with_another_live_owner_only_loses_the_dangling_reference(api, ns, gc):
    owners, pods = ResourceClient(api, REPLICASETS), ResourceClient(api, PODS)
    first, second = owners.create(ns, replicaset("a", 0)), owners.create(ns, replicaset("b", 0))
    pod = pods.create(ns, {"metadata": {"name": "shared", "ownerReferences": [
        {**owner_reference(first), "controller": False}, {**owner_reference(second), "controller": False}]},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert len(pod["metadata"]["ownerReferences"]) == 2
    owners.delete(ns, "a")
    wait_for(lambda: [r["name"] for r in pods.get(ns, "shared")["metadata"]["ownerReferences"]] == ["b"],
             message="the dangling reference removed")


def test_deleting_a_deployment_cascades_through_replica_sets_to_pods(api, ns):
    with ControllerManager(api, controllers=[ReplicaSetController, DeploymentController, GarbageCollector],
                           namespace=ns):
        deployments, pods = ResourceClient(api, DEPLOYMENTS), ResourceClient(api, PODS)
        deployments.create(ns, deployment("web", 3))
        wait_for(lambda: len(pods.list(ns)["items"]) == 3, message="3 pods")
        FakeKubelet(api, ns).step()
        deployments.delete(ns, "web")
        replicasets = ResourceClient(api, REPLICASETS)
        wait_for(lambda: not pods.list(ns)["items"] and not replicasets.list(ns)["items"],
                 message="ReplicaSets and Pods collected")

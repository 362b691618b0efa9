"""The disruption controller keeps PodDisruptionBudget status current, as kubectl get pdb shows.

The arithmetic: https://kubernetes.io/docs/tasks/run-application/configure-pdb/
(minAvailable / maxUnavailable, percentages rounded up, expected Pods from the controller's scale).
"""

from __future__ import annotations

import pytest

from fromscratch.api.disruption import budget_status
from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import PODS, REPLICASETS, ResourceClient
from fromscratch.controllers.disruption import PDBS, DisruptionController
from tests.controllers.helpers import wait_for

NOW = 1_700_000_000.0


def pod(name: str, ready: bool = True, labels: dict | None = None, deleting: bool = False) -> dict:
    meta = {"name": name, "namespace": "ns", "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2023-11-14T22:13:20Z"
    return {"metadata": meta, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def budget(**spec) -> dict:
    return {"metadata": {"name": "web", "namespace": "ns", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


# --- the documented arithmetic -------------------------------------------------------------------
@pytest.mark.parametrize("spec, scale, expected", [
    # minAvailable 2 with 3 of the 5 selected Pods healthy: one may go (a plain number counts
    # every selected Pod as expected, unready and terminating ones too)
    ({"minAvailable": 2}, None, {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 5,
                                 "disruptionsAllowed": 1}),
    # minAvailable 50% of a scale of 5 -> 3 (rounded up)
    ({"minAvailable": "50%"}, 5, {"currentHealthy": 3, "desiredHealthy": 3, "expectedPods": 5,
                                   "disruptionsAllowed": 0}),
    # maxUnavailable 1 of a scale of 3 -> 2 must stay
    ({"maxUnavailable": 1}, 3, {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
                                 "disruptionsAllowed": 1}),
    # a percentage without a known controller: nothing may go (fail safe)
    ({"maxUnavailable": "50%"}, None, {"disruptionsAllowed": 0}),
])
def test_budget_status_follows_the_documentation(spec, scale, expected):
    pods = [pod("a"), pod("b"), pod("c"), pod("sick", ready=False), pod("gone", deleting=True),
            pod("other", labels={"app": "db"})]
    status = budget_status(budget(**spec), pods, now=NOW, controller_scale=lambda _p: scale)
    assert {k: status[k] for k in expected} == expected


def test_recently_evicted_pods_do_not_count_until_they_time_out():
    pods = [pod("a"), pod("b"), pod("c")]
    fresh = budget_status(budget(minAvailable=1), pods, now=NOW, disrupted={"a": NOW - 10})
    assert (fresh["currentHealthy"], fresh["disruptedPods"]) == (2, {"a": NOW - 10})
    stale = budget_status(budget(minAvailable=1), pods, now=NOW, disrupted={"a": NOW - 300})
    assert (stale["currentHealthy"], stale["disruptedPods"]) == (3, {})


# --- the controller ------------------------------------------------------------------------------
@pytest.fixture
def manager(api, ns):
    with ControllerManager(api, controllers=[DisruptionController], namespace=ns) as running:
        yield running


def test_the_controller_writes_status_and_follows_readiness(api, ns, manager):
    labels = {"app": "web"}
    rs = ResourceClient(api, REPLICASETS).create(ns, {"metadata": {"name": "web"}, "spec": {
        "replicas": 4, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
             "uid": rs["metadata"]["uid"], "controller": True}
    pods = ResourceClient(api, PODS)
    for index in range(4):
        made = pods.create(ns, {"metadata": {"name": f"web-{index}", "labels": labels,
                                             "ownerReferences": [owner]},
                                "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        made["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        pods.update_status(made)
    budgets = ResourceClient(api, PDBS)
    budgets.create(ns, {"metadata": {"name": "web"}, "spec": {
        "maxUnavailable": "25%", "selector": {"matchLabels": labels}}})

    def status() -> dict:
        return budgets.get(ns, "web").get("status") or {}

    wait_for(lambda: status().get("disruptionsAllowed") == 1, message="one disruption allowed")
    assert (status()["expectedPods"], status()["desiredHealthy"]) == (4, 3)
    assert status()["conditions"][0]["reason"] == "SufficientPods"
    sick = pods.get(ns, "web-0")
    sick["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    pods.update_status(sick)
    wait_for(lambda: status().get("currentHealthy") == 3 and status()["disruptionsAllowed"] == 0,
             message="no disruption left")
    assert status()["conditions"][0]["reason"] == "InsufficientPods"

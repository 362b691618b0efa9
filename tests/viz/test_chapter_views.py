"""The pictures of chapters 7 and 8 show what the API and the scheduler actually recorded."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from fromscratch.api.server import APIServer  # noqa: E402
from fromscratch.controllers.client import DEPLOYMENTS, REPLICASETS, ResourceClient  # noqa: E402
from fromscratch.scheduler.scheduler import Decision  # noqa: E402
from fromscratch.viz.flow import flow_diagram  # noqa: E402
from fromscratch.viz.rollout import RolloutRecorder  # noqa: E402
from fromscratch.viz.scheduling import decision_rows  # noqa: E402

DECISION = Decision(
    pod="default/web", node="b",
    rejected={"a": ["Insufficient cpu", "node(s) had untolerated taint {foo: bar}"]},
    scores={"b": {"TaintToleration": 100, "NodeAffinity": 0, "NodeResourcesFit": 80, "total": 380},
            "c": {"TaintToleration": 100, "NodeAffinity": 0, "NodeResourcesFit": 40, "total": 340}},
    message="Successfully assigned default/web to b")


def test_decision_rows_list_every_node_with_its_reasons_or_weighted_scores():
    rows = {row["node"]: row for row in decision_rows(DECISION)}
    assert rows["a"]["verdict"] == "rejected: Insufficient cpu; node(s) had untolerated taint {foo: bar}"
    assert rows["a"]["total"] == ""
    assert rows["b"]["verdict"] == "chosen" and rows["b"]["NodeResourcesFit"] == "80 × 1"
    assert rows["b"]["TaintToleration"] == "100 × 3" and rows["b"]["total"] == "380"
    assert rows["c"]["verdict"] == "feasible"


def test_a_flow_diagram_needs_stages():
    with pytest.raises(ValueError, match="at least one stage"):
        flow_diagram([], show=False)
    fig = flow_diagram([("queue", "pop"), ("filter", "no"), ("score", "best")], show=False)
    assert len(fig.axes[0].patches) == 3


def _replicaset(name: str, owner: dict, replicas: int, ready: int, revision: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "annotations": {"deployment.kubernetes.io/revision": revision},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": owner["metadata"]["name"],
                                              "uid": owner["metadata"]["uid"], "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {"replicas": replicas, "readyReplicas": ready}}


def test_the_recorder_samples_only_the_deployments_own_replica_sets():
    with APIServer() as server:
        api = server.client()
        deployment = ResourceClient(api, DEPLOYMENTS).create("default", {
            "metadata": {"name": "web"}, "spec": {
                "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        rs_api = ResourceClient(api, REPLICASETS)
        for name, replicas, ready, revision in (("web-old", 1, 1, "1"), ("web-new", 3, 2, "2")):
            created = rs_api.create("default", _replicaset(name, deployment, replicas, ready, revision))
            created["status"] = {"replicas": replicas, "readyReplicas": ready}
            rs_api.update_status(created)
        stranger = _replicaset("other", deployment, 5, 5, "9")
        stranger["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
        rs_api.create("default", stranger)
        recorder = RolloutRecorder(api, "default", "web")
        sample = recorder.sample()
        assert sample.sizes == {"web-old": (1, 1), "web-new": (3, 2)}
        assert recorder.revisions == {"web-old": "1", "web-new": "2"}
        assert recorder.plot(replicas=3, max_surge=1, max_unavailable=0, show=False) is not None
        recorder.frame(0, show=False)
        with pytest.raises(IndexError):
            recorder.frame(1, show=False)


def test_an_empty_recording_cannot_be_drawn():
    with APIServer() as server:
        recorder = RolloutRecorder(server.client(), "default", "web")
        with pytest.raises(ValueError, match="no samples"):
            recorder.plot(show=False)

"""Pod priority: PriorityClasses, and the Priority admission plugin that resolves them.

The rules: https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/
(value at most one billion for user classes, one globalDefault, the two system classes,
``priorityClassName`` → ``spec.priority`` at Pod creation, an unknown class refused).
"""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from fromscratch.api.admission_plugins import enable_admission_plugins


@pytest.fixture(scope="module", autouse=True)
def plugins(server):
    return enable_admission_plugins(server, ["Priority"])


@pytest.fixture(scope="module")
def scheduling(server):
    from kubernetes import client

    return client.SchedulingV1Api(server.client())


def pod(core, ns: str, name: str, **spec) -> dict:
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}
    return core.api_client.sanitize_for_serialization(core.create_namespaced_pod(ns, body))


def status_of(err: ApiException) -> dict:
    return json.loads(err.body)


def test_kubectl_creates_a_class_and_a_pod_gets_its_value(kubectl, core, ns):
    kubectl("create", "priorityclass", "batch-high", "--value=1000", "--description=urgent batch")
    try:
        created = pod(core, ns, "urgent", priorityClassName="batch-high")
        assert created["spec"]["priority"] == 1000
        assert created["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
        assert pod(core, ns, "plain")["spec"]["priority"] == 0  # no class, no default: zero
    finally:
        kubectl("delete", "priorityclass", "batch-high")


def test_an_unknown_class_is_refused_with_403(core, ns):
    with pytest.raises(ApiException) as caught:
        pod(core, ns, "lost", priorityClassName="nope")
    assert caught.value.status == 403
    assert status_of(caught.value)["message"] == \
        'pods "lost" is forbidden: no PriorityClass with name nope was found'


def test_the_system_classes_are_known_without_objects(core, ns):
    assert pod(core, ns, "critical", priorityClassName="system-node-critical")["spec"]["priority"] \
        == 2_000_001_000


def test_a_priority_in_the_spec_must_agree_with_the_class(core, ns):
    with pytest.raises(ApiException) as caught:
        pod(core, ns, "liar", priority=5)
    assert caught.value.status == 403 and "computed 0" in status_of(caught.value)["message"]


def test_the_global_default_applies_and_only_one_may_exist(scheduling, core, ns):
    scheduling.create_priority_class({"metadata": {"name": "everyone"}, "value": 7,
                                      "globalDefault": True, "preemptionPolicy": "Never"})
    try:
        created = pod(core, ns, "defaulted")
        assert (created["spec"]["priority"], created["spec"]["priorityClassName"],
                created["spec"]["preemptionPolicy"]) == (7, "everyone", "Never")
        with pytest.raises(ApiException) as caught:
            scheduling.create_priority_class({"metadata": {"name": "second"}, "value": 8,
                                              "globalDefault": True})
        assert caught.value.status == 422 and "already marked as default" in caught.value.body
    finally:
        scheduling.delete_priority_class("everyone")


def test_user_classes_stop_at_one_billion(scheduling):
    with pytest.raises(ApiException) as caught:
        scheduling.create_priority_class({"metadata": {"name": "greedy"}, "value": 1_000_000_001})
    assert caught.value.status == 422 and "1000000000" in caught.value.body

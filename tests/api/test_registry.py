"""The registry's rules, called directly: defaulting, validation, generation, deletion."""

from __future__ import annotations

import pytest

from fromscratch.api.admission import AdmissionChain
from fromscratch.api.errors import APIError
from fromscratch.api.kinds import KindRegistry
from fromscratch.api.namespaces import create_initial_namespaces, namespace_lifecycle
from fromscratch.api.registry import Registry
from fromscratch.api.store import open_store
from tests.api.helpers import deployment, job, pod

NOW = 1_700_000_000.0  # a fixed clock: timestamps are exact


@pytest.fixture
def registry() -> Registry:
    kinds = KindRegistry()
    admission = AdmissionChain()
    reg = Registry(open_store("memory"), kinds, admission=admission, clock=lambda: NOW)
    admission.add_validating("NamespaceLifecycle", namespace_lifecycle(reg))
    create_initial_namespaces(reg)
    return reg


def kind(registry: Registry, group: str, plural: str, version: str = "v1"):
    return registry.kinds.lookup(group, version, plural)


def invalid_fields(excinfo) -> dict[str, str]:
    err = excinfo.value
    assert (err.code, err.reason) == (422, "Invalid")
    return {c["field"]: c["reason"] for c in err.details["causes"]}


def test_create_sets_uid_timestamp_generation_and_resets_status(registry):
    body = deployment("web")
    body["status"] = {"replicas": 5}
    created = registry.create(kind(registry, "apps", "deployments"), "default", body)
    meta = created["metadata"]
    assert meta["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert meta["generation"] == 1 and len(meta["uid"]) == 36
    assert created["status"] == {}


def test_selector_must_match_template_labels(registry):
    body = deployment("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "apps", "deployments"), "default", body)
    assert invalid_fields(err) == {"spec.template.metadata.labels": "FieldValueInvalid"}


def test_selector_is_immutable(registry):
    deployments = kind(registry, "apps", "deployments")
    created = registry.create(deployments, "default", deployment("web"))
    created["spec"]["selector"] = {"matchLabels": {"app": "web", "x": "y"}}
    created["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    with pytest.raises(APIError) as err:
        registry.update(deployments, "default", "web", created)
    assert invalid_fields(err) == {"spec.selector": "FieldValueForbidden"}


def test_job_pods_may_not_restart_always(registry):
    body = job("j")
    del body["spec"]["template"]["spec"]["restartPolicy"]  # defaulted to Always
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "batch", "jobs"), "default", body)
    assert invalid_fields(err) == {"spec.template.spec.restartPolicy": "FieldValueNotSupported"}


@pytest.mark.parametrize("name,labels,field", [
    ("UPPER", {}, "metadata.name"),
    ("ok", {"app": "x" * 64}, "metadata.labels[app]"),
    ("ok", {"bad key!": "v"}, "metadata.labels"),
])
def test_names_and_labels_follow_the_kubernetes_rules(registry, name, labels, field):
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "", "configmaps"), "default",
                        {"metadata": {"name": name, "labels": labels}})
    assert field in invalid_fields(err)


def test_namespace_names_are_dns_labels(registry):
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "", "namespaces"), "", {"metadata": {"name": "a.b"}})
    assert "metadata.name" in invalid_fields(err)


def test_service_ports_are_checked(registry):
    body = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 70000}]}}
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "", "services"), "default", body)
    assert invalid_fields(err) == {"spec.ports[0].port": "FieldValueInvalid"}


@pytest.mark.parametrize("resources,qos", [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
    ({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
     "Burstable"),
])
def test_pod_qos_class_is_computed_on_create(registry, resources, qos):
    body = pod("p")
    body["spec"]["containers"][0]["resources"] = resources
    created = registry.create(kind(registry, "", "pods"), "default", body)
    assert created["status"] == {"phase": "Pending", "qosClass": qos}


def test_workload_defaults(registry):
    sts = {"metadata": {"name": "db"}, "spec": {
        "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}},
                     "spec": {"containers": [{"name": "c", "image": "postgres:16"}]}}}}
    created = registry.create(kind(registry, "apps", "statefulsets"), "default", sts)
    spec = created["spec"]
    assert (spec["replicas"], spec["podManagementPolicy"], spec["updateStrategy"]) == (
        1, "OrderedReady", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


def test_unchanged_update_writes_nothing(registry):
    configmaps = kind(registry, "", "configmaps")
    created = registry.create(configmaps, "default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    before = registry.store.current_rv()
    again = registry.update(configmaps, "default", "c", created)
    assert again == created and registry.store.current_rv() == before


def test_dry_run_create_and_delete_change_nothing(registry):
    configmaps = kind(registry, "", "configmaps")
    before = registry.store.current_rv()
    registry.create(configmaps, "default", {"metadata": {"name": "dry"}}, dry_run=True)
    assert registry.store.current_rv() == before
    registry.create(configmaps, "default", {"metadata": {"name": "real"}})
    registry.delete(configmaps, "default", "real", dry_run=True)
    assert registry.get(configmaps, "default", "real")["metadata"]["name"] == "real"


def test_foreground_deletion_waits_for_the_garbage_collector(registry):
    deployments = kind(registry, "apps", "deployments")
    registry.create(deployments, "default", deployment("web"))
    obj, gone = registry.delete(deployments, "default", "web", {"propagationPolicy": "Foreground"})
    assert not gone
    assert obj["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert obj["metadata"]["deletionTimestamp"] == "2023-11-14T22:13:20Z"


def test_owner_references_are_recorded(registry):
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1",
             "controller": True}
    body = pod("child")
    body["metadata"]["ownerReferences"] = [owner]
    created = registry.create(kind(registry, "", "pods"), "default", body)
    assert created["metadata"]["ownerReferences"] == [owner]


def test_objects_need_an_existing_namespace(registry):
    with pytest.raises(APIError) as err:
        registry.create(kind(registry, "", "configmaps"), "nowhere", {"metadata": {"name": "c"}})
    assert (err.value.code, err.value.message) == (404, 'namespaces "nowhere" not found')


def test_status_update_changes_only_status(registry):
    deployments = kind(registry, "apps", "deployments")
    created = registry.create(deployments, "default", deployment("web"))
    created["status"] = {"replicas": 2}
    created["spec"]["replicas"] = 9
    updated = registry.update(deployments, "default", "web", created, subresource="status")
    assert updated["status"] == {"replicas": 2} and updated["spec"]["replicas"] == 2
    assert updated["metadata"]["generation"] == 1

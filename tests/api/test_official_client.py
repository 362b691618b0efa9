"""The official ``kubernetes`` Python client, unchanged, against our API server."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, utils, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from tests.api.helpers import deployment, manifests, pod


def status_of(err: ApiException) -> dict:
    return json.loads(err.body)


@pytest.fixture(scope="module")
def dynamic(server) -> DynamicClient:
    return DynamicClient(server.client())


@pytest.mark.parametrize("index", range(len(manifests("x"))),
                         ids=[m["kind"] for m in manifests("x")])
def test_crud_on_every_builtin_kind_through_the_dynamic_client(dynamic, ns, index):
    # create, get, list, replace, patch, delete: the same verbs for every kind
    body = manifests(f"obj-{ns}")[index]
    resource = dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    scope = {"namespace": ns} if resource.namespaced else {}
    created = resource.create(body=body, **scope)
    name = created.metadata.name
    assert created.metadata.uid and created.metadata.resourceVersion
    got = resource.get(name=name, **scope)
    assert got.metadata.uid == created.metadata.uid
    listed = resource.get(**scope)
    assert name in [item.metadata.name for item in listed.items]
    replaced_body = got.to_dict()
    replaced_body["metadata"].setdefault("labels", {})["replaced"] = "yes"
    replaced = resource.replace(body=replaced_body, **scope)
    assert replaced.metadata.labels["replaced"] == "yes"
    patched = resource.patch(name=name, body={"metadata": {"annotations": {"a": "b"}}},
                             content_type="application/merge-patch+json", **scope)
    assert patched.metadata.annotations["a"] == "b"
    resource.delete(name=name, **scope)
    with pytest.raises(ApiException) as err:
        resource.get(name=name, **scope)
    assert err.value.status == 404


def test_create_returns_server_filled_metadata_and_defaults(apps, ns):
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert created.metadata.generation == 1
    assert created.metadata.creation_timestamp is not None
    strategy = created.spec.strategy
    assert (strategy.type, strategy.rolling_update.max_surge,
            strategy.rolling_update.max_unavailable) == ("RollingUpdate", "25%", "25%")
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"


def test_generate_name_gets_a_random_suffix(core, ns):
    body = pod("")
    body["metadata"] = {"generateName": "worker-"}
    names = {core.create_namespaced_pod(ns, body).metadata.name for _ in range(3)}
    assert len(names) == 3
    assert all(n.startswith("worker-") and len(n) == len("worker-") + 5 for n in names)


def test_error_statuses_carry_code_and_reason(core, ns):
    core.create_namespaced_pod(ns, pod("dup"))
    cases = [
        (lambda: core.read_namespaced_pod("missing", ns), 404, "NotFound"),
        (lambda: core.create_namespaced_pod(ns, pod("dup")), 409, "AlreadyExists"),
        (lambda: core.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod",
                                                 "metadata": {"name": "x"},
                                                 "spec": {"containers": []}}),
         422, "Invalid"),
        (lambda: core.list_namespaced_pod(ns, label_selector="a in (b"), 400, "BadRequest"),
        (lambda: core.create_namespaced_pod("no-such-namespace", pod("p")), 404, "NotFound"),
    ]
    for call, code, reason in cases:
        with pytest.raises(ApiException) as err:
            call()
        status = status_of(err.value)
        assert (err.value.status, status["kind"], status["code"], status["reason"]) == (
            code, "Status", code, reason)


def test_invalid_names_each_bad_field_in_details_causes(core, ns):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"},
            "spec": {"containers": [{"name": "main"}]}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(ns, body)
    causes = {(c["field"], c["reason"]) for c in status_of(err.value)["details"]["causes"]}
    assert causes == {("metadata.name", "FieldValueInvalid"),
                      ("spec.containers[0].image", "FieldValueRequired")}


def test_update_with_stale_resource_version_is_409_conflict(core, ns):
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"v": "1"}})
    first.data = {"v": "2"}
    core.replace_namespaced_config_map("cm", ns, first)
    first.data = {"v": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("cm", ns, first)
    assert (err.value.status, status_of(err.value)["reason"]) == (409, "Conflict")
    assert core.read_namespaced_config_map("cm", ns).data == {"v": "2"}


def test_generation_bumps_on_spec_changes_only(apps, ns):
    apps.create_namespaced_deployment(ns, deployment("gen"))
    labelled = apps.patch_namespaced_deployment("gen", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", ns, {"spec": {"replicas": 4}})
    assert scaled.metadata.generation == 2


def test_an_update_that_changes_nothing_keeps_the_resource_version(core, ns):
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "same"},
                                                     "data": {"a": "1"}})
    again = core.patch_namespaced_config_map("same", ns, {"data": {"a": "1"}})
    assert again.metadata.resource_version == created.metadata.resource_version


def test_strategic_merge_patch_merges_containers_by_name(core, ns):
    body = pod("two")
    body["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    core.create_namespaced_pod(ns, body)
    # the client's default patch is a strategic merge patch: only "sidecar" changes
    patched = core.patch_namespaced_pod("two", ns, {"spec": {"containers": [
        {"name": "sidecar", "image": "busybox:1.36"}]}})
    assert [(c.name, c.image) for c in patched.spec.containers] == [
        ("main", "nginx:1.27"), ("sidecar", "busybox:1.36")]


def test_merge_and_json_patches(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}})
    # RFC 7386: null deletes a key
    core.patch_namespaced_config_map("p", ns, {"data": {"a": None, "c": "3"}},
                                     _content_type="application/merge-patch+json")
    # RFC 6902: a list of operations
    core.patch_namespaced_config_map("p", ns, [{"op": "replace", "path": "/data/b",
                                                "value": "two"}],
                                     _content_type="application/json-patch+json")
    assert core.read_namespaced_config_map("p", ns).data == {"b": "two", "c": "3"}


def test_a_failed_json_patch_test_changes_nothing(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "t"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("t", ns, [
            {"op": "replace", "path": "/data/a", "value": "2"},
            {"op": "test", "path": "/data/a", "value": "1"}])
    assert 400 <= err.value.status < 500
    assert core.read_namespaced_config_map("t", ns).data == {"a": "1"}


def test_list_filters_by_label_and_field_selectors(core, ns):
    for name, labels in [("a", {"app": "web", "tier": "fe"}), ("b", {"app": "web"}),
                         ("c", {"app": "db"})]:
        core.create_namespaced_pod(ns, pod(name, labels))

    def names(**kw) -> list[str]:
        return [p.metadata.name for p in core.list_namespaced_pod(ns, **kw).items]

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app in (web,db),!tier") == ["b", "c"]
    assert names(field_selector="metadata.name=c") == ["c"]
    assert names(field_selector="status.phase=Pending,metadata.name!=a") == ["b", "c"]
    with pytest.raises(ApiException) as err:
        names(field_selector="spec.bogus=1")
    assert err.value.status == 400 and "field label not supported" in status_of(err.value)["message"]


def test_list_pages_with_limit_and_continue(core, ns):
    for i in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i}"}})
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        seen += [c.metadata.name for c in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"cm-{i}" for i in range(7)] and pages == 3


def test_list_across_namespaces(core, server, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "here"}})
    everywhere = core.list_config_map_for_all_namespaces()
    assert ("here", ns) in [(c.metadata.name, c.metadata.namespace) for c in everywhere.items]


def test_watch_streams_added_modified_deleted(core, ns):
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w"}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("w", ns, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("w", ns)
    stream = watch.Watch().stream(core.list_namespaced_config_map, ns,
                                  resource_version=start, timeout_seconds=2)
    events = [(e["type"], e["object"].data) for e in stream]
    assert events == [("ADDED", {"v": "1"}), ("MODIFIED", {"v": "2"}), ("DELETED", {"v": "2"})]


def test_watch_resumes_from_the_last_seen_resource_version(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "r1"}})
    w = watch.Watch()
    first = next(iter(w.stream(core.list_namespaced_config_map, ns, timeout_seconds=2)))
    w.stop()
    last_seen = first["object"].metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "r2"}})
    resumed = [e["object"].metadata.name for e in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=last_seen, timeout_seconds=1)]
    assert resumed == ["r2"]


def test_watch_from_a_compacted_resource_version_gets_410_gone():
    from fromscratch.api.server import APIServer

    with APIServer(history=5) as srv:
        core = client.CoreV1Api(srv.client())
        for i in range(10):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        # 410 Gone: that resourceVersion was compacted away; the client must relist
        with pytest.raises(ApiException) as err:
            for _ in watch.Watch().stream(core.list_namespaced_config_map, "default",
                                          resource_version="1", timeout_seconds=2):
                pass
        assert err.value.status == 410 and "Expired" in err.value.reason


def test_selector_watch_reports_objects_leaving_the_selection_as_deleted(core, ns):
    core.create_namespaced_pod(ns, pod("mover", {"app": "web"}))
    start = core.list_namespaced_pod(ns).metadata.resource_version
    core.patch_namespaced_pod("mover", ns, {"metadata": {"labels": {"app": "db"}}})
    core.patch_namespaced_pod("mover", ns, {"metadata": {"labels": {"app": "web"}}})
    events = [e["type"] for e in watch.Watch().stream(
        core.list_namespaced_pod, ns, label_selector="app=web", resource_version=start,
        timeout_seconds=1)]
    assert events == ["DELETED", "ADDED"]


def test_watch_sends_bookmarks_when_asked(core, ns):
    # the fixture server sends a bookmark after 0.3 s of silence
    kinds = [e["type"] for e in watch.Watch().stream(
        core.list_namespaced_config_map, ns, allow_watch_bookmarks=True, timeout_seconds=1)]
    assert "BOOKMARK" in kinds


def test_scale_subresource_reads_and_sets_replicas(apps, ns):
    apps.create_namespaced_deployment(ns, deployment("sc", replicas=2))
    scale = apps.read_namespaced_deployment_scale("sc", ns)
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=sc")
    apps.patch_namespaced_deployment_scale("sc", ns, {"spec": {"replicas": 6}})
    assert apps.read_namespaced_deployment("sc", ns).spec.replicas == 6


def test_status_subresource_is_the_only_way_to_write_status(apps, ns):
    apps.create_namespaced_deployment(ns, deployment("st"))
    ignored = apps.patch_namespaced_deployment("st", ns, {"status": {"replicas": 9}})
    assert ignored.status.replicas is None
    written = apps.patch_namespaced_deployment_status("st", ns, {"status": {"replicas": 9},
                                                                "spec": {"replicas": 7}})
    assert (written.status.replicas, written.spec.replicas) == (9, 2)


def test_finalizers_hold_deletion_until_removed(core, ns):
    body = {"metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}}
    core.create_namespaced_config_map(ns, body)
    core.delete_namespaced_config_map("held", ns)
    held = core.read_namespaced_config_map("held", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("held", ns)
    assert err.value.status == 404


def test_delete_collection_with_a_label_selector(core, ns):
    for name, team in [("a", "x"), ("b", "x"), ("c", "y")]:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"team": team}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="team=x")
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == ["c"]


def test_job_gets_a_generated_selector_and_pod_labels(server, ns):
    from tests.api.helpers import job

    created = client.BatchV1Api(server.client()).create_namespaced_job(ns, job("j"))
    uid = created.metadata.uid
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.spec.template.metadata.labels["batch.kubernetes.io/job-name"] == "j"
    assert created.spec.backoff_limit == 6 and created.spec.completions == 1


def test_hpa_is_served_as_v1_and_v2(server, ns):
    v1 = client.AutoscalingV1Api(server.client())
    v2 = client.AutoscalingV2Api(server.client())
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    v1.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "h"}, "spec": {"scaleTargetRef": target, "maxReplicas": 4,
                                            "targetCPUUtilizationPercentage": 70}})
    as_v2 = v2.read_namespaced_horizontal_pod_autoscaler("h", ns)
    metric = as_v2.spec.metrics[0]
    assert (metric.resource.name, metric.resource.target.average_utilization) == ("cpu", 70)
    assert v1.read_namespaced_horizontal_pod_autoscaler("h", ns).spec \
        .target_cpu_utilization_percentage == 70


def test_create_from_yaml(server, ns, tmp_path):
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"
        "---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n"
        "  selector: {matchLabels: {app: app}}\n"
        "  template:\n    metadata: {labels: {app: app}}\n"
        "    spec: {containers: [{name: main, image: nginx}]}\n")
    utils.create_from_yaml(server.client(), str(manifest), namespace=ns)
    assert client.AppsV1Api(server.client()).read_namespaced_deployment("app", ns).spec.replicas == 1
    assert client.CoreV1Api(server.client()).read_namespaced_config_map(
        "settings", ns).data == {"mode": "fast"}


def test_service_gets_a_cluster_ip_from_the_service_range(core, ns):
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": {
        "selector": {"app": "s"}, "ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip.startswith("10.") and svc.spec.ports[0].target_port == 80


def test_deleting_a_namespace_deletes_its_contents(core):
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "c"}})
    core.delete_namespace("doomed")
    with pytest.raises(ApiException) as err:
        core.read_namespace("doomed")
    assert err.value.status == 404
    assert core.list_namespaced_config_map("doomed").items == []


def test_a_terminating_namespace_refuses_new_objects(core):
    core.create_namespace({"metadata": {"name": "closing"}})
    core.create_namespaced_config_map("closing", {"metadata": {"name": "held", "finalizers": [
        "example.com/wait"]}})
    core.delete_namespace("closing")
    assert core.read_namespace("closing").status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("closing", {"metadata": {"name": "new"}})
    assert (err.value.status, status_of(err.value)["reason"]) == (403, "Forbidden")
    # the last finalizer goes, the object goes, and the namespace with it
    core.patch_namespaced_config_map("held", "closing", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException):
        core.read_namespace("closing")


def test_a_pod_on_a_node_is_deleted_gracefully(core, ns):
    body = pod("bound")
    body["spec"]["nodeName"] = "node-1"
    core.create_namespaced_pod(ns, body)
    core.delete_namespaced_pod("bound", ns)
    terminating = core.read_namespaced_pod("bound", ns)
    assert terminating.metadata.deletion_grace_period_seconds == 30
    # the kubelet confirms with grace period 0 once the containers are gone
    core.delete_namespaced_pod("bound", ns, grace_period_seconds=0)
    with pytest.raises(ApiException):
        core.read_namespaced_pod("bound", ns)

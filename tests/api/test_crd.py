"""CustomResourceDefinitions: a new kind appears in discovery and is served like a built-in."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.api.helpers import raw_request

GROUP, VERSION, PLURAL = "course.fromscratch.dev", "v1", "widgets"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP, "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget",
                  "shortNames": ["wd"]},
        "versions": [{
            "name": VERSION, "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "required": ["size"], "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "color": {"type": "string", "enum": ["red", "blue"]},
                    "replicas": {"type": "integer"}}},
                "status": {"type": "object", "properties": {
                    "replicas": {"type": "integer"}, "selector": {"type": "string"}}}}}},
            "subresources": {"status": {}, "scale": {
                "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector"}},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
        }],
    },
}


def widget(name: str, size: int = 3, **spec) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": size, **spec}}


@pytest.fixture(scope="module")
def custom(server):
    extensions = client.ApiextensionsV1Api(server.client())
    extensions.create_custom_resource_definition(CRD)
    return client.CustomObjectsApi(server.client())


def test_crd_is_established_and_appears_in_discovery(server, custom, kubectl):
    crd = client.ApiextensionsV1Api(server.client()).read_custom_resource_definition(
        f"{PLURAL}.{GROUP}")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    resources = kubectl("api-resources", "--api-group", GROUP).stdout
    assert "widgets" in resources and "wd" in resources


def test_custom_objects_support_crud_and_list(custom, ns):
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, widget("w1"))
    got = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1")
    assert got["spec"] == {"size": 3} and got["metadata"]["uid"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1",
                                          {"spec": {"color": "red"}})
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
    assert [i["spec"].get("color") for i in listed["items"]] == ["red"]
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1")
    assert custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"] == []


def test_schema_violations_are_422_with_a_cause_per_field(custom, ns):
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, widget("bad", size=0, color="green"))
    status = json.loads(err.value.body)
    assert (err.value.status, status["reason"]) == (422, "Invalid")
    fields = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    assert fields == {"spec.size": "FieldValueInvalid", "spec.color": "FieldValueNotSupported"}


def test_strategic_merge_patch_is_refused_for_custom_resources(server, custom, ns):
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, widget("smp"))
    code, status = raw_request(
        server, "PATCH", f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}/smp",
        {"spec": {"size": 4}}, {"Content-Type": "application/strategic-merge-patch+json"})
    assert (code, status["reason"]) == (415, "UnsupportedMediaType")


def test_status_and_scale_subresources(custom, ns):
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, widget("sc", replicas=1))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, PLURAL, "sc", {"status": {"replicas": 1, "selector": "app=sc"}})
    scale = custom.get_namespaced_custom_object_scale(GROUP, VERSION, ns, PLURAL, "sc")
    assert (scale["spec"]["replicas"], scale["status"]["selector"]) == (1, "app=sc")
    custom.patch_namespaced_custom_object_scale(GROUP, VERSION, ns, PLURAL, "sc",
                                                {"spec": {"replicas": 5}})
    got = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "sc")
    assert got["spec"]["replicas"] == 5 and got["status"]["replicas"] == 1


def test_custom_objects_can_be_watched(custom, ns):
    start = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)[
        "metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, widget("seen"))
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in watch.Watch().stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
        resource_version=start, timeout_seconds=1)]
    assert events == [("ADDED", "seen")]


def test_kubectl_prints_the_additional_printer_columns(custom, ns, kubectl):
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, widget("printed", size=7))
    header, row = kubectl("-n", ns, "get", "wd").stdout.splitlines()[:2]
    assert header.split() == ["NAME", "SIZE", "AGE"] and row.split()[:2] == ["printed", "7"]


def test_deleting_the_crd_stops_serving_its_objects(server):
    extensions = client.ApiextensionsV1Api(server.client())
    crd = json.loads(json.dumps(CRD).replace("widgets", "gadgets").replace("Widget", "Gadget")
                     .replace('"widget"', '"gadget"').replace('"wd"', '"gd"'))
    extensions.create_custom_resource_definition(crd)
    custom = client.CustomObjectsApi(server.client())
    body = widget("g1")
    body["kind"] = "Gadget"
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", "gadgets", body)
    extensions.delete_custom_resource_definition(f"gadgets.{GROUP}")
    with pytest.raises(ApiException) as err:
        custom.list_namespaced_custom_object(GROUP, VERSION, "default", "gadgets")
    assert err.value.status == 404


def test_a_crd_named_wrongly_is_invalid(server):
    bad = json.loads(json.dumps(CRD))
    bad["metadata"]["name"] = "wrong.name.dev"
    with pytest.raises(ApiException) as err:
        client.ApiextensionsV1Api(server.client()).create_custom_resource_definition(bad)
    assert err.value.status == 422


def test_fields_the_schema_does_not_declare_are_pruned(custom, ns):
    body = widget("pruned")
    body["spec"]["unknown"] = "dropped"
    body["extra"] = {"also": "dropped"}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert created["spec"] == {"size": 3} and "extra" not in created


def test_kubectl_strict_field_validation_refuses_unknown_fields(custom, kubectl, ns, tmp_path):
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(f"apiVersion: {GROUP}/{VERSION}\nkind: Widget\n"
                        "metadata: {name: typo}\nspec: {size: 2, colour: red}\n")
    refused = kubectl("-n", ns, "apply", "-f", str(manifest), check=False)
    assert refused.returncode != 0 and 'unknown field "spec.colour"' in refused.stderr
    # --validate=warn: stored (pruned) with a warning
    warned = kubectl("-n", ns, "apply", "--validate=warn", "-f", str(manifest))
    assert 'unknown field "spec.colour"' in warned.stderr
    stored = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "typo")
    assert stored["spec"] == {"size": 2}

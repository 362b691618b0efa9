"""Strategic merge patch: merge keys, directives, ordering, and the patches kubectl computes.

Scenarios come from the Kubernetes docs task "Update API Objects in Place Using
kubectl patch" and from the directive semantics of apimachinery's strategicpatch.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fromscratch import exercises
from fromscratch.api.patch import (
    STRATEGIC_MERGE_PATCH,
    PatchError,
    apply_patch,
    apply_patch_for,
    last_applied,
    merge_patch,
    strategic_merge_patch,
    three_way_merge,
    two_way_merge,
    update_conflicts,
    with_last_applied,
)
from fromscratch.api.patch.preconditions import InvalidResourceVersion

# the docs' patch-demo Deployment
PATCH_DEMO = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patch-demo"},
    "spec": {"replicas": 2, "template": {"spec": {
        "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
        "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
    }}},
}


def containers(obj):
    return obj["spec"]["template"]["spec"]["containers"]


def test_docs_strategic_patch_adds_a_container_in_front():
    # docs: after the patch, patch-demo-ctr-2 (redis) is listed before patch-demo-ctr (nginx)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-2", "image": "redis"}]}}}}
    out = strategic_merge_patch(PATCH_DEMO, patch, "Deployment")
    assert [c["name"] for c in containers(out)] == ["patch-demo-ctr-2", "patch-demo-ctr"]
    assert containers(PATCH_DEMO) == [{"name": "patch-demo-ctr", "image": "nginx"}]


def test_docs_tolerations_have_no_merge_key_and_are_replaced():
    patch = {"spec": {"template": {"spec": {"tolerations": [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}}}}
    out = strategic_merge_patch(PATCH_DEMO, patch, "Deployment")
    assert out["spec"]["template"]["spec"]["tolerations"] == [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]


def test_docs_json_merge_patch_replaces_the_container_list():
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}]}}}}
    out = merge_patch(PATCH_DEMO, patch)
    assert [c["name"] for c in containers(out)] == ["patch-demo-ctr-3"]


def test_docs_retain_keys_clears_the_rolling_update_block():
    # docs: retainkeys-demo, strategy {rollingUpdate: {maxSurge: 30%}} -> Recreate
    deploy = {"kind": "Deployment", "spec": {"strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}}}
    plain = strategic_merge_patch(deploy, {"spec": {"strategy": {"type": "Recreate"}}},
                                  "Deployment")
    assert plain["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "30%"}
    retained = strategic_merge_patch(
        deploy, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "Deployment")
    assert retained["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_rejects_a_patch_field_it_does_not_list():
    with pytest.raises(PatchError, match="retainKeys"):
        strategic_merge_patch({"kind": "Deployment", "spec": {"strategy": {}}},
                              {"spec": {"strategy": {"$retainKeys": ["type"], "x": 1}}},
                              "Deployment")


POD = {
    "kind": "Pod", "metadata": {"name": "web", "finalizers": ["a", "b"], "labels": {"app": "web"}},
    "spec": {"containers": [
        {"name": "web", "image": "nginx:1.25",
         "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
         "env": [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "0"}]},
        {"name": "log", "image": "busybox"},
    ]},
}


def test_nested_lists_merge_by_their_own_keys():
    # containers by name, then ports by containerPort and env by name inside it
    patch = {"spec": {"containers": [{"name": "web", "image": "nginx:1.26",
                                      "ports": [{"containerPort": 80, "name": "web"}],
                                      "env": [{"name": "DEBUG", "value": "1"}]}]}}
    out = strategic_merge_patch(POD, patch, "Pod")
    web = out["spec"]["containers"][0]
    assert web["image"] == "nginx:1.26"
    assert web["ports"] == [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]
    assert web["env"] == [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "1"}]
    assert out["spec"]["containers"][1] == {"name": "log", "image": "busybox"}


def test_patch_delete_directive_removes_one_element():
    patch = {"spec": {"containers": [{"$patch": "delete", "name": "log"}]}}
    out = strategic_merge_patch(POD, patch, "Pod")
    assert [c["name"] for c in out["spec"]["containers"]] == ["web"]


def test_patch_replace_directive_in_a_list_replaces_it():
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}
    out = strategic_merge_patch(POD, patch, "Pod")
    assert out["spec"]["containers"] == [{"name": "only", "image": "x"}]


def test_patch_replace_and_delete_directives_on_maps():
    out = strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "replace", "x": "y"}}},
                                "Pod")
    assert out["metadata"]["labels"] == {"x": "y"}
    out = strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "delete"}}}, "Pod")
    assert out["metadata"]["labels"] == {}


def test_unknown_directive_is_an_error():
    with pytest.raises(PatchError, match="unknown patch type"):
        strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "explode"}}}, "Pod")
    with pytest.raises(PatchError, match="cannot yet"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"$patch": "merge"}]}}, "Pod")


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list():
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": ["b", "c"]}}, "Pod")
    assert sorted(out["metadata"]["finalizers"]) == ["a", "b", "c"]
    out = strategic_merge_patch(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
                                "Pod")
    assert out["metadata"]["finalizers"] == ["b"]


def test_set_element_order_fixes_the_list_order():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "log"}, {"name": "web"}]}}
    out = strategic_merge_patch(POD, patch, "Pod")
    assert [c["name"] for c in out["spec"]["containers"]] == ["log", "web"]


def test_set_element_order_must_list_the_patched_elements():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "web"}],
                      "containers": [{"name": "new", "image": "x"}]}}
    with pytest.raises(PatchError, match="setElementOrder"):
        strategic_merge_patch(POD, patch, "Pod")


def test_element_without_the_merge_key_is_an_error():
    with pytest.raises(PatchError, match="merge key 'name'"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "x"}]}}, "Pod")


def test_null_deletes_a_field_and_new_fields_lose_their_directives():
    out = strategic_merge_patch(POD, {"metadata": {"labels": None}}, "Pod")
    assert "labels" not in out["metadata"]
    patch = {"spec": {"volumes": [{"name": "a", "emptyDir": {}},
                                  {"$patch": "delete", "name": "gone"}]}}
    out = strategic_merge_patch(POD, patch, "Pod")
    assert out["spec"]["volumes"] == [{"name": "a", "emptyDir": {}}]


def test_owner_references_merge_by_uid_and_conditions_by_type():
    pod = {"kind": "Pod", "metadata": {"ownerReferences": [{"uid": "1", "name": "rs-a"}]},
           "status": {"conditions": [{"type": "Ready", "status": "False"},
                                     {"type": "Initialized", "status": "True"}]}}
    patch = {"metadata": {"ownerReferences": [{"uid": "2", "name": "rs-b"}]},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    out = strategic_merge_patch(pod, patch, "Pod")
    assert {o["uid"] for o in out["metadata"]["ownerReferences"]} == {"1", "2"}
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "Initialized", "status": "True"}]


def test_service_ports_merge_by_port():
    svc = {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090},
                                                         {"port": 443}]}}, "Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_kinds_without_a_schema_get_unsupported_media_type():
    # the real server answers 415 to a strategic merge patch on a custom resource
    with pytest.raises(PatchError) as err:
        strategic_merge_patch({"kind": "Widget"}, {}, "Widget")
    assert err.value.reason == "UnsupportedMediaType"


def test_configmap_has_no_merge_keys_but_accepts_strategic_patches():
    cm = {"kind": "ConfigMap", "data": {"a": "1"}}
    assert apply_patch(cm, b'{"data": {"b": "2"}}', STRATEGIC_MERGE_PATCH)["data"] == {
        "a": "1", "b": "2"}


def test_apply_patch_rejects_unknown_content_types_and_bad_json():
    with pytest.raises(PatchError) as err:
        apply_patch({}, {}, "text/plain")
    assert err.value.reason == "UnsupportedMediaType"
    with pytest.raises(PatchError) as err:
        apply_patch({}, b"{not json", "application/merge-patch+json")
    assert err.value.reason == "BadRequest"


def test_server_list_merging_uses_the_plugged_function():
    def merge_list_by_key(original, patch, merge_key, merge_item):  # wrong: drops the original
        return [p for p in patch if "$patch" not in p]

    patch = {"spec": {"containers": [{"name": "new", "image": "x"}]}}
    with exercises.using(merge_list_by_key):
        out = strategic_merge_patch(POD, patch, "Pod")
    assert [c["name"] for c in out["spec"]["containers"]] == ["new"]


# --- two-way and three-way diffs -----------------------------------------------


def test_two_way_patch_uses_directives_for_removed_elements():
    modified = copy.deepcopy(POD)
    modified["spec"]["containers"] = [modified["spec"]["containers"][0]]
    modified["metadata"]["finalizers"] = ["b"]
    patch = two_way_merge(POD, modified, "Pod")
    assert patch["spec"]["containers"] == [{"name": "log", "$patch": "delete"}]
    assert patch["spec"]["$setElementOrder/containers"] == [{"name": "web"}]
    assert patch["metadata"]["$deleteFromPrimitiveList/finalizers"] == ["a"]
    assert strategic_merge_patch(POD, patch, "Pod") == modified


def test_two_way_patch_of_identical_objects_is_empty():
    assert two_way_merge(POD, copy.deepcopy(POD), "Pod") == {}


def test_two_way_patch_adds_retain_keys_for_the_deployment_strategy():
    old = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    new = {"spec": {"strategy": {"type": "Recreate"}}}
    patch = two_way_merge(old, new, "Deployment")
    assert patch["spec"]["strategy"]["$retainKeys"] == ["type"]
    assert strategic_merge_patch(old, patch, "Deployment") == new


_names = st.sampled_from(["a", "b", "c", "d"])
_container = st.builds(
    lambda name, image, ports: {"name": name, "image": image,
                                "ports": [{"containerPort": p} for p in sorted(set(ports))]},
    _names, st.sampled_from(["nginx", "redis"]), st.lists(st.sampled_from([80, 443, 8080]),
                                                         max_size=3))
_pod = st.builds(
    lambda cs, fins, labels: {"kind": "Pod", "metadata": {"finalizers": sorted(set(fins)),
                                                          "labels": labels},
                              "spec": {"containers": list({c["name"]: c for c in cs}.values())}},
    st.lists(_container, max_size=4), st.lists(_names, max_size=3),
    st.dictionaries(_names, st.sampled_from(["x", "y"]), max_size=2))


@given(_pod, _pod)
def test_two_way_patch_applied_to_original_gives_modified(original, modified):
    # the defining property of CreateTwoWayMergePatch, including list order
    patch = two_way_merge(original, modified, "Pod")
    assert strategic_merge_patch(original, patch, "Pod") == modified


@given(_pod, _pod, _pod)
def test_three_way_patch_makes_applied_fields_match_the_new_config(original, modified, current):
    # after apply, every field of the new config holds its value in the live object
    patch = three_way_merge(original, modified, current, "Pod")
    result = strategic_merge_patch(current, patch, "Pod")
    want = {c["name"]: c for c in modified["spec"]["containers"]}
    have = {c["name"]: c for c in result["spec"]["containers"]}
    for name, container in want.items():
        assert have[name]["image"] == container["image"]
        ports = {p["containerPort"] for p in have[name]["ports"]}
        assert {p["containerPort"] for p in container["ports"]} <= ports
    for key, value in modified["metadata"]["labels"].items():
        assert result["metadata"]["labels"][key] == value
    # and containers applied before but dropped from the config are gone
    dropped = {c["name"] for c in original["spec"]["containers"]} - set(want)
    assert not dropped & set(have)


def test_kubectl_apply_keeps_other_writers_fields_and_removes_dropped_ones():
    first = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web",
             "labels": {"app": "web", "tier": "fe"}},
             "spec": {"containers": [{"name": "web", "image": "nginx:1.25"},
                                     {"name": "log", "image": "busybox"}]}}
    live = with_last_applied(first)
    live["metadata"]["labels"]["added-by"] = "controller"  # another writer
    live["status"] = {"phase": "Running"}
    second = copy.deepcopy(first)
    del second["metadata"]["labels"]["tier"]
    second["spec"]["containers"] = [{"name": "web", "image": "nginx:1.26"}]
    patch, content_type = apply_patch_for(second, live)
    assert content_type == STRATEGIC_MERGE_PATCH
    assert patch["metadata"]["labels"] == {"tier": None}
    result = strategic_merge_patch(live, patch, "Pod")
    assert result["metadata"]["labels"] == {"app": "web", "added-by": "controller"}
    assert result["spec"]["containers"] == [{"name": "web", "image": "nginx:1.26"}]
    assert result["status"] == {"phase": "Running"}
    assert last_applied(result)["metadata"]["labels"] == {"app": "web"}
    assert last_applied(result)["spec"] == second["spec"]


def test_kubectl_apply_for_a_custom_resource_sends_a_merge_patch():
    config = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"size": 2}}
    live = with_last_applied({**config, "spec": {"size": 1, "color": "red"}})
    patch, content_type = apply_patch_for(config, live)
    assert content_type == "application/merge-patch+json"
    assert patch["spec"] == {"size": 2, "color": None}


def test_kubectl_apply_refuses_to_rename_through_a_merge_patch():
    config = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "other"}}
    live = with_last_applied({**config, "metadata": {"name": "w"}})
    with pytest.raises(PatchError, match="metadata.name"):
        apply_patch_for(config, live)


def test_last_applied_annotation_is_compact_sorted_json_with_a_newline():
    # as kubectl writes it: the annotations map is kept, empty, inside the value
    config = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}}
    text = with_last_applied(config)["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"]
    assert text == '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"p"}}\n'


# --- update preconditions ------------------------------------------------------


@pytest.mark.parametrize("stored,submitted,conflict", [
    ("7", "7", False),   # the version we read is still current
    ("8", "7", True),    # somebody wrote in between: 409
    ("7", "", False),    # no resourceVersion: unconditional update
    ("7", None, False),
    ("7", "0", False),   # "0" parses to 0: unconditional too
    ("7", "70", True),
])
def test_update_conflicts_when_the_read_version_is_stale(stored, submitted, conflict):
    assert update_conflicts(stored, submitted) is conflict


def test_non_numeric_resource_version_is_invalid():
    with pytest.raises(InvalidResourceVersion, match="integer"):
        update_conflicts("7", "abc")

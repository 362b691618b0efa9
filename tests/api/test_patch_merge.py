"""RFC 7386 JSON merge patch (its Appendix A table) and kubectl's three-way merge patch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fromscratch import exercises
from fromscratch.api.patch import (
    MERGE_PATCH,
    PatchError,
    apply_patch,
    create_merge_patch,
    merge_patch,
    three_way_merge_patch,
)

# RFC 7386 Appendix A: (original, patch, result)
RFC7386_TABLE = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("original,patch,expected", RFC7386_TABLE)
def test_rfc7386_appendix_table(original, patch, expected):
    assert merge_patch(original, patch) == expected


def test_merge_patch_does_not_modify_its_inputs():
    original, patch = {"a": {"b": 1}}, {"a": {"c": 2}}
    merge_patch(original, patch)
    assert original == {"a": {"b": 1}} and patch == {"a": {"c": 2}}


def test_merge_patch_replaces_lists_whole():
    # the reason strategic merge patch exists: one container added, the other lost
    pod = {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    out = merge_patch(pod, {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["sidecar"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=8,
)
# merge patches cannot express a null value inside an object: documents without nulls
_doc = st.dictionaries(st.text(max_size=2), st.recursive(
    st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=8), max_size=4)


@given(_doc, _doc)
def test_created_merge_patch_turns_original_into_modified(original, modified):
    assert merge_patch(original, create_merge_patch(original, modified)) == modified


@given(_json, _json)
def test_merge_patch_never_raises_on_any_json(target, patch):
    merge_patch(target, patch)


# --- three-way (kubectl apply for custom resources) -------------------------

LAST_APPLIED = {"kind": "Widget", "spec": {"size": 1, "color": "red"}, "metadata": {"name": "w"}}
NEW_CONFIG = {"kind": "Widget", "spec": {"size": 2}, "metadata": {"name": "w"}}
LIVE = {"kind": "Widget", "metadata": {"name": "w", "uid": "1", "labels": {"team": "a"}},
        "spec": {"size": 1, "color": "red", "owner": "controller"}, "status": {"ok": True}}


def test_three_way_merge_patch_deletes_what_was_unapplied_and_keeps_other_writers_fields():
    patch = three_way_merge_patch(LAST_APPLIED, NEW_CONFIG, LIVE)
    assert patch == {"spec": {"size": 2, "color": None}}
    result = merge_patch(LIVE, patch)
    assert result["spec"] == {"size": 2, "owner": "controller"}
    assert result["status"] == {"ok": True} and result["metadata"]["labels"] == {"team": "a"}


def test_three_way_merge_patch_is_empty_when_nothing_changed():
    assert three_way_merge_patch(LAST_APPLIED, LAST_APPLIED, LIVE) == {}


def test_three_way_merge_patch_restores_a_field_someone_else_changed():
    # live color drifted to blue; the file still says red: apply puts red back
    live = {**LIVE, "spec": {**LIVE["spec"], "color": "blue"}}
    assert three_way_merge_patch(LAST_APPLIED, LAST_APPLIED, live) == {"spec": {"color": "red"}}


def test_three_way_merge_patch_rejects_non_objects():
    with pytest.raises(PatchError, match="modified"):
        three_way_merge_patch({}, [], {})


def test_server_merge_patch_uses_the_plugged_function():
    def merge_patch(target, patch):  # a learner's (wrong) version: ignores the patch
        return target

    with exercises.using(merge_patch):
        assert apply_patch({"a": 1}, {"a": 2}, MERGE_PATCH) == {"a": 1}
    assert apply_patch({"a": 1}, {"a": 2}, MERGE_PATCH) == {"a": 2}

"""RFC 6902 JSON Patch and RFC 6901 pointers, with the RFCs' own appendix examples."""

from __future__ import annotations

import pytest

from fromscratch.api.patch import PatchError, apply_json_patch, json_equal
from fromscratch.api.patch.jsonpatch import escape_token, resolve

# RFC 6902 Appendix A: (document, patch, result)
RFC6902_EXAMPLES = {
    "A.1 add an object member": (
        {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"}),
    "A.2 add an array element": (
        {"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]}),
    "A.3 remove an object member": (
        {"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    "A.4 remove an array element": (
        {"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]}),
    "A.5 replace a value": (
        {"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"}),
    "A.6 move a value": (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    "A.7 move an array element": (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]}),
    "A.8 test a value: success": (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"},
         {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]}),
    "A.10 add a nested member object": (
        {"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}}),
    "A.11 ignore unrecognized elements": (
        {"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"}),
    "A.14 ~ escape ordering": (
        {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    "A.16 add an array value": (
        {"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]}),
}
RFC6902_ERRORS = {
    "A.9 test a value: error": ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
    "A.12 add to a nonexistent target": (
        {"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    "A.15 comparing strings and numbers": (
        {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),
}
# RFC 6901 section 5
POINTER_DOC = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5,
               'k"l': 6, " ": 7, "m~n": 8}
POINTERS = {"": POINTER_DOC, "/foo": ["bar", "baz"], "/foo/0": "bar", "/": 0, "/a~1b": 1,
            "/c%d": 2, "/e^f": 3, "/g|h": 4, "/i\\j": 5, '/k"l': 6, "/ ": 7, "/m~0n": 8}


@pytest.mark.parametrize("name", sorted(RFC6902_EXAMPLES))
def test_rfc6902_appendix_examples_apply(name):
    doc, patch, expected = RFC6902_EXAMPLES[name]
    assert apply_json_patch(doc, patch) == expected


@pytest.mark.parametrize("name", sorted(RFC6902_ERRORS))
def test_rfc6902_appendix_errors_raise(name):
    doc, patch = RFC6902_ERRORS[name]
    with pytest.raises(PatchError):
        apply_json_patch(doc, patch)


@pytest.mark.parametrize("pointer", sorted(POINTERS))
def test_rfc6901_pointer_examples_resolve(pointer):
    assert resolve(POINTER_DOC, pointer) == POINTERS[pointer]


def test_failed_patch_leaves_the_document_unchanged():
    # atomicity: the first op succeeded on a copy, the second failed, the input is untouched
    doc = {"spec": {"replicas": 1}}
    with pytest.raises(PatchError):
        apply_json_patch(doc, [{"op": "replace", "path": "/spec/replicas", "value": 3},
                               {"op": "test", "path": "/spec/replicas", "value": 1}])
    assert doc == {"spec": {"replicas": 1}}


def test_failed_test_op_maps_to_conflict_and_malformed_ops_to_bad_request():
    with pytest.raises(PatchError) as failed:
        apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert failed.value.reason == "Conflict"
    for bad in ([{"op": "frobnicate", "path": "/a"}], [{"path": "/a"}], {"op": "add"}, ["x"]):
        with pytest.raises(PatchError) as err:
            apply_json_patch({"a": 1}, bad)
        assert err.value.reason == "BadRequest"


@pytest.mark.parametrize("patch,problem", [
    ([{"op": "replace", "path": "/missing", "value": 1}], "does not exist"),
    ([{"op": "remove", "path": "/a/5"}], "out of range"),
    ([{"op": "add", "path": "/a/01", "value": 1}], "not an array index"),
    ([{"op": "add", "path": "a", "value": 1}], "start with '/'"),
    ([{"op": "add", "path": "/b~2", "value": 1}], "'~'"),
    ([{"op": "move", "from": "/m", "path": "/m/x"}], "own child"),
    ([{"op": "add", "path": "/a"}], "no 'value'"),
])
def test_bad_operations_name_the_problem(patch, problem):
    with pytest.raises(PatchError, match=problem):
        apply_json_patch({"a": [1, 2], "m": {}}, patch)


def test_label_with_slash_is_addressed_with_tilde_one():
    # the way kubectl users write /metadata/labels/app.kubernetes.io~1name
    pod = {"metadata": {"labels": {}}}
    path = "/metadata/labels/" + escape_token("app.kubernetes.io/name")
    assert path == "/metadata/labels/app.kubernetes.io~1name"
    out = apply_json_patch(pod, [{"op": "add", "path": path, "value": "web"}])
    assert out["metadata"]["labels"] == {"app.kubernetes.io/name": "web"}


def test_copy_and_root_replace():
    doc = {"a": {"b": 1}}
    out = apply_json_patch(doc, [{"op": "copy", "from": "/a", "path": "/c"}])
    out["c"]["b"] = 2  # the copy is independent
    assert out["a"] == {"b": 1}
    assert apply_json_patch(doc, [{"op": "replace", "path": "", "value": [1]}]) == [1]


def test_json_equality_distinguishes_booleans_from_numbers():
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal({"a": 1}, {"a": 1, "b": None})

"""Label and field selectors, with cases from the Kubernetes docs and apimachinery's tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fromscratch import exercises
from fromscratch.api.selectors import (
    FieldSelector,
    LabelSelector,
    Requirement,
    SelectorError,
    escape_field_value,
    label_selector_from_dict,
    matches,
    parse_field_selector,
    parse_label_selector,
)

# apimachinery labels/selector_test.go: TestSelectorMatches
MATCHING = [
    ("", {"x": "y"}),
    ("x=y", {"x": "y"}),
    ("x=y,z=w", {"x": "y", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "a"}),
    ("notin=in", {"notin": "in"}),  # keywords are fine as key and value
    ("x", {"x": "z"}),
    ("!x", {"y": "z"}),
    ("x>1", {"x": "2"}),
    ("x<1", {"x": "0"}),
]
NOT_MATCHING = [
    ("x=z", {}),
    ("x=y", {"x": "z"}),
    ("x=y,z=w", {"x": "w", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "w"}),
    ("x", {"y": "z"}),
    ("!x", {"x": "z"}),
    ("x>1", {"x": "0"}),
    ("x<1", {"x": "2"}),
    ("x>1", {"x": "two"}),  # Gt/Lt need an integer label value
]
# TestSelectorParse good and bad strings
GOOD = ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1",
        "x>1,z<5", "x in (a)", "x notin (a,b)", "x in (foo,,baz),y,z notin ()"]
BAD = ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x in a", "x in (a", "x,", ",x", "x=a b",
       "x in (a b)", "=a", "x!", "x=(a)"]


@pytest.mark.parametrize("text,labels", MATCHING)
def test_selector_matches_labels_as_apimachinery_does(text, labels):
    assert parse_label_selector(text).matches(labels)


@pytest.mark.parametrize("text,labels", NOT_MATCHING)
def test_selector_rejects_labels_as_apimachinery_does(text, labels):
    assert not parse_label_selector(text).matches(labels)


@pytest.mark.parametrize("text", GOOD)
def test_valid_selector_strings_parse(text):
    parse_label_selector(text)


@pytest.mark.parametrize("text", BAD)
def test_invalid_selector_strings_raise_selector_error(text):
    with pytest.raises(SelectorError):
        parse_label_selector(text)


def test_docs_examples_equality_and_set_based():
    # kubernetes.io "Labels and Selectors": environment = production, tier != frontend
    sel = parse_label_selector("environment = production, tier != frontend")
    assert sel.matches({"environment": "production", "tier": "backend"})
    assert sel.matches({"environment": "production"})  # no tier label: != matches
    assert not sel.matches({"environment": "production", "tier": "frontend"})
    sel = parse_label_selector("environment in (production, qa),tier notin (frontend, backend)")
    assert sel.matches({"environment": "qa"})
    assert not sel.matches({"environment": "dev"})
    assert not sel.matches({"environment": "qa", "tier": "backend"})
    # "partition" selects every object with the label; "!partition" every one without
    assert parse_label_selector("partition").matches({"partition": ""})
    assert parse_label_selector("!partition").matches({"app": "x"})


def test_notin_matches_objects_without_the_label():
    # docs: "notin" selects resources without the key too
    assert parse_label_selector("tier notin (frontend)").matches({})


def test_empty_value_in_sets_and_exact_match():
    # "x in ()" and "x in (,a)" contain the empty string; "x=" requires the empty value
    assert parse_label_selector("x in ()").matches({"x": ""})
    assert parse_label_selector("x in (,a)").matches({"x": ""})
    assert parse_label_selector("x=").matches({"x": ""})
    assert not parse_label_selector("x=").matches({})


def test_string_form_is_canonical_sorted_by_key_and_value():
    # requirements sorted by key, values sorted and de-duplicated, spaces dropped
    sel = parse_label_selector("z notin (b, a), x in (foo,,baz), !w, y , a==b")
    assert str(sel) == "a==b,!w,x in (,baz,foo),y,z notin (a,b)"
    assert str(parse_label_selector(str(sel))) == str(sel)


def test_label_key_syntax_is_validated():
    # [DNS subdomain prefix "/"] name of at most 63 characters
    parse_label_selector("app.kubernetes.io/name=web")
    for key in ["-x", "x-", "a/b/c", "/x", "Example.com/x", "x" * 64, "a_b.c/x"]:
        with pytest.raises(SelectorError, match="label key"):
            parse_label_selector(f"{key}=v")


def test_label_value_syntax_is_validated():
    with pytest.raises(SelectorError, match="value"):
        parse_label_selector("x=" + "v" * 64)
    with pytest.raises(SelectorError, match="value"):
        parse_label_selector("x in (ok, -bad)")


def test_requires_exact_match_reports_pinned_values():
    sel = parse_label_selector("app=web,tier in (fe)")
    assert sel.requires_exact_match("app") == "web"
    assert sel.requires_exact_match("tier") == "fe"
    assert sel.requires_exact_match("other") is None


def test_label_selector_dict_null_matches_nothing_empty_matches_everything():
    # API conventions: a null selector selects nothing; an empty one selects everything
    assert not label_selector_from_dict(None).matches({"a": "b"})
    assert label_selector_from_dict({}).matches({"a": "b"})
    assert label_selector_from_dict({"matchLabels": {}, "matchExpressions": []}).empty()


def test_label_selector_dict_combines_match_labels_and_expressions():
    sel = label_selector_from_dict({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "zone", "operator": "Exists"},
        ],
    })
    assert str(sel) == "app=web,!canary,env notin (dev),tier in (be,fe),zone"
    assert sel.matches({"app": "web", "tier": "fe", "zone": "a"})
    assert not sel.matches({"app": "web", "tier": "fe", "zone": "a", "canary": "1"})
    assert not sel.matches({"app": "web", "tier": "fe"})


@pytest.mark.parametrize("bad,message", [
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, "operator"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "at least one"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "no values"),
    ({"matchLabels": {"a": 1}}, "string"),
    ({"matchLabels": {"bad key": "v"}}, "label key"),
    ("app=web", "object"),
])
def test_label_selector_dict_rejects_invalid_input_naming_the_problem(bad, message):
    with pytest.raises(SelectorError, match=message):
        label_selector_from_dict(bad)


def test_learners_matches_is_what_selectors_call_once_plugged():
    # LabelSelector.matches dispatches through the pluggable `matches`
    def matches(selector, labels):  # noqa: ARG001 - a deliberately wrong answer
        return True

    with exercises.using(matches):
        assert parse_label_selector("a=b").matches({})
    assert not parse_label_selector("a=b").matches({})


# --- field selectors ---------------------------------------------------------

POD = {"metadata": {"name": "web-0", "namespace": "dev"},
       "spec": {"nodeName": "node-1", "unschedulable": False},
       "status": {"phase": "Running"}}


def test_field_selector_equality_and_inequality():
    assert parse_field_selector("status.phase=Running").matches(POD)
    assert parse_field_selector("status.phase==Running,metadata.namespace=dev").matches(POD)
    assert not parse_field_selector("metadata.name!=web-0").matches(POD)
    assert parse_field_selector("spec.nodeName!=node-2").matches(POD)


def test_field_selector_missing_field_reads_as_empty_string():
    # kubectl get pods --field-selector spec.nodeName= lists unscheduled pods
    assert parse_field_selector("spec.nodeName=").matches({"spec": {}})
    assert not parse_field_selector("spec.nodeName=").matches(POD)


def test_field_selector_renders_booleans_like_the_api():
    assert parse_field_selector("spec.unschedulable=false").matches(POD)


def test_field_selector_exposes_requirements_for_server_validation():
    sel = parse_field_selector("status.phase!=Failed,metadata.name=a")
    assert [(r.field, r.operator, r.value) for r in sel.requirements] == [
        ("metadata.name", "=", "a"), ("status.phase", "!=", "Failed"),
    ]
    assert sel.requires_exact_match("metadata.name") == "a"
    assert FieldSelector().empty() and parse_field_selector("").empty()


def test_field_selector_escapes_round_trip():
    # \, \= and \\ escape the separators in values
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert sel.requirements[0].value == "a,b=c\\d"
    assert str(sel) == r"metadata.name=a\,b\=c\\d"
    assert escape_field_value("x=y,z") == r"x\=y\,z"


@pytest.mark.parametrize("bad", ["status.phase", "=Running", r"a=b\x", "a=b\\", "a=b=c"])
def test_field_selector_rejects_malformed_terms(bad):
    with pytest.raises(SelectorError):
        parse_field_selector(bad)


# --- properties ---------------------------------------------------------------

_name = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True)
_value = st.one_of(st.just(""), _name)
_requirement = st.one_of(
    st.builds(lambda k, v: Requirement(k, "=", (v,)), _name, _value),
    st.builds(lambda k, v: Requirement(k, "!=", (v,)), _name, _value),
    st.builds(lambda k, vs: Requirement(k, "in", tuple(vs)), _name, st.lists(_value, min_size=1)),
    st.builds(lambda k, vs: Requirement(k, "notin", tuple(vs)), _name,
              st.lists(_value, min_size=1)),
    st.builds(lambda k: Requirement(k, "exists"), _name),
    st.builds(lambda k: Requirement(k, "!"), _name),
)
_labels = st.dictionaries(_name, _value, max_size=4)


@given(st.lists(_requirement, max_size=4), _labels)
def test_string_form_parses_back_to_an_equivalent_selector(requirements, labels):
    # str() then parse gives the same canonical form and the same verdict on any labels
    sel = LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))
    again = parse_label_selector(str(sel))
    assert str(again) == str(sel)
    assert again.matches(labels) == matches(sel, labels)


@given(st.text(max_size=30))
def test_parser_raises_only_selector_error_on_arbitrary_text(text):
    # bad input names the problem, never an IndexError or similar
    try:
        parse_label_selector(text)
    except SelectorError:
        pass
    try:
        parse_field_selector(text)
    except SelectorError:
        pass

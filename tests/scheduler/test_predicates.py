"""Taints and tolerations, nodeSelector and node affinity, with the documentation's examples."""

from __future__ import annotations

import pytest

from fromscratch.scheduler.predicates import (
    node_selector_matches,
    pod_matches_node_labels,
    preferred_affinity_weight,
    requirement_matches,
    term_matches,
    tolerates_taint,
    untolerated_taints,
)

# docs, "Taints and Tolerations": kubectl taint nodes node1 key1=value1:NoSchedule
KEY1_NOSCHEDULE = {"key": "key1", "value": "value1", "effect": "NoSchedule"}


def node(name: str = "n1", labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}}


@pytest.mark.parametrize("toleration", [
    {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"},
    {"key": "key1", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "key1", "value": "value1", "effect": "NoSchedule"},  # empty operator means Equal
    {"key": "key1", "operator": "Exists"},  # empty effect matches every effect
    {"operator": "Exists"},  # empty key with Exists tolerates everything
])
def test_tolerations_from_the_documentation_tolerate_the_taint(toleration):
    assert tolerates_taint(toleration, KEY1_NOSCHEDULE)


@pytest.mark.parametrize("toleration", [
    {"key": "key1", "operator": "Equal", "value": "other", "effect": "NoSchedule"},
    {"key": "key1", "operator": "Exists", "effect": "NoExecute"},
    {"key": "key2", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "key1", "operator": "Gt", "value": "value1"},  # not a toleration operator here
])
def test_tolerations_that_do_not_match(toleration):
    assert not tolerates_taint(toleration, KEY1_NOSCHEDULE)


def test_documentation_example_with_three_taints():
    # the node keeps an untolerated key2:NoSchedule: no new Pod, but a running one stays
    taints = [KEY1_NOSCHEDULE, {"key": "key1", "value": "value1", "effect": "NoExecute"},
              {"key": "key2", "value": "value2", "effect": "NoSchedule"}]
    tolerations = [{"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoSchedule"},
                   {"key": "key1", "operator": "Equal", "value": "value1", "effect": "NoExecute"}]
    assert untolerated_taints(taints, tolerations) == [taints[2]]
    assert untolerated_taints(taints, tolerations, ("NoExecute",)) == []


@pytest.mark.parametrize(("operator", "values", "labels", "expected"), [
    ("In", ["ssd", "nvme"], {"disk": "ssd"}, True),
    ("In", ["ssd"], {}, False),
    ("NotIn", ["hdd"], {"disk": "ssd"}, True),
    ("NotIn", ["hdd"], {}, True),  # a missing label is "not in"
    ("Exists", [], {"disk": ""}, True),
    ("DoesNotExist", [], {"disk": "ssd"}, False),
    ("Gt", ["4"], {"disk": "8"}, True),
    ("Gt", ["8"], {"disk": "8"}, False),
    ("Lt", ["8"], {"disk": "-1"}, True),
    ("Gt", ["4"], {"disk": "fast"}, False),  # not an integer: no match
    ("Lt", ["4"], {}, False),
])
def test_node_selector_requirement_operators(operator, values, labels, expected):
    requirement = {"key": "disk", "operator": operator, "values": values}
    assert requirement_matches(requirement, labels) is expected


@pytest.mark.parametrize("requirement", [
    {"key": "k", "operator": "Gt", "values": ["1", "2"]},
    {"key": "k", "operator": "Lt", "values": ["x"]},
    {"key": "k", "operator": "Like", "values": ["x"]},
])
def test_invalid_requirements_raise_naming_the_problem(requirement):
    with pytest.raises(ValueError, match="Gt|Lt|Like"):
        requirement_matches(requirement, {"k": "1"})


def test_terms_are_ored_and_requirements_anded():
    selector = {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                              {"key": "gpu", "operator": "Exists"}]},
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}
    assert node_selector_matches(selector, node(labels={"zone": "a", "gpu": "1"}))
    assert not node_selector_matches(selector, node(labels={"zone": "a"}))
    assert node_selector_matches(selector, node(labels={"zone": "b"}))


def test_an_empty_term_matches_no_node():
    assert not term_matches({}, node(labels={"a": "b"}))
    assert not node_selector_matches({"nodeSelectorTerms": []}, node())


def test_match_fields_select_by_node_name():
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
    assert term_matches(term, node("n2")) and not term_matches(term, node("n1"))


def test_node_selector_and_required_affinity_must_both_hold():
    pod = {"spec": {"nodeSelector": {"disktype": "ssd"}, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["c"]}]}]}}}}}
    assert pod_matches_node_labels(pod, node(labels={"disktype": "ssd", "zone": "a"}))
    assert not pod_matches_node_labels(pod, node(labels={"disktype": "ssd", "zone": "c"}))
    assert not pod_matches_node_labels(pod, node(labels={"zone": "a"}))


def test_preferred_affinity_weights_add_up():
    # docs example: weight 1 for label-1=key-1, weight 50 for label-2=key-2
    pod = {"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [
            {"key": "label-1", "operator": "In", "values": ["key-1"]}]}},
        {"weight": 50, "preference": {"matchExpressions": [
            {"key": "label-2", "operator": "In", "values": ["key-2"]}]}}]}}}}
    assert preferred_affinity_weight(pod, node(labels={"label-1": "key-1"})) == 1
    assert preferred_affinity_weight(pod, node(labels={"label-2": "key-2"})) == 50
    assert preferred_affinity_weight(pod, node(labels={"label-1": "key-1", "label-2": "key-2"})) == 51

"""Covers: does what a user holds include everything a role would grant?

Cases from ``policy_comparator_test.go`` (k8s.io/component-helpers/auth/rbac/validation)
and the RBAC documentation's "Privilege escalation prevention".
"""

from __future__ import annotations

from fromscratch.api.auth import UserInfo
from fromscratch.api.rbac.escalation import breakdown, compact, escalation_message, uncovered_rules

PODS_RW = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "create"]}


def test_breakdown_makes_one_rule_per_group_resource_verb_and_name():
    rule = {"apiGroups": ["", "apps"], "resources": ["pods"], "verbs": ["get", "list"],
            "resourceNames": ["a"]}
    assert len(breakdown(rule)) == 4
    assert breakdown({"nonResourceURLs": ["/a", "/b"], "verbs": ["get"]}) == [
        {"nonResourceURLs": ["/a"], "verbs": ["get"]},
        {"nonResourceURLs": ["/b"], "verbs": ["get"]}]


def test_equal_or_smaller_rules_are_covered():
    assert uncovered_rules([PODS_RW], [PODS_RW]) == []
    assert uncovered_rules([PODS_RW], [{"apiGroups": [""], "resources": ["pods"],
                                        "verbs": ["get"]}]) == []
    assert uncovered_rules([PODS_RW], []) == []


def test_missing_verb_is_reported_piece_by_piece():
    assert uncovered_rules([PODS_RW], [{"apiGroups": [""], "resources": ["pods"],
                                        "verbs": ["get", "delete"]}]) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}]


def test_wildcards_cover_everything_but_are_not_covered_by_lists():
    star = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    assert uncovered_rules([star], [PODS_RW, {"apiGroups": ["apps"],
                                              "resources": ["deployments/scale"],
                                              "verbs": ["update"]}]) == []
    # holding every named verb is not holding "*"
    assert uncovered_rules([PODS_RW], [{"apiGroups": [""], "resources": ["pods"],
                                        "verbs": ["*"]}]) != []


def test_star_subresource_covers_that_subresource_of_every_resource():
    owner = {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]}
    assert uncovered_rules([owner], [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                                      "verbs": ["update"]}]) == []
    assert uncovered_rules([owner], [{"apiGroups": ["apps"], "resources": ["deployments"],
                                      "verbs": ["update"]}]) != []


def test_resource_names_restrict_what_is_covered():
    named = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
             "resourceNames": ["a"]}
    unnamed = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    assert uncovered_rules([unnamed], [named]) == []  # any name covers one name
    assert uncovered_rules([named], [unnamed]) == [unnamed]  # one name never covers all
    assert uncovered_rules([named], [{**named, "resourceNames": ["b"]}]) != []


def test_non_resource_urls_and_globs():
    owner = {"nonResourceURLs": ["/metrics/*"], "verbs": ["get"]}
    assert uncovered_rules([owner], [{"nonResourceURLs": ["/metrics/cadvisor"],
                                      "verbs": ["get"]}]) == []
    assert uncovered_rules([owner], [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]) != []
    # a resource rule never covers a URL, nor the other way round
    assert uncovered_rules([PODS_RW], [owner]) != []


def test_message_lists_missing_permissions_like_kube_apiserver():
    user = UserInfo("jane", groups=("devs", "system:authenticated"))
    missing = uncovered_rules([], [{"apiGroups": [""], "resources": ["secrets"],
                                    "verbs": ["get"]}])
    assert compact(missing[0]) == '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
    assert escalation_message(user, missing) == (
        'user "jane" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC '
        'permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')

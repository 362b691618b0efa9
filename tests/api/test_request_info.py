"""Request classification, checked against kube-apiserver's own requestinfo_test.go table."""

from __future__ import annotations

import pytest

from fromscratch.api.request_info import RequestInfoError, request_info

# (method, url, verb, group, version, namespace, resource, subresource, name, parts)
# — the success cases of TestGetAPIRequestInfo in k8s.io/apiserver/pkg/endpoints/request.
UPSTREAM_CASES = [
    ("GET", "/api/v1/namespaces", "list", "", "v1", "", "namespaces", "", "", ["namespaces"]),
    ("GET", "/api/v1/namespaces/other", "get", "", "v1", "other", "namespaces", "", "other",
     ["namespaces", "other"]),
    ("GET", "/api/v1/namespaces/other/pods", "list", "", "v1", "other", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods/foo", "get", "", "v1", "other", "pods", "", "foo",
     ["pods", "foo"]),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", "get", "", "v1", "other", "pods", "", "foo",
     ["pods", "foo"]),
    ("GET", "/api/v1/pods", "list", "", "v1", "", "pods", "", "", ["pods"]),
    ("HEAD", "/api/v1/pods", "list", "", "v1", "", "pods", "", "", ["pods"]),
    ("PATCH", "/api/v1/namespaces/new-namespace", "patch", "", "v1", "", "namespaces", "",
     "new-namespace", ["namespaces", "new-namespace"]),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "", "v1", "other", "pods", "",
     "foo", ["pods", "foo"]),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "",
     "v1", "other", "pods", "", "foo", ["pods", "foo", "subpath", "not", "a", "subresource"]),
    ("GET", "/api/v1/watch/pods", "watch", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/pods?watch=true", "watch", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/pods?watch=false", "list", "", "v1", "", "pods", "", "", ["pods"]),
    ("GET", "/api/v1/watch/namespaces/other/pods", "watch", "", "v1", "other", "pods", "", "",
     ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "", "v1", "other", "pods", "", "",
     ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods?watch=0", "list", "", "v1", "other", "pods", "", "",
     ["pods"]),
    ("GET", "/api/v1/namespaces/other/pods/foo/status", "get", "", "v1", "other", "pods",
     "status", "foo", ["pods", "foo", "status"]),
    ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "", "v1", "other", "pods",
     "proxy", "foo", ["pods", "foo", "proxy", "subpath"]),
    ("PUT", "/api/v1/namespaces/other/finalize", "update", "", "v1", "other", "namespaces",
     "finalize", "other", ["namespaces", "other", "finalize"]),
    ("PUT", "/api/v1/namespaces/other/status", "update", "", "v1", "other", "namespaces",
     "status", "other", ["namespaces", "other", "status"]),
    ("PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "", "v1", "other", "pods", "", "foo",
     ["pods", "foo"]),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "", "v1", "other", "pods", "",
     "foo", ["pods", "foo"]),
    ("POST", "/api/v1/namespaces/other/pods", "create", "", "v1", "other", "pods", "", "",
     ["pods"]),
    ("DELETE", "/api/v1/nodes", "deletecollection", "", "v1", "", "nodes", "", "", ["nodes"]),
    ("DELETE", "/api/v1/namespaces", "deletecollection", "", "v1", "", "namespaces", "", "",
     ["namespaces"]),
    ("DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "", "v1", "other", "pods",
     "", "", ["pods"]),
    ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "extensions",
     "v1", "other", "pods", "", "", ["pods"]),
    ("POST", "/apis/extensions/v1/namespaces/other/pods", "create", "extensions", "v1", "other",
     "pods", "", "", ["pods"]),
    ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "extensions", "v1beta3",
     "other", "pods", "", "", ["pods"]),
]

# paths that are not resource requests (TestGetNonAPIRequestInfo and the error cases)
NON_RESOURCE_PATHS = [
    "/", "", "/api", "/api/version", "/api/version/", "/apis/group/version/",
    "/apis/extensions/v1beta1", "/apis/extensions/v1beta1/", "/badprefix/version/resource",
    "/not-api/version/resource", "/apis/version/resource", "/healthz", "/version",
]


@pytest.mark.parametrize(
    "method,url,verb,group,version,namespace,resource,subresource,name,parts", UPSTREAM_CASES
)
def test_request_info_matches_kube_apiserver_table(
    method, url, verb, group, version, namespace, resource, subresource, name, parts
):
    # every row of kube-apiserver's table yields the same classification
    info = request_info(method, url)
    assert info.is_resource_request
    assert (info.verb, info.api_group, info.api_version) == (verb, group, version)
    assert (info.namespace, info.resource, info.subresource, info.name) == (
        namespace, resource, subresource, name,
    )
    assert list(info.parts) == parts
    assert info.api_prefix == ("api" if url.startswith("/api/") else "apis")


@pytest.mark.parametrize("path", NON_RESOURCE_PATHS)
def test_short_or_foreign_paths_are_non_resource_requests(path):
    # too few segments, or not under /api or /apis: the verb is the lowercased method
    info = request_info("GET", path)
    assert not info.is_resource_request
    assert info.verb == "get"
    assert info.resource == ""


def test_group_paths_with_enough_segments_are_resource_requests():
    # /apis/{group}/{version}/{resource}[/name[/subresource]]
    info = request_info("GET", "/apis/batch/v1/job/foo/scale")
    assert info.is_resource_request
    assert (info.api_group, info.resource, info.name, info.subresource) == (
        "batch", "job", "foo", "scale",
    )


def test_non_resource_request_uses_lowercased_http_method():
    # /healthz is not a resource: POST stays "post", not "create"
    assert request_info("POST", "/healthz").verb == "post"
    assert request_info("options", "/version").verb == "options"


def test_unknown_method_on_a_resource_has_an_empty_verb():
    # the factory maps only the five REST methods
    assert request_info("OPTIONS", "/api/v1/pods/x").verb == ""


def test_watch_query_treats_any_value_but_false_or_0_as_true():
    # Convert_Slice_string_To_bool: "", "yes", "TRUE" are true; "False" and "0" are false
    for value, verb in [("", "watch"), ("yes", "watch"), ("TRUE", "watch"), ("False", "list")]:
        assert request_info("GET", "/api/v1/pods", {"watch": value}).verb == verb


def test_watch_query_is_ignored_on_a_named_get():
    # a name in the path makes it a get; only collections become list/watch
    assert request_info("GET", "/api/v1/namespaces/a/pods/p?watch=true").verb == "get"


def test_query_may_be_a_string_or_a_mapping_with_lists():
    assert request_info("GET", "/api/v1/pods", "watch=1").verb == "watch"
    assert request_info("GET", "/api/v1/pods", {"watch": ["true"]}).verb == "watch"


def test_metadata_name_field_selector_names_the_object():
    # TestFieldSelectorParsing: list/watch pinned to one name carry that name
    info = request_info("GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1")
    assert (info.verb, info.name) == ("list", "name1")
    info = request_info(
        "GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1"
    )
    assert (info.verb, info.name) == ("watch", "name1")


def test_other_or_invalid_field_selectors_name_nothing():
    assert request_info("GET", "/apis/g/v/r?fieldSelector=foo=bar").name == ""
    info = request_info("GET", "/apis/g/v/r?fieldSelector=metadata.name=name1,foo&watch=true")
    assert (info.verb, info.name) == ("watch", "")


def test_pinned_name_that_is_not_a_path_segment_is_ignored():
    # names like ".." or "a/b" could never be addressed by path, so they are not used
    assert request_info("GET", "/api/v1/pods", {"fieldSelector": "metadata.name=.."}).name == ""


def test_delete_with_field_selector_is_still_deletecollection():
    # only GET consults the field selector
    info = request_info("DELETE", "/api/v1/pods", {"fieldSelector": "metadata.name=x"})
    assert (info.verb, info.name) == ("deletecollection", "")


def test_watch_path_prefix_with_a_name_is_a_watch_of_one_object():
    info = request_info("GET", "/api/v1/watch/namespaces/dev/pods/web")
    assert (info.verb, info.namespace, info.resource, info.name) == ("watch", "dev", "pods", "web")


def test_special_verb_without_a_resource_is_an_error():
    # "/api/v1/watch" names no resource: kube-apiserver returns an error here
    with pytest.raises(RequestInfoError, match="unable to determine"):
        request_info("GET", "/api/v1/watch")


def test_namespace_subresource_keeps_namespaces_as_the_resource():
    # /namespaces/dev/status addresses the namespace; /namespaces/dev/pods a pod collection
    assert request_info("GET", "/api/v1/namespaces/dev/status").resource == "namespaces"
    assert request_info("GET", "/api/v1/namespaces/dev/configmaps").resource == "configmaps"


def test_cluster_scoped_resource_in_a_group():
    info = request_info("PUT", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin")
    assert (info.verb, info.api_group, info.namespace, info.resource, info.name) == (
        "update", "rbac.authorization.k8s.io", "", "clusterroles", "admin",
    )


def test_custom_resource_scale_subresource():
    info = request_info("PATCH", "/apis/example.com/v1/namespaces/ns/widgets/w1/scale")
    assert (info.verb, info.resource, info.subresource) == ("patch", "widgets", "scale")

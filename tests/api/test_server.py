"""The server itself: lifecycle, discovery documents, tables, the command line."""

from __future__ import annotations

import subprocess
import sys

from kubernetes import client

from fromscratch.api.server import APIServer
from fromscratch.api.table import human_duration
from tests.api.helpers import deployment, raw_request


def test_stop_then_start_serves_the_same_objects_again():
    server = APIServer()
    try:
        server.start()
        client.CoreV1Api(server.client()).create_namespaced_config_map(
            "default", {"metadata": {"name": "kept"}})
        server.stop()
        server.start()
        names = [c.metadata.name for c in client.CoreV1Api(server.client())
                 .list_namespaced_config_map("default").items]
        assert names == ["kept"]
    finally:
        server.close()


def test_discovery_lists_groups_resources_and_subresources(server):
    _, groups = raw_request(server, "GET", "/apis")
    autoscaling = next(g for g in groups["groups"] if g["name"] == "autoscaling")
    assert autoscaling["preferredVersion"]["version"] == "v2"
    _, apps = raw_request(server, "GET", "/apis/apps/v1")
    by_name = {r["name"]: r for r in apps["resources"]}
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert "all" in by_name["deployments"]["categories"]
    assert (by_name["deployments/scale"]["group"], by_name["deployments/scale"]["kind"]) == (
        "autoscaling", "Scale")
    _, core = raw_request(server, "GET", "/api/v1")
    namespaces = next(r for r in core["resources"] if r["name"] == "namespaces")
    assert namespaces["namespaced"] is False
    assert raw_request(server, "GET", "/version")[1]["major"] == "1"


def test_table_rows_and_columns_for_kubectl_get(server, apps, ns):
    apps.create_namespaced_deployment(ns, deployment("tabled", replicas=3))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, table = raw_request(server, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments",
                              headers={"Accept": accept})
    assert code == 200 and table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert columns == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["tabled", "0/3"]
    assert row["object"]["kind"] == "PartialObjectMetadata"


def test_head_and_health_endpoints(server):
    assert raw_request(server, "GET", "/livez") == (200, "ok")
    assert raw_request(server, "HEAD", "/api/v1/namespaces/default")[0] == 200


def test_yaml_responses_when_asked(server):
    code, text = raw_request(server, "GET", "/api/v1/namespaces/default",
                             headers={"Accept": "application/yaml"})
    assert code == 200 and "kind: Namespace" in text


def test_age_column_uses_kubectl_duration_format():
    # kubectl's duration.HumanDuration
    assert [human_duration(s) for s in (5, 119, 150, 600, 3 * 3600 + 60, 50 * 3600,
                                        9 * 86400)] == ["5s", "119s", "2m30s", "10m", "3h1m",
                                                        "2d2h", "9d"]


def test_command_line_help():
    result = subprocess.run([sys.executable, "-m", "fromscratch", "apiserver", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--store" in result.stdout and "--token-file" in result.stdout


def test_send_initial_events_ends_with_an_annotated_bookmark(server, core, ns):
    # the "watch list" protocol: current objects as ADDED, then a bookmark marking the end
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    import json as _json

    code, text = raw_request(
        server, "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&sendInitialEvents=true"
                       "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
                       "&timeoutSeconds=1")
    events = [_json.loads(line) for line in text.splitlines()] if isinstance(text, str) else [text]
    assert code == 200
    assert [e["type"] for e in events[:3]] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}


def test_a_resource_version_inside_a_patch_is_a_precondition(server, core, ns):
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "pre"}})
    core.patch_namespaced_config_map("pre", ns, {"data": {"a": "1"}})
    stale = {"metadata": {"resourceVersion": created.metadata.resource_version},
             "data": {"a": "2"}}
    code, status = raw_request(server, "PATCH", f"/api/v1/namespaces/{ns}/configmaps/pre", stale,
                               {"Content-Type": "application/merge-patch+json"})
    assert (code, status["reason"]) == (409, "Conflict")

"""Malformed requests get a 4xx Status — never a 5xx, never a traceback — and the server lives on."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fromscratch.api.server import APIServer
from tests.api.helpers import raw_request

PREFIXES = ["/api/v1", "/api/v1/namespaces/default", "/apis/apps/v1",
            "/apis/apps/v1/namespaces/default", "/apis/batch/v1/namespaces/fuzz", "/apis",
            "/api", "/apis/nope/v9", "/api/v1/watch/namespaces/default", "/openapi/v3",
            "/apis/apiextensions.k8s.io/v1"]
RESOURCES = ["pods", "deployments", "configmaps", "namespaces", "jobs", "nodes", "secrets",
             "customresourcedefinitions", "services", "bogus", "", "..", "%00"]
SUBRESOURCES = ["", "status", "scale", "token", "log", "x"]
CONTENT_TYPES = ["application/json", "application/yaml", "application/merge-patch+json",
                 "application/json-patch+json", "application/strategic-merge-patch+json",
                 "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf",
                 "text/plain", "", "application/json; charset=utf-8"]
ACCEPTS = ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io",
           "application/yaml", "application/vnd.kubernetes.protobuf", "*/*", "text/html", ""]
QUERY_KEYS = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
              "dryRun", "gracePeriodSeconds", "propagationPolicy", "includeObject",
              "timeoutSeconds", "watch", "fieldManager", "x"]

text = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "name",
                                       "namespace", "labels", "containers", "op", "path",
                                       "value", "status", "data", "finalizers"]) | text,
                      children, max_size=5),
    max_leaves=20)


@st.composite
def requests(draw) -> tuple[str, str, bytes, dict[str, str]]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                   "OPTIONS", "FOO"]))
    parts = [draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(RESOURCES))]
    if draw(st.booleans()):
        parts.append(quote(draw(text), safe=""))
        parts.append(draw(st.sampled_from(SUBRESOURCES)))
    path = "/".join(p.strip("/") for p in parts if p)
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), text, max_size=3))
    if "watch" in query or "/watch/" in path:
        query["timeoutSeconds"] = "1"  # a watch that gets through ends quickly
    body_kind = draw(st.sampled_from(["json", "bytes", "none", "truncated"]))
    if body_kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=200))
    elif body_kind == "truncated":
        body = json.dumps(draw(json_values)).encode()[:-1]
    else:
        body = b""
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES)),
               "Accept": draw(st.sampled_from(ACCEPTS))}
    return method, "/" + path + ("?" + urlencode(query) if query else ""), body, headers


@pytest.fixture(scope="module")
def fuzz_server():
    with APIServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def connection(fuzz_server):
    context = ssl.create_default_context(cafile=str(fuzz_server.pki.ca_cert))

    class Conn:
        def __init__(self) -> None:
            self.http: http.client.HTTPSConnection | None = None

        def send(self, method: str, path: str, body: bytes, headers: dict[str, str]):
            if self.http is None:
                self.http = http.client.HTTPSConnection("127.0.0.1", fuzz_server.port,
                                                        context=context, timeout=20)
            headers = {**headers, "Authorization": f"Bearer {fuzz_server.token}"}
            try:
                self.http.request(method, path, body=body, headers=headers)
                response = self.http.getresponse()
                streaming = response.getheader("Transfer-Encoding") == "chunked"
                data = b"" if streaming else response.read()
            except (http.client.HTTPException, OSError):
                self.http.close()
                self.http = None
                raise
            if streaming or response.getheader("Connection") == "close":
                self.http.close()
                self.http = None
            return response, data

    return Conn()


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_malformed_requests_get_4xx_statuses_never_5xx(fuzz_server, connection, request):
    method, path, body, headers = request
    response, data = connection.send(method, path, body, headers)
    assert response.status < 500, (method, path, body[:200], data[:500])
    if response.status >= 400 and method != "HEAD":
        status = json.loads(data)
        assert status["kind"] == "Status" and status["code"] == response.status


def test_a_body_over_the_limit_is_413(server):
    huge = b'{"metadata": {"name": "big"}, "data": {"x": "' + b"y" * (4 * 1024 * 1024) + b'"}}'
    code, status = raw_request(server, "POST", "/api/v1/namespaces/default/configmaps", huge)
    assert (code, status["reason"]) == (413, "RequestEntityTooLarge")


def test_wrong_kind_in_body_is_400(server):
    code, status = raw_request(server, "POST", "/api/v1/namespaces/default/configmaps",
                               {"apiVersion": "apps/v1", "kind": "Deployment",
                                "metadata": {"name": "x"}})
    assert (code, status["reason"]) == (400, "BadRequest")


def test_yaml_bodies_are_accepted(server):
    code, created = raw_request(server, "POST", "/api/v1/namespaces/default/configmaps",
                                "metadata: {name: from-yaml}\ndata: {a: b}\n",
                                {"Content-Type": "application/yaml"})
    assert code == 201 and created["data"] == {"a": "b"}


def test_unknown_resource_and_method_not_allowed(server):
    assert raw_request(server, "GET", "/apis/nope/v1/things")[0] == 404
    code, status = raw_request(server, "POST", "/api/v1/namespaces/default/pods/x", {})
    assert (code, status["reason"]) == (405, "MethodNotAllowed")


def test_protobuf_only_accept_is_406(server):
    code, status = raw_request(server, "GET", "/api/v1/namespaces",
                               headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert (code, status["reason"]) == (406, "NotAcceptable")


def test_garbage_on_the_socket_does_not_take_the_server_down(server):
    for garbage in (b"\x00\x01\x02 not tls at all\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(garbage)
            sock.settimeout(2)
            try:
                sock.recv(100)
            except OSError:
                pass
    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock, \
            context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert tls.recv(100).startswith(b"HTTP/1.")
    assert raw_request(server, "GET", "/healthz") == (200, "ok")

"""``GET …/pods/<name>/log``: the API server proxies a container's log from its node's kubelet.

Models ``LogREST`` and ``LogLocation`` (``pkg/registry/core/pod/rest/log.go``,
``pkg/registry/core/pod/strategy.go``): the API server stores no logs.  It
finds the container (a one-container Pod needs no ``container`` parameter;
with several, ``400`` "a container name must be specified for pod X, choose
one of: [a b]"), the Node the Pod is bound to, and that Node's kubelet address
(``status.addresses`` and ``status.daemonEndpoints.kubeletEndpoint.Port``),
then streams ``/containerLogs/<ns>/<pod>/<container>?…`` from the kubelet
back to the client as ``text/plain`` — with ``follow=true`` until the client
hangs up.  The kubelet's own errors (``404``, ``400``) are passed on as a
``Status`` with the kubelet's message, as upstream's response checker does.

The query parameters forwarded are those of ``PodLogOptions``: ``follow``,
``previous``, ``timestamps``, ``sinceSeconds``, ``sinceTime``, ``tailLines``,
``limitBytes``.  A Pod not bound to a Node has no log yet: ``204 No Content``,
as upstream answers when ``LogLocation`` finds no location.

Simplified: the kubelet is reached over plain HTTP, at its ``InternalIP``
only, and only when that address is loopback (everything in this course runs
on one machine; any other address is refused with ``503``) — kube-apiserver
uses HTTPS and ``--kubelet-preferred-address-types``.
"""

from __future__ import annotations

import http.client
import ipaddress
import queue
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fromscratch.api import errors
from fromscratch.api.handlers import Response

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
BOOL_PARAMS = ("follow", "previous", "timestamps")
INT_PARAMS = ("sinceSeconds", "tailLines", "limitBytes")
CONNECT_TIMEOUT = 5.0
IDLE_POLL = 0.5  # while following, how often we look up from a quiet log
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           409: "Conflict", 500: "InternalError", 503: "ServiceUnavailable"}


def choose_container(pod: Obj, container: str) -> str:
    """The container whose log is asked for (validateContainer)."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    init = [c.get("name", "") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    if not container:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        message = (f"a container name must be specified for pod {name}, choose one of: "
                   f"[{' '.join(containers)}]")
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise errors.bad_request(message)
    if container not in containers + init + ephemeral:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


def log_query(query: Mapping[str, str]) -> dict[str, str]:
    """The PodLogOptions to forward, checked (400 on a malformed value)."""
    forwarded: dict[str, str] = {}
    for key in BOOL_PARAMS:
        value = query.get(key, "").lower()
        if value not in ("", "true", "false", "1", "0"):
            raise errors.bad_request(f"{key} must be true or false, not {query[key]!r}")
        if value in ("true", "1"):
            forwarded[key] = "true"
    for key in INT_PARAMS:
        if query.get(key, "") == "":
            continue
        try:
            number = int(query[key])
        except ValueError:
            raise errors.bad_request(f"{key} must be an integer, not {query[key]!r}") from None
        smallest = 0 if key == "tailLines" else 1
        if number < smallest:
            raise errors.invalid("PodLogOptions", "", [errors.invalid_value(
                key, number, f"must be greater than {smallest - 1}" if smallest
                else "must be greater than or equal to 0")])
        forwarded[key] = str(number)
    if query.get("sinceTime"):
        if "sinceSeconds" in forwarded:
            raise errors.invalid("PodLogOptions", "", [errors.forbidden(
                "sinceTime", "at most one of `sinceTime` or `sinceSeconds` may be specified")])
        forwarded["sinceTime"] = query["sinceTime"]
    return forwarded


def kubelet_endpoint(node: Obj) -> tuple[str, int]:
    """(host, port) of a Node's kubelet, refusing anything but a loopback InternalIP."""
    name = node["metadata"]["name"]
    status = node.get("status") or {}
    addresses = [a.get("address", "") for a in status.get("addresses") or []
                 if a.get("type") == "InternalIP"]
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not addresses or not isinstance(port, int) or not 0 < port < 65536:
        raise errors.APIError(503, "ServiceUnavailable", f"node {name} reports no kubelet "
                              "endpoint (status.addresses InternalIP and "
                              "status.daemonEndpoints.kubeletEndpoint.Port)")
    host = addresses[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise errors.APIError(503, "ServiceUnavailable", f"node {name}'s kubelet is at {host}: "
                              "this API server only proxies to kubelets on 127.0.0.1")
    return host, port


def pod_log(registry: Registry, pods: Kind, namespace: str, name: str,
            query: Mapping[str, str]) -> Response:
    """The Response for ``GET pods/<name>/log``: a text stream from the kubelet."""
    pod = registry.get(pods, namespace, name)
    container = choose_container(pod, query.get("container", ""))
    forwarded = log_query(query)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        # no node, no log yet: upstream's LogLocation gives no location -> 204 No Content
        return Response(204, {}, stream=iter(()), content_type="text/plain")
    nodes = registry.kinds.lookup("", "v1", "nodes")
    assert nodes is not None
    host, port = kubelet_endpoint(registry.get(nodes, "", node_name))
    path = "/containerLogs/" + "/".join(quote(p, safe="") for p in (namespace, name, container))
    if forwarded:
        path += "?" + urlencode(forwarded)
    # the timeout covers connecting and the answer's headers; a followed log may then be
    # quiet for as long as it likes (the relay's reader thread blocks, not the transport)
    connection = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Accept": "text/plain"})
        answer = connection.getresponse()
    except OSError as err:
        connection.close()
        raise errors.APIError(503, "ServiceUnavailable", f"Get \"http://{host}:{port}{path}\": "
                              f"the kubelet on node {node_name} did not answer: {err}") from None
    if not 200 <= answer.status < 300:
        text = answer.read(64 * 1024).decode("utf-8", "replace").strip()
        connection.close()
        raise errors.APIError(answer.status, REASONS.get(answer.status, "InternalError"),
                              text or f"the kubelet answered {answer.status}")
    if connection.sock is not None:
        connection.sock.settimeout(None)
    return Response(200, {}, stream=_relay(connection, answer), content_type="text/plain")


def _relay(connection: http.client.HTTPConnection,
           answer: http.client.HTTPResponse) -> Iterator[bytes]:
    """The kubelet's bytes as they come; ``b""`` now and then while a followed log is quiet.

    A reader thread does the blocking reads, so a quiet log never blocks the
    transport: it can notice that its client hung up, and close this stream
    (which closes the kubelet connection and ends the reader).
    """
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=64)

    def read() -> None:
        try:
            while chunk := answer.read1(64 * 1024):
                chunks.put(chunk)
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed under us, or the kubelet went away: the stream ends
        finally:
            chunks.put(None)

    reader = threading.Thread(target=read, name="pod-log-relay", daemon=True)
    reader.start()
    try:
        while True:
            try:
                chunk = chunks.get(timeout=IDLE_POLL)
            except queue.Empty:
                yield b""
                continue
            if chunk is None:
                return
            yield chunk
    finally:
        if connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader's blocking read
            except OSError:
                pass
        reader.join(timeout=2)  # let it see the shutdown before the response is torn down
        connection.close()

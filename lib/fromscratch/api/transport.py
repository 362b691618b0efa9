"""The HTTP transport: one request in, one Status or object (or a watch stream) out.

Models the outer layers of kube-apiserver's handler chain, in its order:
read the request (bodies over 3 MiB are refused, like the real server's
limit), **authenticate** (401), classify it with ``request_info``,
**authorize** (403), then serve discovery or hand it to the REST handlers;
finally *negotiate* the response format from ``Accept``: JSON, YAML, or the
``Table`` that ``kubectl get`` asks for (``application/json;as=Table;g=meta.k8s.io;v=v1``).

Every failure — bad JSON, unknown resource, a bug — is answered with a
``Status`` object, never a traceback.  Watches are streamed with chunked
transfer encoding, one JSON event per line, each flushed as it happens.

Clients may act as someone else with ``Impersonate-User`` / ``-Group``
headers (``kubectl --as``) if the authorizer allows the ``impersonate`` verb.

Simplified: no protobuf or CBOR answers (clients that also accept JSON get JSON), no
HTTP/2, no TLS (we listen on 127.0.0.1 only), no request timeouts for
non-watch requests.
"""

from __future__ import annotations

import json
import logging
import select
import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import yaml

from fromscratch.api import discovery, errors
from fromscratch.api.auth import Attributes, UserInfo, forbidden_message
from fromscratch.api.handlers import Request, Response
from fromscratch.api.request_info import RequestInfo, RequestInfoError, request_info
from fromscratch.api.table import to_table
from fromscratch.api.watching import FLUSH, WatchSession

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

log = logging.getLogger("fromscratch.apiserver")
MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's default limit for a request body
DRAIN_LIMIT = 64 * 1024 * 1024  # a too-large body up to this size is read and dropped
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
NOT_FOUND = "the server could not find the requested resource"


def negotiate(accept: str | None) -> str:
    """'json', 'yaml' or 'table' — the first acceptable media type in ``Accept``."""
    if not accept or not accept.strip():
        return "json"
    for part in accept.split(","):
        media, *raw = [p.strip() for p in part.split(";")]
        params = dict(p.split("=", 1) for p in raw if "=" in p)
        media = media.lower()
        if media == "application/json":
            if params.get("as") == "Table":
                return "table"
            if "as" not in params:
                return "json"
        elif media in ("application/yaml", "text/yaml"):
            return "yaml"
        elif media in ("*/*", "application/*"):
            return "json"
    raise errors.not_acceptable("application/json, application/yaml, "
                                "application/json;as=Table;v=v1;g=meta.k8s.io")


class APIRequestHandler(BaseHTTPRequestHandler):
    """One connection's requests; ``self.server.api`` is the :class:`APIServer`."""

    protocol_version = "HTTP/1.1"  # keep-alive: every response has a length or is chunked
    server_version = "fromscratch-apiserver"
    # headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every response
    disable_nagle_algorithm = True

    @property
    def api(self) -> APIServer:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    # BaseHTTPRequestHandler calls this for malformed requests and unknown methods
    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        if code == 501:
            err = errors.method_not_allowed(self.command or "?", self.path or "/")
        else:
            err = errors.APIError(code, "BadRequest" if code == 400 else "Unknown",
                                  message or explain or "bad request")
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # unparsable request line: still answer HTTP/1.1
        self._send(err.code, err.status(), "json")

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # --- the chain -------------------------------------------------------------------------
    def _handle(self) -> None:
        try:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            body = self._read_body()
            user = self.api.authenticator.authenticate(self.headers.get("Authorization"))
            user = self._impersonate(user)
            try:
                info = request_info(self.command, split.path, query)
            except RequestInfoError as err:
                raise errors.bad_request(str(err)) from None
            self._authorize(user, info)
            request = Request(self.command, split.path, query, body,
                              self.headers.get("Content-Type") or "application/json", user)
            if not info.is_resource_request:
                self._non_resource(info, request)
            else:
                self._resource(info, request)
        except errors.APIError as err:
            self._send(err.code, err.status(), "json")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # a bug: still a Status, never a traceback on the wire
            log.error("internal error on %s %s: %s", self.command, self.path,
                      traceback.format_exc())
            self.api.internal_errors += 1
            failure = errors.internal_error(type(err).__name__)
            self._send(failure.code, failure.status(), "json")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise errors.APIError(411, "BadRequest", "chunked request bodies are not supported; "
                                  "send Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise errors.bad_request("invalid Content-Length") from None
        if length < 0:
            self.close_connection = True
            raise errors.bad_request("invalid Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            if length <= DRAIN_LIMIT:
                # read and drop it, so the client is not cut off mid-send and sees our 413
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 16))
                    if not chunk:
                        break
                    length -= len(chunk)
            raise errors.too_large(MAX_BODY)
        return self.rfile.read(length) if length else b""

    def _impersonate(self, user: UserInfo) -> UserInfo:
        """``Impersonate-User`` / ``-Group`` / ``-Uid`` / ``-Extra-*``: act as someone else.

        kube-apiserver's ``WithImpersonation`` filter, after authentication and
        before authorization; the rules live in ``rbac/impersonation.py``.
        """
        from fromscratch.api.rbac.impersonation import impersonate

        return impersonate(user, self.headers, self.api.authorizer)

    def _authorize(self, user: UserInfo, info: RequestInfo) -> None:
        attributes = Attributes(user=user, verb=info.verb,
                                is_resource_request=info.is_resource_request, path=info.path,
                                namespace=info.namespace, api_group=info.api_group,
                                api_version=info.api_version, resource=info.resource,
                                subresource=info.subresource, name=info.name)
        allowed, reason = self.api.authorizer(attributes)
        if not allowed:
            raise errors.forbidden_error(forbidden_message(attributes, reason),
                                         resource=info.resource, name=info.name,
                                         group=info.api_group)

    def _non_resource(self, info: RequestInfo, request: Request) -> None:
        path = request.path.rstrip("/") or "/"
        if path in HEALTH_PATHS or path.startswith(tuple(p + "/" for p in HEALTH_PATHS)):
            return self._send_text(200, "ok")
        if request.method not in ("GET", "HEAD"):
            raise errors.method_not_allowed(request.method, path)
        kinds = self.api.kinds
        parts = path.strip("/").split("/")
        body: dict[str, Any] | None = None
        if path == "/version":
            body = discovery.version_info()
        elif path == "/api":
            body = discovery.api_versions(f"127.0.0.1:{self.api.port}")
        elif path == "/apis":
            body = discovery.api_group_list(kinds)
        elif parts[0] == "apis" and len(parts) == 2 and parts[1] in kinds.groups():
            body = discovery.api_group(parts[1], kinds.groups()[parts[1]])
        elif parts[0] == "api" and len(parts) == 2:
            body = discovery.api_resource_list(kinds, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            body = discovery.api_resource_list(kinds, parts[1], parts[2])
        elif parts[0] == "openapi":
            from fromscratch.api.openapi import openapi_document

            body = openapi_document(kinds, path)
        if body is None:
            raise errors.APIError(404, "NotFound", NOT_FOUND)
        self._send(200, body, "json")

    def _resource(self, info: RequestInfo, request: Request) -> None:
        kind = self.api.kinds.lookup(info.api_group, info.api_version, info.resource)
        if kind is None:
            raise errors.APIError(404, "NotFound", NOT_FOUND)
        fmt = negotiate(self.headers.get("Accept"))
        if info.verb == "watch":
            namespace = "" if kind.plural == "namespaces" else info.namespace
            session = WatchSession(self.api.registry, kind, namespace, request.query,
                                   stop=self.api.stopping,
                                   bookmark_interval=self.api.bookmark_interval)
            return self._stream(session, fmt, request.query)
        response = self.api.handlers.handle(info, kind, request)
        if response.stream is not None:
            return self._stream_body(response)
        if fmt == "table" and response.kind is not None:
            return self._send(response.code, self._table(response, request.query), "json")
        self._send(response.code, response.body, "yaml" if fmt == "yaml" else "json",
                   warnings=response.warnings)

    def _table(self, response: Response, query: dict[str, str]) -> dict[str, Any]:
        assert response.kind is not None
        include = query.get("includeObject") or "Metadata"
        if include not in ("None", "Metadata", "Object"):
            raise errors.bad_request(f"includeObject must be None, Metadata or Object, "
                                     f"not {include!r}")
        if response.listed is not None:
            return to_table(response.kind, response.listed, include_object=include,
                            list_metadata=response.body.get("metadata"))
        return to_table(response.kind, [response.body], include_object=include,
                        list_metadata={"resourceVersion": response.body["metadata"].get(
                            "resourceVersion", "")})

    # --- writing ---------------------------------------------------------------------------
    def _send(self, code: int, body: dict[str, Any], fmt: str,
              warnings: list[str] | None = None) -> None:
        if fmt == "yaml":
            data, media = yaml.safe_dump(body, sort_keys=False).encode(), "application/yaml"
        else:
            data, media = json.dumps(body, separators=(",", ":")).encode(), "application/json"
        self.send_response(code)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for warning in warnings or []:
            # RFC 7234 warn-code 299, as kube-apiserver sends them; kubectl prints "Warning: ..."
            self.send_header("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stream_body(self, response: Response) -> None:
        """A body of unknown length (``pods/log``), chunk by chunk until it ends or the client
        hangs up; the stream yields ``b""`` when idle so a vanished client is noticed."""
        stream = response.stream
        assert stream is not None
        if response.code == 204:  # no content: no body, not even an empty chunked one
            self.send_response(204)
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            return
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            for data in stream:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                elif self.api.stopping.is_set() or self._client_gone():
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client went away
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        self.close_connection = True

    def _client_gone(self) -> bool:
        # a client following a log sends nothing more: readable means it closed the connection
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable)

    def _stream(self, session: WatchSession, fmt: str, query: dict[str, str]) -> None:
        include = query.get("includeObject") or "Metadata"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        first = True
        batch: list[bytes] = []
        try:
            for event in session.events():
                if event is FLUSH:
                    if batch:
                        data = b"".join(batch)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                        batch = []
                    continue
                if fmt == "table" and event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    # column definitions only in the first event, as kube-apiserver does
                    event = {"type": event["type"], "object": to_table(
                        session.kind, [event["object"]], include_object=include,
                        with_columns=first)}
                    first = False
                    batch.append(json.dumps(event, separators=(",", ":")).encode() + b"\n")
                else:
                    batch.append(self.api.encoded_events.encode(event))
                # a backlog goes out in one chunk; otherwise each event is flushed at once
                if not session.more_ready() or len(batch) >= 200:
                    data = b"".join(batch)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    batch = []
            if batch:
                data = b"".join(batch)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client went away: the watch ends with it
        self.close_connection = True

"""The kubelet's HTTP endpoint: container logs, the Summary API and a health check.

Models the kubelet server (``pkg/kubelet/server/server.go``, port 10250) for
the three requests the rest of the course needs:

- ``GET /containerLogs/{namespace}/{pod}/{container}`` — what the API server
  proxies ``kubectl logs`` to (``pods/<name>/log``), with ``tailLines``,
  ``limitBytes``, ``previous`` (the run before a restart) and ``follow``
  (keep streaming until the container stops);
- ``GET /stats/summary`` — the Summary API (:mod:`.stats`) that metrics-server
  scrapes;
- ``GET /healthz`` — ``ok``.

One :class:`KubeletServer` can serve many in-process kubelets (a simulated
cluster has one port for all its nodes): logs are routed by Pod, and the
Summary API of node ``N`` is ``/stats/summary?node=N`` (plain ``/stats/summary``
when one kubelet is served).  Every node then reports this port in
``status.daemonEndpoints.kubeletEndpoint.Port``.

Simplified: plain HTTP on 127.0.0.1, no authentication or authorization
(upstream: HTTPS with client certificates and webhook authorization);
``timestamps`` is not supported (the runtimes do not time-stamp output lines);
no ``exec``, ``attach`` or ``portForward`` endpoints.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FOLLOW_POLL = 0.2


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _send(self, code: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/") if p]
        owner: KubeletServer = self.server.owner
        try:
            if parts == ["healthz"]:
                return self._send(200, "ok")
            if parts[:1] == ["containerLogs"] and len(parts) == 4:
                return self._logs(owner, *parts[1:], query)
            if parts == ["stats", "summary"]:
                kubelet = owner.kubelet_for_node(query.get("node"))
                return self._send(200, json.dumps(kubelet.stats.summary()), "application/json")
            return self._send(404, f"404 page not found: {url.path}\n")
        except LookupError as err:
            return self._send(404, f"{err.args[0]}\n")
        except ValueError as err:
            return self._send(400, f"{err}\n")

    def _logs(self, owner: KubeletServer, namespace: str, name: str, container: str,
              query: dict[str, str]) -> None:
        if query.get("timestamps") in ("true", "1"):
            raise ValueError("timestamps=true is not supported: the runtimes keep no per-line times")
        pod = owner.pod(namespace, name)
        try:
            pod.run_of(container)
        except KeyError:
            raise LookupError(f'container "{container}" in pod "{name}" is not valid') from None
        previous = query.get("previous") in ("true", "1")
        text = pod.logs(container, previous=previous)
        text = _tail(text, query.get("tailLines"))
        text = _limit(text, query.get("limitBytes"))
        if query.get("follow") not in ("true", "1") or previous:
            return self._send(200, text)
        # follow: stream what is new until the container stops running (or the client leaves)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        sent = len(pod.logs(container))
        try:
            self.wfile.write(text.encode())
            self.wfile.flush()
            while not owner.stopping.is_set():
                time.sleep(FOLLOW_POLL)
                current = pod.logs(container)
                if len(current) > sent:
                    self.wfile.write(current[sent:].encode())
                    self.wfile.flush()
                    sent = len(current)
                if not pod.run_of(container).running or pod.terminated:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass


def _tail(text: str, lines: str | None) -> str:
    if lines is None:
        return text
    if not lines.lstrip("-").isdigit():
        raise ValueError(f"tailLines must be an integer, not {lines!r}")
    count = int(lines)
    if count < 0:
        raise ValueError(f"tailLines must not be negative, got {count}")
    kept = text.splitlines(keepends=True)
    return "".join(kept[len(kept) - count:]) if count else ""


def _limit(text: str, limit: str | None) -> str:
    if limit is None:
        return text
    if not limit.isdigit() or int(limit) < 1:
        raise ValueError(f"limitBytes must be a positive integer, not {limit!r}")
    return text.encode()[:int(limit)].decode(errors="ignore")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: KubeletServer


class KubeletServer:
    """An HTTP server on 127.0.0.1 for any number of in-process kubelets."""

    def __init__(self, port: int = 0) -> None:
        self.requested_port = port
        self.kubelets: dict[str, Any] = {}
        self.stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> KubeletServer:
        if self._httpd is None:
            self.stopping.clear()
            self._httpd = _HTTPServer(("127.0.0.1", self.requested_port), _Handler)
            self._httpd.owner = self
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            kwargs={"poll_interval": 0.2},
                                            name="kubelet-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> KubeletServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        self.start()
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- routing -------------------------------------------------------------------------------
    def add(self, kubelet: Any) -> None:
        self.start()
        self.kubelets[kubelet.node_name] = kubelet

    def remove(self, kubelet: Any) -> None:
        if self.kubelets.get(kubelet.node_name) is kubelet:
            del self.kubelets[kubelet.node_name]

    def kubelet_for_node(self, node: str | None) -> Any:
        if node is None:
            if len(self.kubelets) != 1:
                raise ValueError(f"this server serves {len(self.kubelets)} nodes; "
                                 "say which with ?node=<name>")
            return next(iter(self.kubelets.values()))
        if node not in self.kubelets:
            raise LookupError(f'node "{node}" is not served here')
        return self.kubelets[node]

    def pod(self, namespace: str, name: str) -> Any:
        key = f"{namespace}/{name}"
        for kubelet in list(self.kubelets.values()):
            pod = kubelet.pods().get(key)
            if pod is not None:
                return pod
        raise LookupError(f'pods "{name}" not found')

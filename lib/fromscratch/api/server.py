"""The API server: ``with APIServer() as srv:`` — a Kubernetes API on 127.0.0.1.

Models kube-apiserver as a whole: one HTTP endpoint in front of the versioned
store, speaking the Kubernetes REST API closely enough that the official
``kubernetes`` Python client and ``kubectl`` use it unchanged.  It wires the
pieces of this package together:

    transport (HTTP, auth, negotiation) -> handlers -> registry -> store (memory | SQLite)
                                                      \\-> admission, validation, CRDs

Use it from a notebook::

    with APIServer() as srv:
        api = kubernetes.client.CoreV1Api(srv.client())
        subprocess.run(["kubectl", "--kubeconfig", srv.kubeconfig_path, "get", "pods"])

or as a process: ``python -m fromscratch apiserver --port 6443 --store sqlite:state.db``.

It listens on 127.0.0.1 only (an ephemeral port unless told otherwise), over
HTTPS with a CA made at start-up (``certs.py``); every client needs the CA and
the bearer token, both written in the kubeconfig.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import logging
import os
import secrets
import signal
import ssl
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from fromscratch.api.admission import AdmissionChain
from fromscratch.api.admission_plugins import default_toleration_seconds
from fromscratch.api.auth import Authenticator, Authorizer, UserInfo, allow_all, read_token_file
from fromscratch.api.certs import make_pki
from fromscratch.api.handlers import ResourceHandlers
from fromscratch.api.kinds import KindRegistry
from fromscratch.api.namespaces import create_initial_namespaces, namespace_lifecycle
from fromscratch.api.registry import Registry
from fromscratch.api.store import Store, open_store
from fromscratch.api.transport import APIRequestHandler
from fromscratch.api.watching import EncodedEvents

log = logging.getLogger("fromscratch.apiserver")
ADMIN = UserInfo(name="admin", uid="admin", groups=("system:masters", "system:authenticated"))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a watch still streaming must not keep the process alive
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        # a client that hangs up or fails the TLS handshake is not our error
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class APIServer:
    """A running Kubernetes API server, in a background thread of this process."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", store: str | Store = "memory",
                 token_file: str | None = None, admin_token: str | None = None,
                 history: int = 10_000, bookmark_interval: float = 60.0,
                 authorizer: Authorizer = allow_all, kubeconfig_path: str | None = None) -> None:
        host = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the API server listens on loopback only, not {host!r}")
        self.host, self.requested_port = host, port
        self.store = open_store(store, history=history) if isinstance(store, str) else store
        self.kinds = KindRegistry()
        self.admission = AdmissionChain()
        self.registry = Registry(self.store, self.kinds, admission=self.admission)
        self.admission.add_validating("NamespaceLifecycle", namespace_lifecycle(self.registry))
        # on by default, as upstream; ServiceAccount comes with enable_admission_plugins/RBAC
        self.admission.add_mutating("DefaultTolerationSeconds", default_toleration_seconds)
        self._tempdir = tempfile.TemporaryDirectory(prefix="fromscratch-apiserver-")
        self.pki = make_pki(os.path.join(self._tempdir.name, "pki"))
        self.authenticator = Authenticator(
            read_token_file(token_file) if token_file else {},
            signing_key=self.pki.token_key_pem, service_account_uid=self._service_account_uid)
        self.token = admin_token or secrets.token_urlsafe(24)
        self.authenticator.add_token(self.token, ADMIN)
        self.authorizer: Authorizer = authorizer
        # reviews ask whichever authorizer is plugged in at the time
        self.handlers = ResourceHandlers(self.registry, self.authenticator,
                                         lambda attributes: self.authorizer(attributes))
        self.bookmark_interval = bookmark_interval
        self.encoded_events = EncodedEvents()
        self.stopping = threading.Event()
        self.internal_errors = 0  # 5xx answered so far: a bug counter for tests
        self._kubeconfig_path = kubeconfig_path
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        from fromscratch.api.crd import CRDController

        self.crds = CRDController(self.registry)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> APIServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        create_initial_namespaces(self.registry)
        self.crds.load_existing()
        self._httpd = _HTTPServer((self.host, self.requested_port), APIRequestHandler)
        self._httpd.api = self  # type: ignore[attr-defined]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        # subtle: the TLS handshake happens in the connection's own thread, not in accept()
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name=f"apiserver-{self.port}", daemon=True)
        self._thread.start()
        self.write_kubeconfig()
        return self

    def stop(self) -> None:
        """Stop serving: end watches, close the listening socket (``start()`` serves again)."""
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def close(self) -> None:
        """Stop, close the store and remove the certificates and kubeconfig."""
        self.stop()
        self.store.close()
        self._tempdir.cleanup()

    def __enter__(self) -> APIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- addresses and clients -------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the API server is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def kubeconfig_path(self) -> str:
        if self._kubeconfig_path is None:
            self._kubeconfig_path = os.path.join(self._tempdir.name, "kubeconfig")
        return self._kubeconfig_path

    def kubeconfig(self, *, token: str | None = None, user: str = "admin") -> dict[str, Any]:
        """A kubeconfig for this server (the admin token unless ``token`` is given)."""
        return {
            "apiVersion": "v1", "kind": "Config", "current-context": "fromscratch",
            "clusters": [{"name": "fromscratch", "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(
                    self.pki.ca_cert.read_bytes()).decode()}}],
            "users": [{"name": user, "user": {"token": token or self.token}}],
            "contexts": [{"name": "fromscratch", "context": {
                "cluster": "fromscratch", "user": user, "namespace": "default"}}],
        }

    def write_kubeconfig(self) -> str:
        path = Path(self.kubeconfig_path)
        path.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        path.chmod(0o600)
        return str(path)

    def client(self, token: str | None = None):
        """An official-client ``ApiClient`` for this server."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        configuration.ssl_ca_cert = str(self.pki.ca_cert)
        configuration.api_key = {"authorization": token or self.token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        # informers, controllers and kubelets share one client: more than urllib3's default 10
        configuration.connection_pool_maxsize = 64
        return client.ApiClient(configuration)

    def _service_account_uid(self, namespace: str, name: str) -> str | None:
        kind = self.kinds.lookup("", "v1", "serviceaccounts")
        assert kind is not None
        try:
            return self.registry.get(kind, namespace, name)["metadata"]["uid"]
        except Exception:
            return None


def main(argv: list[str]) -> int:
    """``python -m fromscratch apiserver --port N [--store sqlite:PATH] [--token-file F]
    [--authorization-mode RBAC]``."""
    parser = argparse.ArgumentParser(prog="python -m fromscratch apiserver",
                                     description="Serve the Kubernetes API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    parser.add_argument("--store", default="memory", help="memory (default) or sqlite:PATH")
    parser.add_argument("--token-file", help="static tokens: token,user,uid[,\"groups\"] per line")
    parser.add_argument("--admin-token", help="the admin token (default: a random one)")
    parser.add_argument("--kubeconfig", help="where to write a kubeconfig for this server")
    parser.add_argument("--history", type=int, default=10_000, help="watch history length")
    parser.add_argument("--authorization-mode", choices=("AlwaysAllow", "RBAC"),
                        default="AlwaysAllow", help="RBAC: enforce Roles and bindings")
    args = parser.parse_args(argv)
    try:
        server = APIServer(port=args.port, store=args.store, token_file=args.token_file,
                           admin_token=args.admin_token, history=args.history,
                           kubeconfig_path=args.kubeconfig).start()
        if args.authorization_mode == "RBAC":
            from fromscratch.api.rbac import enable_rbac

            enable_rbac(server)
    except (OSError, ValueError) as err:
        print(f"apiserver: {err}", file=sys.stderr)
        return 1
    print(f"serving the Kubernetes API on {server.url}", flush=True)
    print(f"kubeconfig: {server.kubeconfig_path}", flush=True)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    server.close()
    return 0

"""kubectl's protobuf request bodies: decoded exactly as kubectl's own JSON of the same object.

The oracle is kubectl itself: ``kubectl create … --dry-run=client -o json``
prints the object that the same command, run for real, encodes as Kubernetes
protobuf.  A capture server (127.0.0.1 only) records the protobuf bodies so the
decoder is checked field by field, even for kinds our API server does not serve;
then the real API server must store the same object whether it arrives as
protobuf or as JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fromscratch.api import errors, protobuf

# (test id, the kubectl create arguments): every one of them sends protobuf
CREATES = [
    ("deployment", "create deployment web --image=busybox --replicas=3 --port=8080 "
                   "-- sleep 3600"),
    ("deployment-zero-replicas", "create deployment idle --image=busybox:1.36 --replicas=0"),
    ("deployment-two-images", "create deployment duo --image=busybox --image=nginx:1.25"),
    ("job", "create job once --image=busybox -- echo hi there"),
    ("cronjob", "create cronjob tick --image=busybox --schedule=*/5_*_*_*_* "
                "--restart=OnFailure -- date"),
    ("service-clusterip", "create service clusterip front --tcp=80:8080 --tcp=443:https"),
    ("service-headless", "create service clusterip headless --clusterip=None"),
    ("service-nodeport", "create service nodeport np --tcp=80:8080"),
    ("service-loadbalancer", "create service loadbalancer lb --tcp=5678:8080"),
    ("service-externalname", "create service externalname ext --external-name=example.com"),
    ("pdb-percent", "create poddisruptionbudget half --selector=app=web --min-available=50%"),
    ("pdb-count", "create poddisruptionbudget one --selector=app=web --max-unavailable=1"),
    ("priorityclass", "create priorityclass high --value=1000 --description=urgent "
                      "--preemption-policy=Never"),
    ("quota", "create quota small --hard=cpu=1,memory=1Gi,pods=10,requests.cpu=500m"),
    ("configmap", "create configmap settings --from-literal=mode=fast --from-literal=level=3"),
    ("secret", "create secret generic creds --from-literal=password=hunter2"),
    ("rolebinding", "create rolebinding readers --role=reader --user=alice --group=devs"),
]
# the kinds our API server serves (PriorityClass and ResourceQuota are decoded, not served)
SERVED = [c for c in CREATES if c[0] not in ("priorityclass", "quota")] + [
    # kubectl create role looks its resources up in discovery: the capture server has none
    ("role", "create role reader --verb=get,list --resource=pods,deployments.apps")]


def _args(command: str, *flags: str) -> list[str]:
    # "_" stands for a space inside one argument (the cron schedule); flags go before "--"
    words = [word.replace("_", " ") for word in command.split()]
    cut = words.index("--") if "--" in words else len(words)
    return [*words[:cut], *flags, *words[cut:]]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class _Capture(BaseHTTPRequestHandler):
    """Records every request body; answers a create with the object it decoded."""

    bodies: list[tuple[str, bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.bodies.append((self.headers.get("Content-Type", ""), body))
        try:
            answer, code = protobuf.decode(body), 201
        except errors.APIError as err:
            answer, code = {"kind": "Status", "apiVersion": "v1", "code": err.code}, err.code
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def capture(kubectl, tmp_path_factory) -> Iterator[tuple[Path, list[tuple[str, bytes]]]]:
    """A kubeconfig pointing at the capture server, and the bodies it received."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    config = tmp_path_factory.mktemp("capture") / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "capture",
        "clusters": [{"name": "capture",
                      "cluster": {"server": f"http://127.0.0.1:{httpd.server_port}"}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "capture",
                      "context": {"cluster": "capture", "user": "nobody", "namespace": "demo"}}],
    }))
    try:
        yield config, _Capture.bodies
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("name", "command"), CREATES, ids=[c[0] for c in CREATES])
def test_protobuf_body_decodes_to_kubectls_own_json(kubectl, capture, name, command):
    config, bodies = capture
    dry_run = _args(command, "--dry-run=client", "-o", "json")
    expected = json.loads(kubectl("--kubeconfig", str(config), *dry_run).stdout)
    before = len(bodies)
    kubectl("--kubeconfig", str(config), *_args(command))
    assert len(bodies) == before + 1, "kubectl should send exactly one request body"
    content_type, body = bodies[-1]
    assert content_type == "application/vnd.kubernetes.protobuf"
    assert protobuf.decode(body) == _without_nulls(expected)


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored object without what differs between two creations of it."""
    meta = obj["metadata"]
    text = json.dumps({k: v for k, v in obj.items() if k != "status"})
    text = text.replace(meta["uid"], "UID").replace(f'"{meta["namespace"]}"', '"NS"')
    result = json.loads(text)
    for key in ("resourceVersion", "creationTimestamp", "managedFields", "generation"):
        result["metadata"].pop(key, None)
    spec = result.get("spec", {})
    for key in ("clusterIP", "clusterIPs"):  # allocated from a pool: differ between the two
        if spec.get(key) not in (None, "None", ["None"]):
            spec.pop(key)
    for port in spec.get("ports", []):
        port.pop("nodePort", None)
    return result


def _contains(whole: Any, part: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(_contains(whole.get(k), v) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) \
            and all(_contains(w, p) for w, p in zip(whole, part, strict=True))
    return whole == part


@pytest.mark.parametrize(("name", "command"), SERVED, ids=[c[0] for c in SERVED])
def test_server_stores_a_protobuf_create_like_its_json_twin(kubectl, server, ns, tmp_path,
                                                            name, command):
    dry = kubectl("-n", ns, *_args(command, "--dry-run=client", "-o", "json")).stdout
    sent = json.loads(dry)
    kind, obj_name = sent["kind"].lower(), sent["metadata"]["name"]
    kubectl("-n", ns, *_args(command))  # protobuf
    twin_ns = ns + "-json"
    kubectl("create", "namespace", twin_ns)
    manifest = tmp_path / "twin.json"
    manifest.write_text(json.dumps({**sent, "metadata": {
        k: v for k, v in sent["metadata"].items() if k != "namespace"}}))
    kubectl("-n", twin_ns, "create", "-f", str(manifest))  # the same object as JSON
    stored = json.loads(kubectl("-n", ns, "get", kind, obj_name, "-o", "json").stdout)
    twin = json.loads(kubectl("-n", twin_ns, "get", kind, obj_name, "-o", "json").stdout)
    assert _normalized(stored) == _normalized(twin)
    # and what kubectl sent is all there, server-side defaults aside
    assert _contains(stored, {k: v for k, v in _without_nulls(sent).items() if k != "status"})
    kubectl("delete", "namespace", twin_ns, "--wait=false")

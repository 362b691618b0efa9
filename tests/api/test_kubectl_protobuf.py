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
import random
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
    ("ingress", "create ingress site --class=nginx --rule=foo.com/bar*=svc1:8080,tls=cert "
                "--rule=/api=api:http --default-backend=web:80"),
    ("configmap", "create configmap settings --from-literal=mode=fast --from-literal=level=3"),
    ("secret", "create secret generic creds --from-literal=password=hunter2"),
    ("rolebinding", "create rolebinding readers --role=reader --user=alice --group=devs"),
]
# the kinds our API server serves (PriorityClass, ResourceQuota, Ingress: decoded, not served)
SERVED = [c for c in CREATES if c[0] not in ("priorityclass", "quota", "ingress")] + [
    # kubectl create role looks its resources up in discovery: the capture server has none
    ("role", "create role reader --verb=get,list --resource=pods,deployments.apps"),
    # kubectl run sends JSON; checked here all the same
    ("run", "run solo --image=busybox --restart=Never --labels=app=solo,tier=x --env=A=1 "
            "--env=B=two --port=80 -- sleep 3600")]


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


def test_commands_after_a_protobuf_create_patch_and_expose_it(kubectl, ns):
    # expose, set and label send JSON (a Service object, strategic merge patches)
    kubectl("-n", ns, "create", "deployment", "web", "--image=busybox", "--replicas=2",
            "--port=8080", "--", "sleep", "3600")
    kubectl("-n", ns, "expose", "deployment", "web", "--port=80", "--target-port=8080")
    kubectl("-n", ns, "set", "image", "deployment/web", "busybox=busybox:1.36")
    kubectl("-n", ns, "set", "env", "deployment/web", "MODE=fast")
    kubectl("-n", ns, "set", "resources", "deployment/web", "--limits=cpu=200m,memory=512Mi",
            "--requests=cpu=100m")
    kubectl("-n", ns, "label", "deployment", "web", "tier=front")
    kubectl("-n", ns, "annotate", "deployment", "web", "owner=team-a")
    web = json.loads(kubectl("-n", ns, "get", "deployment", "web", "-o", "json").stdout)
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert web["spec"]["replicas"] == 2
    assert container["image"] == "busybox:1.36" and container["command"] == ["sleep", "3600"]
    assert container["env"] == [{"name": "MODE", "value": "fast"}]
    assert container["resources"] == {"limits": {"cpu": "200m", "memory": "512Mi"},
                                      "requests": {"cpu": "100m"}}
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert web["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert web["metadata"]["annotations"]["owner"] == "team-a"
    service = json.loads(kubectl("-n", ns, "get", "service", "web", "-o", "json").stdout)
    assert service["spec"]["selector"] == {"app": "web"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 8080)]


def test_job_from_a_protobuf_cronjob_copies_its_template(kubectl, ns):
    kubectl("-n", ns, "create", "cronjob", "tick", "--image=busybox", "--schedule=0 * * * *",
            "--", "date")
    command = ("create", "job", "manual", "--from=cronjob/tick")
    sent = json.loads(kubectl("-n", ns, *command, "--dry-run=client", "-o", "json").stdout)
    kubectl("-n", ns, *command)  # protobuf, with an ownerReference to the CronJob
    job = json.loads(kubectl("-n", ns, "get", "job", "manual", "-o", "json").stdout)
    cronjob = json.loads(kubectl("-n", ns, "get", "cronjob", "tick", "-o", "json").stdout)
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == \
        ("CronJob", "tick", cronjob["metadata"]["uid"], True)
    assert job["metadata"]["annotations"] == sent["metadata"]["annotations"]
    template = job["spec"]["template"]["spec"]
    assert template["containers"][0]["command"] == ["date"]
    assert template["restartPolicy"] == "OnFailure"


# --- hand-encoded bodies for the fields no imperative kubectl command sets ---------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64: ten bytes of two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _num(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _msg(number: int, *parts: bytes) -> bytes:
    data = b"".join(parts)
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _str(number: int, text: str) -> bytes:
    return _msg(number, text.encode())


def _entry(number: int, key: str, value: bytes) -> bytes:
    return _msg(number, _str(1, key), _msg(2, value))


def _body(api_version: str, kind: str, *fields: bytes) -> bytes:
    type_meta = _msg(1, _str(1, api_version), _str(2, kind))
    return protobuf.MAGIC + type_meta + _msg(2, *fields)


def _pod(*spec: bytes) -> dict[str, Any]:
    return protobuf.decode(_body("v1", "Pod", _msg(1, _str(1, "p")), _msg(2, *spec)))


def test_empty_messages_survive_as_empty_objects_and_volume_sources_are_inlined():
    spec = _pod(_msg(1, _str(1, "scratch"), _msg(2, _msg(2))),  # emptyDir: {}
                _msg(1, _str(1, "logs"), _msg(2, _msg(1, _str(1, "/var/log"), _str(2, "")))),
                _msg(1, _str(1, "conf"), _msg(2, _msg(19, _msg(1, _str(1, "settings")),
                                                      _msg(2, _str(1, "a"), _str(2, "a.txt"))))),
                _msg(1, _str(1, "token"), _msg(2, _msg(26, _msg(1, _msg(4, _num(2, 3600),
                                                                          _str(3, "token")))))),
                _msg(2, _str(1, "main"), _msg(8)))["spec"]
    assert spec["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "logs", "hostPath": {"path": "/var/log", "type": ""}},
        {"name": "conf", "configMap": {"name": "settings", "items": [{"key": "a", "path": "a.txt"}]}},
        {"name": "token", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}}]}}]
    assert spec["containers"] == [{"name": "main", "resources": {}}]


def test_env_sources_probes_and_resources_decode_like_their_json():
    quantity = _str(1, "250m")
    container = _pod(_msg(2, _str(1, "app"), _str(2, "busybox"),
                          _msg(7, _str(1, "MODE"), _msg(3, _msg(3, _msg(1, _str(1, "cm")),
                                                                _str(2, "mode")))),
                          _msg(7, _str(1, "POD"), _msg(3, _msg(1, _str(2, "metadata.name")))),
                          _msg(19, _str(1, "APP_"), _msg(3, _msg(1, _str(1, "creds")))),
                          _msg(8, _entry(1, "cpu", quantity), _entry(2, "memory", _str(1, "64Mi"))),
                          _msg(10, _msg(1, _msg(2, _str(1, "/healthz"),
                                                _msg(2, _num(1, 1), _str(3, "http")))),
                               _num(2, 5), _num(6, 0)),
                          _msg(15, _num(4, 0), _num(2, 0))))["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "mode"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert container["envFrom"] == [{"prefix": "APP_", "secretRef": {"name": "creds"}}]
    assert container["resources"] == {"limits": {"cpu": "250m"}, "requests": {"memory": "64Mi"}}
    # the probe's handler is inlined; failureThreshold 0 is an omitempty zero, dropped
    assert container["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": "http"},
                                          "initialDelaySeconds": 5}
    # pointer fields keep their zero: runAsUser 0 (root) and privileged false were set
    assert container["securityContext"] == {"runAsUser": 0, "privileged": False}


def test_negative_integers_times_and_omitempty_zeros_in_object_meta():
    obj = protobuf.decode(_body("v1", "Pod", _msg(1, _str(1, "p"), _str(2, ""), _num(7, 0),
                                                  _msg(8, _num(1, 1700000000))),
                                _msg(2, _num(4, -1), _num(25, -5), _num(11, 0))))
    assert obj["metadata"] == {"name": "p", "creationTimestamp": "2023-11-14T22:13:20Z"}
    assert obj["spec"] == {"terminationGracePeriodSeconds": -1, "priority": -5}


def test_kinds_without_a_table_are_a_415_naming_the_kinds_we_read():
    with pytest.raises(errors.APIError) as caught:
        protobuf.decode(_body("apps/v1", "StatefulSet", _msg(1, _str(1, "db"))))
    assert caught.value.code == 415
    assert "StatefulSet" in caught.value.message and "Deployment" in caught.value.message


def test_truncated_protobuf_is_a_400():
    body = _body("apps/v1", "Deployment", _msg(1, _str(1, "web")))
    with pytest.raises(errors.APIError) as caught:
        protobuf.decode(body[:-2])
    assert caught.value.code == 400 and "couldn't decode" in caught.value.message


def test_server_answers_protobuf_of_a_kind_without_a_table_with_a_415_status(server, ns):
    from tests.api.helpers import raw_request

    body = _body("coordination.k8s.io/v1", "Lease", _msg(1, _str(1, "lock")))
    code, status = raw_request(server, "POST",
                               f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", body=body,
                               headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert code == 415 and status["kind"] == "Status" and "Lease" in status["message"]


def test_run_with_expose_creates_the_pod_and_its_service(kubectl, ns):
    kubectl("-n", ns, "run", "echo", "--image=busybox", "--port=8080", "--expose",
            "--", "sleep", "3600")
    pod = json.loads(kubectl("-n", ns, "get", "pod", "echo", "-o", "json").stdout)
    service = json.loads(kubectl("-n", ns, "get", "service", "echo", "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert service["spec"]["selector"] == {"run": "echo"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(8080, 8080)]


def test_damaged_bodies_are_a_400_never_a_crash():
    # every byte of a real kubectl body flipped, and every truncation: 400 or a decoded object
    rng = random.Random(8)
    container = _msg(2, _str(1, "c"), _msg(6, _num(3, 80)), _msg(8, _entry(1, "cpu", _str(1, "1"))),
                     _msg(10, _msg(1, _msg(3, _msg(1, _num(1, 0), _num(2, 80))))))
    body = _body("apps/v1", "Deployment", _msg(1, _str(1, "web"), _msg(8, _num(1, 1))),
                 _msg(2, _num(1, 3), _msg(3, _msg(2, container))))
    damaged = [body[:cut] for cut in range(len(body))]
    damaged += [body[:i] + bytes([rng.randrange(256)]) + body[i + 1:]
                for i in range(len(body)) for _ in range(8)]
    for sample in damaged:
        try:
            assert isinstance(protobuf.decode(sample), dict)
        except errors.APIError as err:
            assert err.code in (400, 415), err.message

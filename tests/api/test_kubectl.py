"""The real kubectl binary against our API server: the commands the course uses."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import yaml

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: NAME, labels: {app: web, tier: fe}}
spec:
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
"""


def test_api_resources_and_versions_come_from_discovery(kubectl):
    resources = kubectl("api-resources").stdout
    assert "deployments" in resources and "deploy" in resources and "apps/v1" in resources
    versions = kubectl("api-versions").stdout.split()
    assert {"v1", "apps/v1", "batch/v1", "autoscaling/v2", "rbac.authorization.k8s.io/v1"} \
        <= set(versions)


def test_create_get_and_delete_from_a_file(kubectl, ns, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD.replace("NAME", "p1"))
    assert "pod/p1 created" in kubectl("-n", ns, "create", "-f", str(manifest)).stdout
    table = kubectl("-n", ns, "get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:3] == ["p1", "0/1", "Pending"]
    wide = kubectl("-n", ns, "get", "pods", "-o", "wide").stdout.splitlines()[0].split()
    assert "IP" in wide and "NODE" in wide
    kubectl("-n", ns, "delete", "-f", str(manifest))
    gone = kubectl("-n", ns, "get", "pod", "p1", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_get_output_formats_and_label_selectors(kubectl, ns, tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(POD.replace("NAME", name))
        kubectl("-n", ns, "create", "-f", str(tmp_path / f"{name}.yaml"))
    kubectl("-n", ns, "label", "pod", "b", "tier=be", "--overwrite")
    as_json = json.loads(kubectl("-n", ns, "get", "pods", "-o", "json").stdout)
    assert [p["metadata"]["name"] for p in as_json["items"]] == ["a", "b"]
    as_yaml = yaml.safe_load(kubectl("-n", ns, "get", "pod", "a", "-o", "yaml").stdout)
    assert as_yaml["spec"]["containers"][0]["image"] == "busybox"
    names = kubectl("-n", ns, "get", "pods", "-l", "tier=fe", "-o", "name").stdout.split()
    assert names == ["pod/a"]
    everywhere = kubectl("get", "pods", "-A").stdout
    assert everywhere.splitlines()[0].split()[0] == "NAMESPACE" and ns in everywhere


def test_apply_twice_sends_a_patch_with_the_change(kubectl, ns, tmp_path, apps):
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(DEPLOYMENT.replace("REPLICAS", "2"))
    assert "created" in kubectl("-n", ns, "apply", "-f", str(manifest)).stdout
    manifest.write_text(DEPLOYMENT.replace("REPLICAS", "3"))
    assert "configured" in kubectl("-n", ns, "apply", "-f", str(manifest)).stdout
    live = apps.read_namespaced_deployment("web", ns)
    assert live.spec.replicas == 3 and live.metadata.generation == 2
    last = json.loads(live.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 3
    # unchanged: nothing to send
    assert "unchanged" in kubectl("-n", ns, "apply", "-f", str(manifest)).stdout


def test_label_annotate_and_three_kinds_of_patch(kubectl, ns, tmp_path, core):
    (tmp_path / "p.yaml").write_text(POD.replace("NAME", "p"))
    kubectl("-n", ns, "create", "-f", str(tmp_path / "p.yaml"))
    kubectl("-n", ns, "label", "pod", "p", "env=dev")
    kubectl("-n", ns, "annotate", "pod", "p", "note=hello")
    kubectl("-n", ns, "patch", "pod", "p", "-p", '{"metadata":{"labels":{"s":"1"}}}')
    kubectl("-n", ns, "patch", "pod", "p", "--type=merge", "-p",
            '{"metadata":{"labels":{"m":"2"}}}')
    kubectl("-n", ns, "patch", "pod", "p", "--type=json", "-p",
            '[{"op":"add","path":"/metadata/labels/j","value":"3"}]')
    live = core.read_namespaced_pod("p", ns)
    assert live.metadata.labels == {"app": "web", "tier": "fe", "env": "dev", "s": "1",
                                    "m": "2", "j": "3"}
    assert live.metadata.annotations == {"note": "hello"}


def test_scale_and_edit(kubectl, ns, tmp_path, apps):
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(DEPLOYMENT.replace("REPLICAS", "1"))
    kubectl("-n", ns, "apply", "-f", str(manifest))
    assert "scaled" in kubectl("-n", ns, "scale", "deployment", "web", "--replicas=4").stdout
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 4
    # a non-interactive editor: replace the image in the file kubectl hands it
    editor = f"{sys.executable} -c \"import sys,pathlib;p=pathlib.Path(sys.argv[1]);" \
             "p.write_text(p.read_text().replace('nginx:1.25','nginx:1.27'))\""
    kubectl("-n", ns, "edit", "deployment", "web", env={"KUBE_EDITOR": editor})
    image = apps.read_namespaced_deployment("web", ns).spec.template.spec.containers[0].image
    assert image == "nginx:1.27"


def test_describe_shows_the_object_and_its_events(kubectl, ns, tmp_path, core):
    (tmp_path / "p.yaml").write_text(POD.replace("NAME", "described"))
    kubectl("-n", ns, "create", "-f", str(tmp_path / "p.yaml"))
    core.create_namespaced_event(ns, {
        "metadata": {"name": "described.1"}, "type": "Normal", "reason": "Scheduled",
        "message": "assigned to node-1", "involvedObject": {
            "kind": "Pod", "name": "described", "namespace": ns,
            "uid": core.read_namespaced_pod("described", ns).metadata.uid}})
    text = kubectl("-n", ns, "describe", "pod", "described").stdout
    assert "Name:" in text and "described" in text and "QoS Class:" in text
    assert "Scheduled" in text and "assigned to node-1" in text


def test_get_watch_prints_changes_as_they_happen(kubectl, server, ns, tmp_path):
    (tmp_path / "p.yaml").write_text(POD.replace("NAME", "watched"))
    kubectl("-n", ns, "create", "-f", str(tmp_path / "p.yaml"))
    from tests.api.conftest import kubectl_binary

    env = {"KUBECONFIG": server.kubeconfig_path, "PATH": "/usr/bin:/bin"}
    watcher = subprocess.Popen([kubectl_binary(), "-n", ns, "get", "pods", "--watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        time.sleep(1.0)
        kubectl("-n", ns, "label", "pod", "watched", "round=2")
        kubectl("-n", ns, "delete", "pod", "watched")
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    rows = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert rows.count("watched") >= 3  # the listing, the label change, the deletion


def test_explain_reads_the_openapi_document(kubectl):
    text = kubectl("explain", "deployment").stdout
    assert "KIND:" in text and "Deployment" in text and "spec" in text


def test_server_errors_reach_kubectl_as_status_messages(kubectl, ns):
    missing = kubectl("-n", ns, "get", "deployment", "nope", check=False)
    assert missing.returncode == 1
    assert 'deployments.apps "nope" not found' in missing.stderr


def test_imperative_create_sends_protobuf_which_we_read_for_simple_kinds(kubectl, server, core):
    # kubectl's typed clients encode these as Kubernetes protobuf, not JSON
    kubectl("create", "namespace", "imperative")
    kubectl("-n", "imperative", "create", "configmap", "settings", "--from-literal=mode=fast",
            "--from-literal=level=3")
    kubectl("-n", "imperative", "create", "secret", "generic", "creds",
            "--from-literal=password=hunter2")
    kubectl("-n", "imperative", "create", "serviceaccount", "robot")
    token = kubectl("-n", "imperative", "create", "token", "robot").stdout.strip()
    assert core.read_namespaced_config_map("settings", "imperative").data == {
        "mode": "fast", "level": "3"}
    secret = core.read_namespaced_secret("creds", "imperative")
    assert secret.type == "Opaque" and secret.data == {"password": "aHVudGVyMg=="}
    from tests.api.helpers import raw_request

    assert raw_request(server, "GET", "/api/v1/namespaces/imperative/pods", token=token)[0] == 200


def test_server_side_apply_is_a_clear_415(kubectl, ns, tmp_path):
    # (a protobuf body of a kind without a field table: tests/api/test_kubectl_protobuf.py)
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\n")
    applied = kubectl("-n", ns, "apply", "--server-side", "-f", str(manifest), check=False)
    assert applied.returncode != 0 and "server-side apply is not supported" in applied.stderr

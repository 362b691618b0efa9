"""ServiceAccounts: ``default`` everywhere, Pods run as one, and the token files they get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client

from fromscratch.api.rbac.serviceaccounts import MOUNT_PATH, project_token
from tests.rbac.conftest import role, role_binding, sa_subject

POD = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}}


def test_every_namespace_gets_a_default_service_account_and_the_root_ca(admin, server, ns):
    core = client.CoreV1Api(admin)
    assert [a.metadata.name for a in core.list_namespaced_service_account(ns).items] == [
        "default"]
    ca = core.read_namespaced_config_map("kube-root-ca.crt", ns).data["ca.crt"]
    assert ca == server.pki.ca_cert.read_text()
    # the initial namespaces have theirs too
    assert core.read_namespaced_service_account("default", "kube-system").metadata.name


def test_deleted_default_service_account_comes_back(admin, ns):
    core = client.CoreV1Api(admin)
    old = core.read_namespaced_service_account("default", ns).metadata.uid
    core.delete_namespaced_service_account("default", ns)
    assert core.read_namespaced_service_account("default", ns).metadata.uid != old


def test_deleting_the_namespace_does_not_resurrect_anything(admin, ns):
    core = client.CoreV1Api(admin)
    core.delete_namespace(ns)
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_service_account("default", ns)
    assert err.value.status == 404


def test_pod_without_service_account_runs_as_default_with_the_token_volume(admin, ns):
    pod = client.CoreV1Api(admin).create_namespaced_pod(ns, POD)
    assert pod.spec.service_account_name == "default"
    volume = pod.spec.volumes[0]
    assert volume.name.startswith("kube-api-access-")
    sources = volume.projected.sources
    assert sources[0].service_account_token.path == "token"
    assert sources[1].config_map.name == "kube-root-ca.crt"
    assert sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    mount = pod.spec.containers[0].volume_mounts[0]
    assert (mount.name, mount.mount_path, mount.read_only) == (volume.name, MOUNT_PATH, True)


def test_pod_naming_a_missing_service_account_is_forbidden(admin, ns):
    body = {**POD, "spec": {**POD["spec"], "serviceAccountName": "ghost"}}
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(admin).create_namespaced_pod(ns, body)
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        f'pods "web" is forbidden: error looking up service account {ns}/ghost: '
        'serviceaccount "ghost" not found')


def test_automount_false_on_the_account_keeps_the_token_out(admin, ns):
    core = client.CoreV1Api(admin)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "quiet"},
                                                "automountServiceAccountToken": False})
    pod = core.create_namespaced_pod(ns, {**POD, "spec": {**POD["spec"],
                                                          "serviceAccountName": "quiet"}})
    assert not pod.spec.volumes


def test_projected_token_lets_code_in_the_pod_call_the_api_as_its_account(
        server, admin, ns, tmp_path):
    # the kubelet's part, done by hand: the files at the mount path, read like in-cluster config
    core = client.CoreV1Api(admin)
    client.RbacAuthorizationV1Api(admin).create_namespaced_role(ns, role("pods", {
        "apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}))
    client.RbacAuthorizationV1Api(admin).create_namespaced_role_binding(
        ns, role_binding("pods", "Role", "pods", sa_subject("default", ns)))
    pod = core.create_namespaced_pod(ns, POD).to_dict()
    pod = {"metadata": {"namespace": ns, "name": "web"},
           "spec": {"serviceAccountName": pod["spec"]["service_account_name"]}}
    mount = project_token(server, pod, tmp_path)
    assert mount == tmp_path / MOUNT_PATH.lstrip("/")
    assert sorted(p.name for p in mount.iterdir()) == ["ca.crt", "namespace", "token"]
    assert (mount / "namespace").read_text() == ns
    configuration = client.Configuration()
    configuration.host = server.url
    configuration.ssl_ca_cert = str(mount / "ca.crt")
    configuration.api_key = {"authorization": "Bearer " + Path(mount / "token").read_text()}
    inside = client.CoreV1Api(client.ApiClient(configuration))
    assert [p.metadata.name for p in inside.list_namespaced_pod(ns).items] == ["web"]
    with pytest.raises(client.ApiException) as err:
        inside.delete_namespaced_pod("web", ns)
    assert err.value.status == 403

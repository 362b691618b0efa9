"""The built-in admission plugins DefaultTolerationSeconds and ServiceAccount, switched on.

The rules: https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/
and https://kubernetes.io/docs/concepts/security/service-accounts/ (the projected
``kube-api-access-<suffix>`` volume and where it is mounted).
"""

from __future__ import annotations

import json
import re

import pytest
from kubernetes.client.exceptions import ApiException

from fromscratch.api.admission_plugins import (
    NOT_READY,
    UNREACHABLE,
    enable_admission_plugins,
)

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULTS = [
    {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


@pytest.fixture(scope="module", autouse=True)
def plugins(server):
    return enable_admission_plugins(server)


def create(core, ns: str, name: str, **spec) -> dict:
    body = {"metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "busybox"}], **spec}}
    return core.api_client.sanitize_for_serialization(core.create_namespaced_pod(ns, body))


def test_the_plugins_are_in_the_chain(plugins):
    assert {"NamespaceLifecycle", "ServiceAccount", "DefaultTolerationSeconds"} <= set(plugins)


def test_default_toleration_seconds_is_on_in_every_server():
    from fromscratch.api.server import APIServer

    fresh = APIServer()
    try:
        assert fresh.admission.names() == ["DefaultTolerationSeconds", "NamespaceLifecycle"]
    finally:
        fresh.close()


def test_unknown_plugins_are_refused(server):
    with pytest.raises(ValueError, match="unknown admission plugins: AlwaysPullImages"):
        enable_admission_plugins(server, ["AlwaysPullImages"])


# --- DefaultTolerationSeconds --------------------------------------------------------------------
def test_a_new_pod_tolerates_not_ready_and_unreachable_for_300_seconds(core, ns):
    assert create(core, ns, "p")["spec"]["tolerations"] == DEFAULTS


def test_existing_tolerations_are_kept_and_not_doubled(core, ns):
    mine = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 6000}
    tolerations = create(core, ns, "p", tolerations=[mine])["spec"]["tolerations"]
    assert tolerations == [mine, DEFAULTS[0]]


@pytest.mark.parametrize("toleration", [
    {"operator": "Exists"},  # an empty key tolerates every taint
    {"key": NOT_READY, "operator": "Exists"},  # an empty effect tolerates every effect
])
def test_wildcard_tolerations_already_cover_a_default(core, ns, toleration):
    tolerations = create(core, ns, "p", tolerations=[toleration])["spec"]["tolerations"]
    keys = [t.get("key") for t in tolerations]
    assert keys.count(NOT_READY) == (1 if toleration.get("key") else 0)
    if not toleration.get("key"):
        assert tolerations == [toleration]


def test_updates_are_left_alone(core, ns):
    # the plugin acts on CREATE only: an update does not add the defaults a second time
    create(core, ns, "p")
    patched = core.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"touched": "yes"}}})
    assert len(patched.spec.tolerations) == 2


# --- ServiceAccount ------------------------------------------------------------------------------
def test_a_pod_runs_as_default_with_the_token_volume_mounted_read_only(core, ns):
    pod = create(core, ns, "p")
    assert pod["spec"]["serviceAccountName"] == "default"
    (volume,) = pod["spec"]["volumes"]
    assert re.fullmatch(r"kube-api-access-[a-z0-9]{5}", volume["name"])
    assert volume["projected"]["sources"] == [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"name": volume["name"], "mountPath": MOUNT, "readOnly": True}]


def test_every_namespace_gets_the_root_ca_configmap_and_a_default_account(server, core, ns):
    ca = core.read_namespaced_config_map("kube-root-ca.crt", ns).data["ca.crt"]
    assert ca == server.pki.ca_cert.read_text()
    assert core.read_namespaced_service_account("default", ns).metadata.name == "default"


def test_a_missing_service_account_is_forbidden_with_upstreams_message(core, ns):
    with pytest.raises(ApiException) as caught:
        create(core, ns, "p", serviceAccountName="robot")
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["message"] == (
        f'pods "p" is forbidden: error looking up service account {ns}/robot: '
        'serviceaccount "robot" not found')


@pytest.mark.parametrize("on_pod, on_account", [(False, None), (None, False)])
def test_automount_false_on_the_pod_or_its_account_mounts_nothing(core, ns, on_pod, on_account):
    core.create_namespaced_service_account(ns, {"metadata": {"name": "quiet"},
                                                "automountServiceAccountToken": on_account})
    spec = {"serviceAccountName": "quiet"}
    if on_pod is not None:
        spec["automountServiceAccountToken"] = on_pod
    pod = create(core, ns, "p", **spec)
    assert not pod["spec"].get("volumes")
    assert not pod["spec"]["containers"][0].get("volumeMounts")

"""ServiceAccounts: a ``default`` one in every namespace, and the token every Pod carries.

Models three real pieces:

- the **ServiceAccount controller** (kube-controller-manager's
  ``serviceaccount-controller``): every namespace gets a ServiceAccount named
  ``default``, recreated if someone deletes it; and the **root CA publisher**,
  which puts the cluster CA in a ConfigMap ``kube-root-ca.crt`` in every
  namespace;
- the **ServiceAccount admission plugin**: a Pod that names no ServiceAccount
  runs as ``default``; one naming a missing ServiceAccount is refused; unless
  ``automountServiceAccountToken: false`` (on the Pod or its ServiceAccount),
  the Pod gets a projected volume ``kube-api-access-<random>`` (a short-lived
  token, ``ca.crt`` from ``kube-root-ca.crt``, and the namespace) mounted
  read-only at ``/var/run/secrets/kubernetes.io/serviceaccount`` in every
  container;
- what the **kubelet** writes into that volume: :func:`project_token` signs a
  token through the TokenRequest API and writes ``token``, ``ca.crt`` and
  ``namespace`` into a directory, the files a program in the Pod (the official
  client's ``load_incluster_config``) reads to call the API as itself.

Simplified: the controllers run inside the API server, synchronously after
each write; tokens are not bound to the Pod (no ``kubernetes.io/pod`` claim)
and the kubelet does not refresh them.
"""

from __future__ import annotations

import os
import random
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.admission import AdmissionRequest

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry
    from fromscratch.api.server import APIServer

Obj = dict[str, Any]
DEFAULT = "default"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_SECONDS = 3607  # what the admission plugin asks for: one hour, plus a few seconds


class ServiceAccountsController:
    """Every active namespace has ServiceAccount ``default`` and ConfigMap ``kube-root-ca.crt``."""

    def __init__(self, registry: Registry, ca_pem: str) -> None:
        self.registry = registry
        self.ca_pem = ca_pem
        self.namespaces = self._kind("namespaces")
        self.accounts = self._kind("serviceaccounts")
        self.configmaps = self._kind("configmaps")
        registry.after_write.append(self._on_write)

    def _kind(self, plural: str) -> Kind:
        kind = self.registry.kinds.lookup("", "v1", plural)
        assert kind is not None
        return kind

    def _on_write(self, kind: Kind, event: str, obj: Obj) -> None:
        meta = obj["metadata"]
        if kind.group:
            return
        if kind.plural == "namespaces" and event == "ADDED":
            self.reconcile(meta["name"])
        elif event == "DELETED" and (
                (kind.plural == "serviceaccounts" and meta["name"] == DEFAULT)
                or (kind.plural == "configmaps" and meta["name"] == ROOT_CA_CONFIGMAP)):
            self.reconcile(meta.get("namespace", ""))

    def sync(self) -> None:
        """Reconcile every namespace (at start-up, for namespaces made before us)."""
        for namespace in self.registry.list_all(self.namespaces)[0]:
            self.reconcile(namespace["metadata"]["name"])

    def reconcile(self, namespace: str) -> None:
        """Create what is missing in ``namespace``, unless it is gone or terminating."""
        try:
            ns = self.registry.get(self.namespaces, "", namespace)
        except errors.APIError:
            return
        if ns["metadata"].get("deletionTimestamp") or namespace in self.registry.draining:
            return  # never recreate into a namespace being emptied
        wanted = [(self.accounts, {"metadata": {"name": DEFAULT}}),
                  (self.configmaps, {"metadata": {"name": ROOT_CA_CONFIGMAP},
                                     "data": {"ca.crt": self.ca_pem}})]
        for kind, body in wanted:
            try:
                self.registry.create(kind, namespace, body)
            except errors.APIError as err:
                if err.reason not in ("AlreadyExists", "NotFound", "Forbidden"):
                    raise


def _suffix() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=5))


def projected_volume(name: str) -> Obj:
    """The ``kube-api-access-…`` volume the admission plugin adds (token, CA, namespace)."""
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt",
                                                             "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def service_account_admission(registry: Registry):
    """The ServiceAccount mutating admission function for Pods."""
    accounts = registry.kinds.lookup("", "v1", "serviceaccounts")
    assert accounts is not None

    def admit(request: AdmissionRequest) -> Obj | None:
        kind, pod = request.kind, request.object
        if (kind.group, kind.kind) != ("", "Pod") or request.operation != "CREATE" or not pod:
            return None
        spec = pod.setdefault("spec", {})
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        try:
            account = registry.get(accounts, request.namespace, name)
        except errors.APIError:
            raise errors.forbidden_error(
                f'pods "{request.name}" is forbidden: error looking up service account '
                f'{request.namespace}/{name}: serviceaccount "{name}" not found',
                resource="pods", name=request.name) from None
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken", True)
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        if not automount or any(m.get("mountPath") == MOUNT_PATH
                                for c in containers for m in c.get("volumeMounts") or []):
            return pod
        volume = projected_volume(f"kube-api-access-{_suffix()}")
        spec["volumes"] = [*(spec.get("volumes") or []), volume]
        for container in containers:
            container["volumeMounts"] = [*(container.get("volumeMounts") or []), {
                "name": volume["name"], "mountPath": MOUNT_PATH, "readOnly": True}]
        return pod

    return admit


def write_token_files(directory: str | os.PathLike[str], *, token: str, ca_pem: str,
                      namespace: str) -> Path:
    """Write ``token``, ``ca.crt`` and ``namespace`` as the kubelet lays them out."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (("token", token), ("ca.crt", ca_pem), ("namespace", namespace)):
        path = root / name
        path.write_text(text)
        path.chmod(0o644)
    return root


def project_token(server: APIServer, pod: Obj, root: str | os.PathLike[str]) -> Path:
    """What the kubelet mounts for ``pod``: its token files under ``root`` + MOUNT_PATH.

    The token is signed for the Pod's ServiceAccount through the server's
    TokenRequest machinery; the returned directory is the mount point.
    """
    namespace = pod["metadata"]["namespace"]
    name = (pod.get("spec") or {}).get("serviceAccountName") or DEFAULT
    accounts = server.kinds.lookup("", "v1", "serviceaccounts")
    assert accounts is not None
    account = server.registry.get(accounts, namespace, name)
    token, _ = server.authenticator.issue_service_account_token(
        namespace, name, account["metadata"]["uid"], expiration_seconds=TOKEN_SECONDS)
    target = Path(root) / MOUNT_PATH.lstrip("/")
    return write_token_files(target, token=token, ca_pem=server.pki.ca_cert.read_text(),
                             namespace=namespace)

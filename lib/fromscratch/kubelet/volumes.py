"""Volumes the kubelet fills from the API: ServiceAccount tokens, ConfigMaps, Secrets, PVCs.

Models the kubelet's volume manager and the ``projected``, ``configMap``,
``secret``, ``downwardAPI`` and ``persistentVolumeClaim`` volume plugins
(``pkg/volume/projected`` and friends).  The runtime (chapter 5) only knows
two kinds of volume — ``emptyDir`` and ``hostPath`` — so the kubelet does what
the real one does: it *materialises* every other kind as a directory of the
node, under ``<root_dir>/pods/<uid>/volumes/<plugin>/<name>``, and hands the
runtime a ``hostPath`` to it.  In an isolated Pod that directory is then
bind-mounted (read-only where the Pod says so); in a process Pod the runtime
substitutes the directory for the mount path in the command line.

The ServiceAccount token (issue: "the token projected into each Pod"): the
ServiceAccount admission plugin of the API server gives each Pod a volume
``kube-api-access-<random>`` with three sources — a ``serviceAccountToken``,
``ca.crt`` from ConfigMap ``kube-root-ca.crt`` and the ``namespace`` from the
downward API.  The kubelet asks the TokenRequest API
(``POST …/serviceaccounts/<sa>/token``) for a token with the source's audience
and ``expirationSeconds``, writes the three files, and rotates the token once
80 % of its lifetime (or 24 hours) has passed, as upstream does.

Simplified: a ``persistentVolumeClaim`` is a directory of this node that lives
as long as the claim's name (no PersistentVolume binding, no storage classes);
tokens are not bound to the Pod object; the downward API knows the ``metadata``
fields, ``spec.nodeName`` and ``spec.serviceAccountName`` only.  For simulated
Pods the files are put in the simulated filesystem instead of on disk.
"""

from __future__ import annotations

import base64
import copy
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fromscratch.controllers.client import Resource, ResourceClient, is_status

Obj = dict[str, Any]
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
DEFAULT_TOKEN_SECONDS = 3600  # the API's default for a serviceAccountToken source
ROTATE_AT = 0.8  # rotate a token once 80 % of its lifetime has passed ...
MAX_TOKEN_AGE = 24 * 3600  # ... or once it is a day old
_FIELDS = ("metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels",
           "metadata.annotations", "spec.nodeName", "spec.serviceAccountName")


class VolumeError(Exception):
    """A volume could not be set up; ``retry`` says whether waiting may help (a missing object)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class Token:
    """A projected token file and when to rotate it (wall-clock seconds)."""

    volume: str
    path: str
    source: Obj
    rotate_at: float


@dataclass
class PreparedVolumes:
    """The Pod as the runtime sees it, plus what the kubelet must keep doing for it."""

    manifest: Obj
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # volume -> path -> content
    directories: dict[str, Path] = field(default_factory=dict)  # volume -> host dir
    tokens: list[Token] = field(default_factory=list)


def service_env(api_client: Any) -> list[Obj]:
    """``KUBERNETES_SERVICE_HOST``/``_PORT``: where a Pod finds the API server."""
    from urllib.parse import urlsplit

    url = urlsplit(api_client.configuration.host)
    host, port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)
    return [{"name": "KUBERNETES_SERVICE_HOST", "value": host},
            {"name": "KUBERNETES_SERVICE_PORT", "value": str(port)},
            {"name": "KUBERNETES_SERVICE_PORT_HTTPS", "value": str(port)},
            {"name": "KUBERNETES_PORT", "value": f"tcp://{host}:{port}"}]


def downward_value(pod: Obj, field_path: str) -> str:
    """The text the downward API writes for ``fieldPath`` (labels as ``key="value"`` lines)."""
    if field_path not in _FIELDS:
        raise VolumeError(f"downwardAPI: fieldPath {field_path!r} is not supported here "
                          f"(supported: {', '.join(_FIELDS)})", retry=False)
    section, name = field_path.split(".", 1)
    value = (pod.get(section) or {}).get(name, "")
    if isinstance(value, dict):
        return "\n".join(f'{k}="{v}"' for k, v in sorted(value.items()))
    return str(value)


class VolumeManager:
    """Materialise a Pod's API-backed volumes on this node, and rotate its tokens."""

    def __init__(self, api_client: Any, root_dir: Path | None, *, clock_wall: Any,
                 temp_prefix: str = "fromscratch-kubelet-") -> None:
        """``root_dir`` None: a temporary directory, made when a volume first needs it."""
        self.api_client, self._root, self.wall = api_client, root_dir, clock_wall
        self.temp_prefix = temp_prefix
        self.made_root: Path | None = None
        self.accounts = ResourceClient(api_client, SERVICEACCOUNTS)
        self.configmaps = ResourceClient(api_client, CONFIGMAPS)
        self.secrets = ResourceClient(api_client, SECRETS)
        self.claims = ResourceClient(api_client, PVCS)
        self.tokens_issued = 0

    @property
    def root_dir(self) -> Path:
        if self._root is None:
            self._root = self.made_root = Path(tempfile.mkdtemp(prefix=self.temp_prefix))
        return self._root

    def remove_temporary_root(self) -> None:
        """Remove the temporary root directory, if this manager made one."""
        if self.made_root is not None:
            shutil.rmtree(self.made_root, ignore_errors=True)
            self._root = self.made_root = None

    def pod_dir(self, pod: Obj) -> Path:
        return self.root_dir / "pods" / (pod["metadata"].get("uid") or pod["metadata"]["name"])

    # --- one Pod -----------------------------------------------------------------------------
    def prepare(self, pod: Obj, *, on_disk: bool = True, inject_env: bool = True) -> PreparedVolumes:
        """The runtime's manifest: API volumes → hostPath (or emptyDir + files when simulated)."""
        manifest = copy.deepcopy(pod)
        prepared = PreparedVolumes(manifest)
        spec = manifest.setdefault("spec", {})
        volumes = []
        for volume in spec.get("volumes") or []:
            name = volume.get("name", "")
            if "emptyDir" in volume or "hostPath" in volume:
                volumes.append(volume)
                continue
            if "persistentVolumeClaim" in volume:
                path = self._claim_dir(pod, volume["persistentVolumeClaim"])
                volumes.append({"name": name, "hostPath": {"path": str(path), "type": "Directory"}})
                prepared.directories[name] = path
                continue
            files = self._files(pod, volume, prepared)
            prepared.files[name] = files
            if on_disk:
                path = self.pod_dir(pod) / "volumes" / _plugin(volume) / name
                write_files(path, files)
                prepared.directories[name] = path
                volumes.append({"name": name, "hostPath": {"path": str(path), "type": "Directory"}})
            else:
                volumes.append({"name": name, "emptyDir": {}})
        if volumes or "volumes" in spec:
            spec["volumes"] = volumes
        if inject_env:
            extra = service_env(self.api_client)
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                names = {e.get("name") for e in container.get("env") or []}
                container["env"] = [*(container.get("env") or []),
                                    *[e for e in extra if e["name"] not in names]]
        return prepared

    def _files(self, pod: Obj, volume: Obj, prepared: PreparedVolumes) -> dict[str, str]:
        name = volume.get("name", "")
        if "projected" in volume:
            files: dict[str, str] = {}
            for source in volume["projected"].get("sources") or []:
                if "serviceAccountToken" in source:
                    token_source = source["serviceAccountToken"]
                    token, rotate_at = self.request_token(pod, token_source)
                    path = token_source.get("path", "token")
                    files[path] = token
                    prepared.tokens.append(Token(name, path, token_source, rotate_at))
                elif "configMap" in source:
                    files.update(self._configmap(pod, source["configMap"]))
                elif "secret" in source:
                    files.update(self._secret(pod, source["secret"]))
                elif "downwardAPI" in source:
                    files.update(self._downward(pod, source["downwardAPI"]))
                else:
                    raise VolumeError(f"volume {name!r}: projected source {sorted(source)} is not "
                                      "supported", retry=False)
            return files
        if "configMap" in volume:
            return self._configmap(pod, volume["configMap"])
        if "secret" in volume:
            source = dict(volume["secret"], name=volume["secret"].get("secretName"))
            return self._secret(pod, source)
        if "downwardAPI" in volume:
            return self._downward(pod, volume["downwardAPI"])
        kinds = sorted(k for k in volume if k != "name")
        raise VolumeError(f"volume {name!r}: {', '.join(kinds) or 'no source'} volumes are not "
                          "supported by this kubelet (supported: emptyDir, hostPath, configMap, "
                          "secret, downwardAPI, projected, persistentVolumeClaim)", retry=False)

    def request_token(self, pod: Obj, source: Obj) -> tuple[str, float]:
        """TokenRequest for the Pod's ServiceAccount; returns (token, when to rotate it)."""
        namespace = pod["metadata"]["namespace"]
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        seconds = int(source.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
        spec: Obj = {"expirationSeconds": seconds}
        if source.get("audience"):
            spec["audiences"] = [source["audience"]]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        try:
            answer = self.accounts.post_subresource(namespace, account, "token", body)
        except Exception as err:
            if is_status(err, 404):
                raise VolumeError(f'serviceaccount "{account}" not found', retry=True) from None
            raise
        self.tokens_issued += 1
        # rotate past 80 % of the lifetime, or at 24 h at the latest (ServiceAccountTokenProjection)
        return answer["status"]["token"], self.wall() + min(ROTATE_AT * seconds, MAX_TOKEN_AGE)

    def _get(self, client: ResourceClient, pod: Obj, name: str, optional: bool) -> Obj | None:
        try:
            return client.get(pod["metadata"]["namespace"], name)
        except Exception as err:
            if not is_status(err, 404):
                raise
            if optional:
                return None
            raise VolumeError(f'{client.resource.kind.lower()} "{name}" not found', retry=True) \
                from None

    def _configmap(self, pod: Obj, source: Obj) -> dict[str, str]:
        found = self._get(self.configmaps, pod, source.get("name", ""), bool(source.get("optional")))
        data = (found or {}).get("data") or {}
        return _select(data, source.get("items"), source.get("name", ""))

    def _secret(self, pod: Obj, source: Obj) -> dict[str, str]:
        found = self._get(self.secrets, pod, source.get("name", ""), bool(source.get("optional")))
        raw = (found or {}).get("data") or {}
        data = {k: base64.b64decode(v).decode(errors="replace") for k, v in raw.items()}
        data.update((found or {}).get("stringData") or {})
        return _select(data, source.get("items"), source.get("name", ""))

    def _downward(self, pod: Obj, source: Obj) -> dict[str, str]:
        files = {}
        for item in source.get("items") or []:
            if "fieldRef" not in item:
                raise VolumeError(f"downwardAPI item {item.get('path')!r}: only fieldRef is "
                                  "supported", retry=False)
            files[item["path"]] = downward_value(pod, item["fieldRef"].get("fieldPath", ""))
        return files

    def _claim_dir(self, pod: Obj, source: Obj) -> Path:
        claim = source.get("claimName", "")
        self._get(self.claims, pod, claim, False)
        path = self.root_dir / "claims" / pod["metadata"]["namespace"] / claim
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- while the Pod runs -----------------------------------------------------------------
    def rotate_due(self, pod: Obj, prepared: PreparedVolumes) -> list[Token]:
        """Re-request every token past 80 % of its lifetime; returns the ones rotated."""
        rotated = []
        for token in prepared.tokens:
            if self.wall() < token.rotate_at:
                continue
            text, token.rotate_at = self.request_token(pod, token.source)
            prepared.files[token.volume][token.path] = text
            if token.volume in prepared.directories:
                write_files(prepared.directories[token.volume], {token.path: text})
            rotated.append(token)
        return rotated

    def cleanup(self, pod: Obj) -> None:
        if self._root is not None:
            shutil.rmtree(self.pod_dir(pod), ignore_errors=True)


def _plugin(volume: Obj) -> str:
    for kind in ("projected", "configMap", "secret", "downwardAPI"):
        if kind in volume:
            return f"kubernetes.io~{kind.lower()}"
    return "kubernetes.io~unknown"


def _select(data: dict[str, str], items: list[Obj] | None, name: str) -> dict[str, str]:
    if not items:
        return dict(data)
    files = {}
    for item in items:
        if item.get("key") not in data:
            raise VolumeError(f"configMap/secret {name!r} has no key {item.get('key')!r}", retry=True)
        files[item.get("path") or item["key"]] = data[item["key"]]
    return files


def write_files(directory: Path, files: dict[str, str]) -> None:
    """Write each file atomically (a reader never sees half a token)."""
    for relative, text in files.items():
        target = directory / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise VolumeError(f"volume file path {relative!r} must be relative, without '..'",
                              retry=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, target)

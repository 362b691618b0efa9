"""Static Pods: Pods from manifest files in a directory, with mirror Pods in the API.

Models the kubelet's file pod source (``pkg/kubelet/config/file.go``) and its
mirror client (``pkg/kubelet/pod/mirror_client.go``) — how kubeadm starts the
control plane itself: kube-apiserver, etcd, the scheduler are static Pods read
from ``/etc/kubernetes/manifests`` before any API server exists.

- every ``*.yaml``/``*.yml``/``*.json`` file of the directory is one Pod, run by
  this kubelet whatever the API says; its name gets the node's name appended
  (``etcd`` on ``node-1`` is ``etcd-node-1``), its uid is a hash of the file's
  content and the node, so editing the file replaces the Pod;
- for each one the kubelet creates a **mirror Pod** in the API, annotated
  ``kubernetes.io/config.mirror: <hash>``, so ``kubectl get pods`` shows it and
  its status; deleting the mirror Pod does not stop the static Pod — the
  kubelet simply creates the mirror again; removing the file stops the Pod and
  deletes its mirror.

Simplified: the directory is re-read on every sync (upstream watches it with
inotify and re-reads every 20 s); only the ``file`` source, not ``http``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from fromscratch.controllers.client import PODS, ResourceClient, is_status

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.kubelet.static")
MIRROR = "kubernetes.io/config.mirror"
SOURCE = "kubernetes.io/config.source"
HASH = "kubernetes.io/config.hash"
SUFFIXES = (".yaml", ".yml", ".json")


class StaticPodError(ValueError):
    """A manifest file that is not a Pod (the message names the file)."""


def read_manifest(path: Path, node_name: str) -> Obj:
    """The Pod a manifest file describes, as this kubelet runs it."""
    text = path.read_text()
    try:
        pod = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise StaticPodError(f"{path}: not valid {path.suffix[1:].upper()}: {err}") from None
    if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
        raise StaticPodError(f"{path}: a static Pod manifest must be one object of kind Pod")
    meta = pod.setdefault("metadata", {})
    if not meta.get("name"):
        raise StaticPodError(f"{path}: metadata.name is required")
    pod.setdefault("apiVersion", "v1")
    pod["kind"] = "Pod"
    meta["name"] = f"{meta['name']}-{node_name}"
    meta["namespace"] = meta.get("namespace") or "default"
    digest = hashlib.md5(f"{node_name}\n{text}".encode()).hexdigest()
    meta["uid"] = digest
    meta["annotations"] = {**(meta.get("annotations") or {}), SOURCE: "file", HASH: digest,
                           "kubernetes.io/config.seen": ""}
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    return pod


class StaticPods:
    """Read the manifest directory, and keep one mirror Pod in the API per static Pod."""

    def __init__(self, api_client: Any, directory: str | Path, node_name: str) -> None:
        self.directory, self.node_name = Path(directory), node_name
        self.pods_api = ResourceClient(api_client, PODS)
        self.errors: dict[str, str] = {}  # file -> why it was skipped
        self.mirrors_created = 0

    def read(self) -> dict[str, Obj]:
        """``namespace/name`` -> Pod for every valid manifest (bad files are logged and skipped)."""
        pods: dict[str, Obj] = {}
        self.errors = {}
        if not self.directory.is_dir():
            return pods
        for path in sorted(self.directory.iterdir()):
            if path.suffix not in SUFFIXES or path.name.startswith("."):
                continue
            try:
                pod = read_manifest(path, self.node_name)
            except (StaticPodError, OSError) as err:
                self.errors[path.name] = str(err)
                log.warning("%s", err)
                continue
            pods[f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"] = pod
        return pods

    def sync_mirrors(self, static: dict[str, Obj], mirrors: dict[str, Obj]) -> None:
        """Create missing mirrors, replace outdated ones, delete orphaned or deleted ones."""
        for key, mirror in mirrors.items():
            meta = mirror["metadata"]
            pod = static.get(key)
            outdated = pod is None or meta["annotations"].get(MIRROR) != pod["metadata"]["uid"]
            if outdated or meta.get("deletionTimestamp"):
                self._delete(mirror)
        for key, pod in static.items():
            mirror = mirrors.get(key)
            if mirror is None or mirror["metadata"].get("deletionTimestamp") or \
                    mirror["metadata"]["annotations"].get(MIRROR) != pod["metadata"]["uid"]:
                self._create(pod)

    def _create(self, pod: Obj) -> None:
        mirror = copy.deepcopy(pod)
        meta = mirror["metadata"]
        meta.pop("uid", None)
        meta["annotations"][MIRROR] = pod["metadata"]["uid"]
        mirror.pop("status", None)
        try:
            self.pods_api.create(meta["namespace"], mirror)
            self.mirrors_created += 1
        except Exception as err:
            if not is_status(err, 409):  # still being deleted: next sync
                log.warning("could not create mirror pod %s: %s", meta["name"], err)

    def _delete(self, mirror: Obj) -> None:
        meta = mirror["metadata"]
        try:
            self.pods_api.delete(meta["namespace"], meta["name"], grace_period_seconds=0,
                                 preconditions={"uid": meta["uid"]})
        except Exception as err:
            if not is_status(err, 404, 409):
                raise


def is_mirror(pod: Obj) -> bool:
    return MIRROR in (pod["metadata"].get("annotations") or {})

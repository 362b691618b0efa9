"""Discovery: how clients learn which groups, versions and resources exist.

Models kube-apiserver's discovery endpoints, which ``kubectl`` reads before
anything else (``kubectl api-resources``, ``api-versions``, and to turn
``kubectl get deploy`` into ``/apis/apps/v1/namespaces/default/deployments``):

- ``/api`` → ``APIVersions`` (the core group's only version, ``v1``);
- ``/apis`` → ``APIGroupList``: every named group and its versions;
- ``/apis/<group>`` → one ``APIGroup``;
- ``/api/v1`` and ``/apis/<group>/<version>`` → ``APIResourceList``: each
  resource with its kind, scope, verbs, short names, and each subresource
  (``deployments/scale`` speaks ``autoscaling/v1`` ``Scale``);
- ``/version`` → the server's version.

Simplified: only the classic ("legacy") discovery documents are served, not
the aggregated ``apidiscovery.k8s.io/v2`` form; clients that ask for the
aggregated form fall back to these, as they do with older servers.
"""

from __future__ import annotations

import platform
from typing import Any

from fromscratch.api.kinds import SUBRESOURCE_KINDS, SUBRESOURCE_VERBS, Kind, KindRegistry

Obj = dict[str, Any]
KUBERNETES_VERSION = ("1", "37", "v1.37.0")


def version_info() -> Obj:
    major, minor, git = KUBERNETES_VERSION
    return {
        "major": major, "minor": minor, "gitVersion": git + "+fromscratch",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "python" + platform.python_version(),
        "compiler": "cpython", "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries,
            "preferredVersion": entries[0]}


def api_group_list(kinds: KindRegistry) -> Obj:
    groups = [api_group(name, versions) for name, versions in kinds.groups().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resource_entry(kind: Kind) -> Obj:
    entry: Obj = {"name": kind.plural, "singularName": kind.singular_name,
                  "namespaced": kind.namespaced, "kind": kind.kind, "verbs": list(kind.verbs)}
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    if kind.categories:
        entry["categories"] = list(kind.categories)
    return entry


def _subresource_entry(kind: Kind, sub: str) -> Obj:
    entry: Obj = {"name": f"{kind.plural}/{sub}", "singularName": "",
                  "namespaced": kind.namespaced, "kind": kind.kind,
                  "verbs": ["get", "patch", "update"]}
    if sub in SUBRESOURCE_KINDS:
        group, version, sub_kind = SUBRESOURCE_KINDS[sub]
        entry.update(group=group, version=version, kind=sub_kind)
    if sub in SUBRESOURCE_VERBS:
        entry["verbs"] = list(SUBRESOURCE_VERBS[sub])
    return entry


def api_resource_list(kinds: KindRegistry, group: str, version: str) -> Obj | None:
    """The resources of one group/version, or None if it is not served."""
    served = kinds.resources(group, version)
    if not served:
        return None
    resources = []
    for kind in served:
        resources.append(_resource_entry(kind))
        resources += [_subresource_entry(kind, sub) for sub in kind.subresources]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

"""Least privilege: the smallest Role that lets a task do exactly what it did.

Models what ``audit2rbac`` (github.com/liggitt/audit2rbac, by an RBAC
maintainer) does with an audit log: collect the requests one user made, then
write a Role granting exactly those — no wildcards, ``resourceNames`` where a
request named its object, one rule per (API group, names, verbs) with the
resources that share them.

:class:`AuditRecorder` is the audit log: it wraps the server's authorizer and
records the attributes of every request a chosen user sends (allowed or not),
the way an audit policy at level ``Metadata`` would.

Simplified: namespaced requests in one namespace only; a request without a
name (list, watch, create, deletecollection) grants the verb on every object,
because RBAC cannot restrict those by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from fromscratch.api.auth import Attributes
from fromscratch.api.rbac.policy import Obj
from fromscratch.exercises import pluggable

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

# (verb, api group, resource or resource/subresource, name or "")
Need = tuple[str, str, str, str]


@pluggable("minimal_role")
def minimal_role(name: str, namespace: str, needs: Iterable[Need]) -> Obj:
    """A Role in ``namespace`` granting every need and nothing more, with as few rules as possible."""
    # 1. verbs wanted per (group, resource, name)
    verbs: dict[tuple[str, str, str], set[str]] = {}
    for verb, group, resource, object_name in needs:
        verbs.setdefault((group, resource, object_name), set()).add(verb)
    # 2. per (group, resource, verb set): the names ("" means any) — any name wins over some
    names: dict[tuple[str, str, frozenset[str]], set[str]] = {}
    for (group, resource, object_name), wanted in verbs.items():
        names.setdefault((group, resource, frozenset(wanted)), set()).add(object_name)
    # 3. resources sharing group, verbs and names go in one rule
    rules: dict[tuple[str, frozenset[str], tuple[str, ...]], list[str]] = {}
    for (group, resource, wanted), object_names in names.items():
        restricted = () if "" in object_names else tuple(sorted(object_names))
        rules.setdefault((group, wanted, restricted), []).append(resource)
    role_rules = []
    for (group, wanted, restricted), resources in sorted(
            rules.items(), key=lambda item: (item[0][0], sorted(item[1]), item[0][2])):
        rule: Obj = {"apiGroups": [group], "resources": sorted(resources),
                     "verbs": sorted(wanted)}
        if restricted:
            rule["resourceNames"] = list(restricted)
        role_rules.append(rule)
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": namespace}, "rules": role_rules}


def need_of(attributes: Attributes) -> Need:
    resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource
                                      else "")
    return attributes.verb, attributes.api_group, resource, attributes.name


class AuditRecorder:
    """``with AuditRecorder(server, "system:serviceaccount:ns:name") as audit:`` — what it asked."""

    def __init__(self, server: APIServer, username: str) -> None:
        self.server = server
        self.username = username
        self.requests: list[Attributes] = []
        self._inner = None

    def __enter__(self) -> AuditRecorder:
        self._inner = self.server.authorizer
        inner = self._inner

        def recording(attributes: Attributes) -> tuple[bool, str]:
            if attributes.user.name == self.username and attributes.is_resource_request:
                self.requests.append(attributes)
            return inner(attributes)  # type: ignore[misc]

        self.server.authorizer = recording
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.authorizer = self._inner  # type: ignore[assignment]

    def needs(self) -> list[Need]:
        """The distinct requests recorded, in the order first seen."""
        return list(dict.fromkeys(need_of(a) for a in self.requests))

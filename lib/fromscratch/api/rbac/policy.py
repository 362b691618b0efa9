"""The RBAC policy: every Role, ClusterRole, RoleBinding and ClusterRoleBinding, ready to read.

Models the four listers kube-apiserver's RBAC authorizer reads
(``RoleGetter``, ``RoleBindingLister``, ``ClusterRoleGetter``,
``ClusterRoleBindingLister`` in ``plugin/pkg/auth/authorizer/rbac``) — there
they are informer caches; here :class:`PolicyCache` keeps a snapshot that is
rebuilt after any RBAC object is written, so an authorization never reads the
store.

A :class:`Policy` is plain data (lists of the objects as stored), so the
authorizer can also be run on a hand-made set of roles and bindings, as the
tests and the exercises do; lookups by name and namespace go through
dictionaries built on first use, so a Policy is not changed once read.

Simplified: one snapshot for the whole cluster, rebuilt in full on a change
(the real caches update one object at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
PLURALS = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
           "ClusterRoleBinding": "clusterrolebindings"}


class RoleNotFound(LookupError):
    """A binding's ``roleRef`` names a role that does not exist (the binding grants nothing)."""


@dataclass
class Policy:
    """Roles and bindings as lists of API objects (dicts)."""

    roles: list[Obj] = field(default_factory=list)
    cluster_roles: list[Obj] = field(default_factory=list)
    role_bindings: list[Obj] = field(default_factory=list)
    cluster_role_bindings: list[Obj] = field(default_factory=list)

    @classmethod
    def from_objects(cls, objects: Iterable[Obj]) -> Policy:
        """Sort a mixed list of RBAC objects (e.g. a parsed YAML file) by kind."""
        policy = cls()
        by_kind = {"Role": policy.roles, "ClusterRole": policy.cluster_roles,
                   "RoleBinding": policy.role_bindings,
                   "ClusterRoleBinding": policy.cluster_role_bindings}
        for obj in objects:
            if obj.get("kind") not in by_kind:
                raise ValueError(f"not an RBAC object: kind {obj.get('kind')!r}")
            by_kind[obj["kind"]].append(obj)
        return policy

    @classmethod
    def from_cluster(cls, api_client: Any) -> Policy:
        """The policy of any cluster, read with the official client (``kubernetes.client.ApiClient``).

        Lets the same authorizer answer "who may do what" about a real cluster (kind,
        minikube, a cloud) offline, from its Roles and bindings.
        """
        from kubernetes import client

        rbac = client.RbacAuthorizationV1Api(api_client)
        kinds = [("Role", rbac.list_role_for_all_namespaces),
                 ("ClusterRole", rbac.list_cluster_role),
                 ("RoleBinding", rbac.list_role_binding_for_all_namespaces),
                 ("ClusterRoleBinding", rbac.list_cluster_role_binding)]
        objects = []
        for kind, list_all in kinds:
            for item in list_all().items:
                obj = api_client.sanitize_for_serialization(item)
                objects.append({**obj, "kind": kind})
        return cls.from_objects(objects)

    # indexes, built on first use: a Policy is not changed once it is being read
    @cached_property
    def _roles(self) -> dict[tuple[str, str], Obj]:
        return {(r["metadata"].get("namespace", ""), r["metadata"]["name"]): r for r in self.roles}

    @cached_property
    def _cluster_roles(self) -> dict[str, Obj]:
        return {r["metadata"]["name"]: r for r in self.cluster_roles}

    @cached_property
    def _bindings_by_namespace(self) -> dict[str, list[Obj]]:
        index: dict[str, list[Obj]] = {}
        for binding in self.role_bindings:
            index.setdefault(binding["metadata"].get("namespace", ""), []).append(binding)
        return index

    def role(self, namespace: str, name: str) -> Obj | None:
        return self._roles.get((namespace, name))

    def cluster_role(self, name: str) -> Obj | None:
        return self._cluster_roles.get(name)

    def bindings_in(self, namespace: str) -> list[Obj]:
        return self._bindings_by_namespace.get(namespace, [])

    def role_ref_rules(self, role_ref: Obj, binding_namespace: str) -> list[Obj]:
        """The rules a ``roleRef`` points at (GetRoleReferenceRules); RoleNotFound if missing."""
        kind, name = role_ref.get("kind"), role_ref.get("name", "")
        if kind == "Role":
            role = self.role(binding_namespace, name) if binding_namespace else None
            if role is None:
                raise RoleNotFound(f'role.{RBAC_GROUP} "{name}" not found')
        elif kind == "ClusterRole":
            role = self.cluster_role(name)
            if role is None:
                raise RoleNotFound(f'clusterrole.{RBAC_GROUP} "{name}" not found')
        else:
            raise RoleNotFound(f"unsupported role reference kind: {kind!r}")
        return list(role.get("rules") or [])


class PolicyCache:
    """The current :class:`Policy` of a registry, rebuilt after every RBAC write."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._policy: Policy | None = None
        self._dirty = True
        self.rebuilds = 0
        registry.after_write.append(self._on_write)

    def _on_write(self, kind: Kind, event: str, obj: Obj) -> None:
        if kind.group == RBAC_GROUP:
            self._dirty = True

    def __call__(self) -> Policy:
        with self._lock:
            if self._dirty or self._policy is None:
                # subtle: clear the flag *before* reading, so a write during the read re-dirties
                self._dirty = False
                self._policy = self._load()
                self.rebuilds += 1
            return self._policy

    def _load(self) -> Policy:
        lists = []
        for kind_name in RBAC_KINDS:
            kind = self.registry.kinds.lookup(RBAC_GROUP, "v1", PLURALS[kind_name])
            assert kind is not None
            lists.append(self.registry.list_all(kind)[0])
        return Policy(*lists)

"""ClusterRole aggregation: admin, edit and view collect the rules of labelled ClusterRoles.

Models kube-controller-manager's ``clusterrole-aggregation`` controller
(``pkg/controller/clusterroleaggregation``): a ClusterRole with an
``aggregationRule`` has its ``rules`` *overwritten* with the union of the
rules of every ClusterRole its ``clusterRoleSelectors`` select.  This is how
installing a CRD's ClusterRole labelled
``rbac.authorization.k8s.io/aggregate-to-view: "true"`` lets every viewer
read the new kind, without editing ``view``.

The controller reacts to every ClusterRole write; an aggregated role selected
by another (``view`` is labelled ``aggregate-to-edit``) is recomputed first,
so chains settle in one pass.

Simplified: runs inside the API server, synchronously after each write
(the real controller is a separate process working through a queue).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.selectors import SelectorError, label_selector_from_dict, matches

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

Obj = dict[str, Any]


def _selected(aggregated: Obj, roles: list[Obj]) -> list[Obj]:
    selectors = (aggregated.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    chosen = []
    for role in roles:
        if role["metadata"]["name"] == aggregated["metadata"]["name"]:
            continue
        labels = role["metadata"].get("labels") or {}
        for selector in selectors:
            try:
                if matches(label_selector_from_dict(selector), labels):
                    chosen.append(role)
                    break
            except SelectorError:
                continue  # an unparsable selector selects nothing
    return chosen


def aggregate_rules(roles: list[Obj]) -> dict[str, list[Obj]]:
    """name -> aggregated rules, for every ClusterRole with an ``aggregationRule``."""
    by_name = {r["metadata"]["name"]: r for r in roles}
    result: dict[str, list[Obj]] = {}

    def rules_of(role: Obj, visiting: frozenset[str]) -> list[Obj]:
        name = role["metadata"]["name"]
        if "aggregationRule" not in role:
            return list(role.get("rules") or [])
        if name in result:
            return result[name]
        collected: list[Obj] = []
        for source in _selected(role, list(by_name.values())):
            if source["metadata"]["name"] in visiting:
                continue  # a cycle of aggregated roles: stop, as the controller would settle
            for rule in rules_of(source, visiting | {name}):
                if rule not in collected:  # the union, without duplicates
                    collected.append(rule)
        result[name] = collected
        return collected

    for role in roles:
        if "aggregationRule" in role:
            rules_of(role, frozenset({role["metadata"]["name"]}))
    return result


class AggregationController:
    """Keeps every aggregated ClusterRole's rules equal to the union it selects."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        kind = registry.kinds.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
        assert kind is not None
        self.kind = kind
        self._lock = threading.Lock()
        self._pending = False
        registry.after_write.append(self._on_write)

    def _on_write(self, kind: Kind, event: str, obj: Obj) -> None:
        if (kind.group, kind.plural) == (self.kind.group, "clusterroles"):
            self._pending = True
            self.sync()

    def sync(self) -> None:
        """Recompute the aggregated ClusterRoles until nothing is pending."""
        while True:
            # subtle: our own updates fire after_write again; they only set _pending
            if not self._lock.acquire(blocking=False):
                return  # whoever holds the lock will see _pending and go round again
            try:
                while self._pending:
                    self._pending = False
                    self._sync_once()
            finally:
                self._lock.release()
            if not self._pending:
                return

    def _sync_once(self) -> None:
        roles = self.registry.list_all(self.kind)[0]
        for name, rules in aggregate_rules(roles).items():
            def change(role: Obj, rules: list[Obj] = rules) -> Obj:
                role["rules"] = rules
                return role
            try:
                self.registry.guaranteed_update(self.kind, "", name, change)
            except errors.APIError as err:
                if err.reason != "NotFound":
                    raise

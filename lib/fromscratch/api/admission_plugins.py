"""Built-in admission plugins every real cluster runs, and a switch to turn them on.

Models two of kube-apiserver's default-enabled plugins
(https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/):

- **DefaultTolerationSeconds** (``plugin/pkg/admission/defaulttolerationseconds``):
  a new Pod that does not already tolerate them gets
  ``node.kubernetes.io/not-ready:NoExecute`` and
  ``node.kubernetes.io/unreachable:NoExecute`` for ``tolerationSeconds: 300``.
  That is why a Pod on a node that stops answering is evicted five minutes
  later (the taint manager, ``controllers/taint_eviction.py``), not at once.
  A toleration with an empty key (matching every taint) or an empty effect
  (matching every effect) already covers them.
- **ServiceAccount** (``plugin/pkg/admission/serviceaccount``): every Pod runs
  as a ServiceAccount, ``default`` unless named; a missing one is refused; the
  token volume is mounted into every container.  The plugin and the
  controller that creates ``default`` (and the ``kube-root-ca.crt`` ConfigMap)
  in every namespace live with RBAC, in ``rbac/serviceaccounts.py``; this
  module only switches them on.
- **Priority** (``plugin/pkg/admission/priority``): a Pod's ``priorityClassName``
  becomes its ``spec.priority`` (see ``priority.py``).

Every :class:`~fromscratch.api.server.APIServer` runs DefaultTolerationSeconds
from the start; ``enable_admission_plugins(server)`` adds ServiceAccount and Priority (and
is harmless to call twice; ``enable_rbac`` installs the ServiceAccount pair
too).  Simplified: plugins are Python functions, on for a server once enabled,
without kube-apiserver's ``--enable-admission-plugins`` ordering rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fromscratch.api.admission import AdmissionRequest

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

Obj = dict[str, Any]
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300  # --default-not-ready-toleration-seconds / -unreachable-
PLUGINS = ("DefaultTolerationSeconds", "ServiceAccount", "Priority")


def _tolerates(tolerations: list[Obj], key: str) -> bool:
    # an empty key tolerates every taint key, an empty effect every effect
    return any((t.get("key") in (key, "", None)) and (t.get("effect") in ("NoExecute", "", None))
               for t in tolerations)


def default_toleration_seconds(request: AdmissionRequest, *,
                               seconds: int = DEFAULT_TOLERATION_SECONDS) -> Obj | None:
    """The DefaultTolerationSeconds mutating function: new Pods only."""
    pod = request.object
    if (request.kind.group, request.kind.kind) != ("", "Pod") or request.subresource \
            or request.operation != "CREATE" or not pod:
        return None
    spec = pod.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    for key in (NOT_READY, UNREACHABLE):
        if not _tolerates(tolerations, key):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations
    return pod


def enable_admission_plugins(server: APIServer, plugins: Iterable[str] = PLUGINS) -> list[str]:
    """Switch built-in plugins on in ``server``; returns the admission chain's names."""
    plugins = list(plugins)
    unknown = set(plugins) - set(PLUGINS)
    if unknown:
        raise ValueError(f"unknown admission plugins: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(PLUGINS)})")
    if "ServiceAccount" in plugins:
        from fromscratch.api.rbac.serviceaccounts import (
            ServiceAccountsController,
            service_account_admission,
        )

        if "ServiceAccount" not in server.admission.names():
            accounts = ServiceAccountsController(server.registry,
                                                 server.pki.ca_cert.read_text())
            accounts.sync()
            server.admission.add_mutating("ServiceAccount",
                                          service_account_admission(server.registry))
    if "DefaultTolerationSeconds" in plugins and "DefaultTolerationSeconds" not in server.admission.names():
        server.admission.add_mutating("DefaultTolerationSeconds", default_toleration_seconds)
    if "Priority" in plugins and "Priority" not in server.admission.names():
        from fromscratch.api.priority import priority_admission

        server.admission.add_mutating("Priority", priority_admission(server.registry))
    return server.admission.names()

"""The Pod subresources a cluster needs, and where each is served.

Models the extra REST endpoints kube-apiserver's Pod storage registers
(``pkg/registry/core/pod/storage``), beside ``status``:

- ``POST …/pods/<name>/binding`` — the scheduler assigns the Pod to a Node
  (``pod_binding.py``; also the older ``POST …/namespaces/<ns>/bindings``);
- ``POST …/pods/<name>/eviction`` — a delete that respects
  PodDisruptionBudgets, what ``kubectl drain`` sends (``pod_eviction.py``);
- ``GET …/pods/<name>/log`` — the container's log, streamed from its node's
  kubelet (``pod_logs.py``).

Binding and eviction answer ``201`` with a ``Status`` of ``Success`` (and
``code: 201``), as kube-apiserver's create handler fills it in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fromscratch.api import errors
from fromscratch.api.handlers import Request, Response, _dry_run, decode_body
from fromscratch.api.pod_binding import bind
from fromscratch.api.pod_eviction import evict

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry
    from fromscratch.api.request_info import RequestInfo


def serve(registry: Registry, info: RequestInfo, kind: Kind, request: Request) -> Response:
    """Route ``pods/binding``, ``pods/eviction``, ``pods/log`` and ``bindings``."""
    sub = info.subresource
    if kind.plural == "bindings":
        # the older form: the Pod is named by the Binding's metadata.name
        if info.verb != "create" or info.name:
            raise errors.method_not_allowed(info.verb, "bindings")
        body = decode_body(request)
        pod_name = str(((body if isinstance(body, dict) else {}).get("metadata") or {})
                       .get("name") or "")
        pods = registry.kinds.lookup("", "v1", "pods")
        assert pods is not None
        bind(registry, pods, info.namespace, pod_name, body, dry_run=_dry_run(request.query))
        return Response(201, {**errors.success_status(), "code": 201})
    if sub == "log":
        if info.verb != "get":
            raise errors.method_not_allowed(info.verb, "pods/log")
        from fromscratch.api.pod_logs import pod_log

        return pod_log(registry, kind, info.namespace, info.name, request.query)
    if info.verb != "create":
        raise errors.method_not_allowed(info.verb, f"pods/{sub}")
    body = decode_body(request)
    if sub == "binding":
        bind(registry, kind, info.namespace, info.name, body, dry_run=_dry_run(request.query))
    else:
        evict(registry, kind, info.namespace, info.name, body,
              dry_run=_dry_run(request.query))
    return Response(201, {**errors.success_status(), "code": 201})

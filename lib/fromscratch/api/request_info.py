"""From an HTTP request to the question authorization asks: who does what to which resource?

Models kube-apiserver's ``RequestInfoFactory.NewRequestInfo``
(``k8s.io/apiserver/pkg/endpoints/request/requestinfo.go``).  Every request is
classified before anything else happens — RBAC, admission and the storage
layer all read the result:

* ``/api/v1/namespaces/dev/pods/web`` is a *resource request*: group ``""``
  (the core group), version ``v1``, namespace ``dev``, resource ``pods``,
  name ``web``;
* ``/apis/apps/v1/deployments`` names the group (``apps``) after ``/apis``;
* the verb comes from the HTTP method (POST create, GET/HEAD get, PUT update,
  PATCH patch, DELETE delete), then is refined: a GET without a name is a
  ``list``, or a ``watch`` with ``?watch=true`` (anything but ``false``/``0``);
  a DELETE without a name is a ``deletecollection``;
* the older path forms ``/api/v1/watch/...`` and ``/api/v1/proxy/...`` put the
  verb in the path;
* ``/api/v1/namespaces/dev`` is the namespace ``dev`` itself (resource
  ``namespaces``; its request namespace is ``dev``, except for PATCH, which
  server-side apply uses to create it), and ``/api/v1/namespaces/dev/status`` and ``/finalize`` are
  its subresources;
* everything else (``/healthz``, ``/version``, ``/api``, ``/apis/apps``) is a
  non-resource request whose verb is the lowercased HTTP method.

A list or watch whose field selector pins ``metadata.name=x`` gets ``name``
``x``, so RBAC ``resourceNames`` can allow it (as kube-apiserver does since 1.16).
Simplified: we only parse ``watch`` and ``fieldSelector`` from the query,
where the real server decodes the whole ``ListOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from fromscratch.api.selectors import SelectorError, parse_field_selector
from fromscratch.exercises import pluggable

API_PREFIXES = ("api", "apis")
GROUPLESS_PREFIXES = ("api",)  # /api/v1 is the core group: no group segment
SPECIAL_VERBS = ("proxy", "watch")  # verbs that may appear as a path prefix
SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)  # after /proxy/, the rest is a path, not a subresource
NAMESPACE_SUBRESOURCES = ("status", "finalize")

METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}



class RequestInfoError(ValueError):
    """A resource path that cannot be classified (e.g. ``/api/v1/watch`` with nothing after)."""


Query = Mapping[str, str | Sequence[str]] | str | None


@dataclass(frozen=True)
class RequestInfo:
    """What kube-apiserver knows about a request before it authorizes it."""

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = field(default_factory=tuple)


def _query_values(query: Query, key: str) -> list[str]:
    """All values of ``key`` in a query given as a string or a mapping."""
    if query is None:
        return []
    if isinstance(query, str):
        return parse_qs(query.lstrip("?"), keep_blank_values=True).get(key, [])
    value = query.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _valid_path_segment(name: str) -> bool:
    # path.IsValidPathSegmentName: not "." or "..", no "/" or "%"
    return name not in (".", "..") and "/" not in name and "%" not in name


@pluggable("request_info")
def request_info(method: str, path: str, query: Query = None) -> RequestInfo:
    """Classify ``method path?query`` the way kube-apiserver's RequestInfoFactory does.

    ``path`` may carry its own ``?query``; ``query`` may also be given as a
    mapping of parameter name to value(s).  Non-resource requests get the
    lowercased HTTP method as their verb.
    """
    if "?" in path:
        split = urlsplit(path)
        path, query = split.path, query if query is not None else split.query
    method = method.upper()
    basic = RequestInfo(is_resource_request=False, path=path, verb=method.lower())

    # 1. /{prefix}/[{group}/]{version}/... — anything shorter is not a resource
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return basic
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return basic
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]

    # 2. the verb: from a /watch/ or /proxy/ path prefix, else from the method
    if parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            raise RequestInfoError(f"unable to determine kind and namespace from url {path!r}")
        verb, parts = parts[0], parts[1:]
    else:
        verb = METHOD_VERBS.get(method, "")

    # 3. /namespaces/{ns}/{resource}/... — the namespace, then re-anchor on the resource
    namespace = ""
    if parts[0] == "namespaces" and len(parts) == 2 and verb == "patch":
        # subtle: server-side apply creates a namespace with PATCH /namespaces/new;
        # that request is not "inside" the namespace it creates
        namespace = ""
    elif parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        # subtle: /namespaces/dev/status is the namespace's own subresource
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]

    # 4. resource / name / subresource
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = ""
    if len(parts) >= 3 and verb not in SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]

    # 5. a GET of a collection is a list, or a watch when ?watch is set and not false/0
    if not name and verb == "get":
        watch = _query_values(query, "watch")
        verb = "watch" if watch and watch[0].lower() not in ("false", "0") else "list"
        selectors = _query_values(query, "fieldSelector")
        if selectors:
            try:
                pinned = parse_field_selector(selectors[0]).requires_exact_match("metadata.name")
            except SelectorError:
                pinned = None  # an unparsable selector names nothing
            if pinned and _valid_path_segment(pinned):
                name = pinned

    # 6. a DELETE of a collection is a deletecollection
    if not name and verb == "delete":
        verb = "deletecollection"

    return RequestInfo(
        is_resource_request=True,
        path=path,
        verb=verb,
        api_prefix=prefix,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=tuple(parts),
    )

"""REST handlers: from a classified request to a registry call and a response object.

Models kube-apiserver's ``endpoints/handlers`` (``get.go``, ``create.go``,
``update.go``, ``patch.go``, ``delete.go``): for each verb, decode the body,
read the query parameters (``dryRun``, ``labelSelector``, ``limit`` ...),
call the registry, and say which status code to answer with.

Lists are sorted by key (namespace, then name) and paged with ``limit`` and
``continue``: the continue token is opaque to clients (base64 of the list's
resourceVersion and the last key sent).

Simplified: a list always reads the latest state — a ``resourceVersion``
parameter on a list is not honoured, and a continued list reads the current
state rather than a snapshot at the first page's resourceVersion
(kube-apiserver reads that snapshot from etcd).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from fromscratch.api import errors, patching, scale
from fromscratch.api.auth import Authenticator, Authorizer, UserInfo, allow_all
from fromscratch.api.kinds import Kind
from fromscratch.api.registry import Registry, key_prefix, object_key
from fromscratch.api.request_info import RequestInfo
from fromscratch.api.reviews import REVIEW_KINDS, review
from fromscratch.api.selectors import SelectorError, parse_field_selector, parse_label_selector

Obj = dict[str, Any]
BODY_TYPES = ["application/json", "application/yaml"]
PROTOBUF = "application/vnd.kubernetes.protobuf"  # read for a few kinds only (protobuf.py)


@dataclass
class Request:
    """One HTTP request, decoded as far as the transport goes."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes = b""
    content_type: str = "application/json"
    user: UserInfo = field(default_factory=lambda: UserInfo("anonymous"))


@dataclass
class Response:
    """A response object; ``listed`` / ``kind`` let the transport render it as a Table."""

    code: int
    body: Obj
    kind: Kind | None = None
    listed: list[Obj] | None = None  # the items, when this is a list
    warnings: list[str] = field(default_factory=list)  # sent as Warning headers
    stream: Iterator[bytes] | None = None  # a body sent as it comes (pods/log), chunked
    content_type: str = "application/json"


def decode_body(request: Request) -> Any:
    """The request body as data: JSON or YAML, by Content-Type."""
    media = request.content_type.split(";")[0].strip().lower() or "application/json"
    if media == PROTOBUF:
        from fromscratch.api import protobuf

        return protobuf.decode(request.body)
    if media not in BODY_TYPES and media != "text/yaml":
        raise errors.unsupported_media_type(media, BODY_TYPES)
    if not request.body.strip():
        raise errors.bad_request("the request body is empty")
    try:
        if media == "application/json":
            return json.loads(request.body)
        return yaml.safe_load(request.body)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        kind = "json" if media == "application/json" else "yaml"
        raise errors.bad_request(f"couldn't decode the body: {kind} parse error: "
                                 f"{str(err).splitlines()[0] if str(err) else err!r}") from None


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def check_unknown_fields(kind: Kind, obj: Any, query: Mapping[str, str],
                         warnings: list[str]) -> None:
    """``?fieldValidation=``: Strict refuses unknown fields, Warn reports them (custom kinds)."""
    directive = query.get("fieldValidation", "") or "Warn"
    if directive not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f"fieldValidation must be Strict, Warn or Ignore, "
                                 f"not {directive!r}")
    if not kind.custom or directive == "Ignore" or not isinstance(obj, dict):
        return
    from fromscratch.api.crd import unknown_fields

    unknown = [f'unknown field "{path}"' for path in unknown_fields(kind, obj)]
    if unknown and directive == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(unknown))
    warnings += unknown


def _dry_run(query: Mapping[str, str]) -> bool:
    value = query.get("dryRun", "")
    if value not in ("", "All"):
        raise errors.bad_request(f"unsupported dryRun value {value!r}: only 'All' is supported")
    return value == "All"


def _int_param(query: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    if name not in query or query[name] == "":
        return default
    try:
        value = int(query[name])
    except ValueError:
        raise errors.bad_request(f"{name} must be an integer, got {query[name]!r}") from None
    if value < 0:
        raise errors.bad_request(f"{name} must not be negative, got {value}")
    return value


def selectors(kind: Kind, query: Mapping[str, str]):
    """The label and field selectors of a list or watch (400 if malformed or unsupported)."""
    try:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as err:
        raise errors.bad_request(f"invalid selector: {err}") from None
    for requirement in fields.requirements:
        if not kind.supports_field(requirement.field):
            raise errors.bad_request(f'field label not supported: {requirement.field}')
    return labels, fields


def matcher(kind: Kind, query: Mapping[str, str]):
    labels, fields = selectors(kind, query)
    return lambda obj: labels.matches((obj.get("metadata") or {}).get("labels") or {}) \
        and fields.matches(obj)


def _continue_token(rv: int, last_key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _parse_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.bad_request("continue key is not valid: malformed token") from None
    if not start.startswith(prefix):
        raise errors.bad_request("continue key is not valid: it belongs to another list")
    return rv, start


class ResourceHandlers:
    """Turns (RequestInfo, Request) into a registry call."""

    def __init__(self, registry: Registry, authenticator: Authenticator,
                 authorizer: Authorizer = allow_all) -> None:
        self.registry = registry
        self.authenticator = authenticator
        self.authorizer = authorizer  # for access reviews

    def handle(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        verb, sub = info.verb, info.subresource
        if not kind.namespaced and info.namespace:
            if kind.plural != "namespaces":
                raise errors.not_found(kind.plural, info.name, kind.group)
            info = dataclasses.replace(info, namespace="")  # /api/v1/namespaces/<name>
        if kind.namespaced and not info.namespace and (
                verb in ("create", "deletecollection") or info.name):
            raise errors.method_not_allowed(verb, kind.plural)
        if sub and sub not in kind.subresources:
            raise errors.not_found(f"{kind.plural}/{sub}", info.name, kind.group)
        if kind.kind in REVIEW_KINDS and not kind.custom:
            if verb != "create" or sub or info.name:
                raise errors.method_not_allowed(verb, kind.plural)
            answer = review(kind.kind, decode_body(request), request.user, self.authorizer)
            return Response(201, answer)
        if sub == "scale":
            return self._scale(info, kind, request)
        if sub == "token":
            return self._token(info, kind, request)
        if (kind.group, kind.plural) == ("", "bindings") or (
                (kind.group, kind.plural) == ("", "pods") and sub in ("binding", "eviction", "log")):
            from fromscratch.api.pod_subresources import serve

            return serve(self.registry, info, kind, request)
        method = getattr(self, f"_{verb}", None)
        if method is None or (sub and verb not in ("get", "update", "patch")):
            raise errors.method_not_allowed(verb, f"{kind.plural}/{sub}" if sub else kind.plural)
        return method(info, kind, request)

    # --- reads -----------------------------------------------------------------------------
    def _get(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        return Response(200, self.registry.get(kind, info.namespace, info.name), kind)

    def _list(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        query = request.query
        matches = matcher(kind, query)
        limit = _int_param(query, "limit", 0) or 0
        prefix = key_prefix(kind, info.namespace)
        items, rv = self.registry.list_all(kind, info.namespace)
        if query.get("continue"):
            rv, start = _parse_continue(query["continue"], prefix)
            items = [i for i in items if self._key(kind, i) > start]
        selected, more = [], False
        for item in items:
            if matches(item):
                if limit and len(selected) == limit:
                    more = True
                    break
                selected.append(item)
        meta: Obj = {"resourceVersion": str(rv)}
        if more:
            meta["continue"] = _continue_token(rv, self._key(kind, selected[-1]))
        body = {"kind": kind.list_kind, "apiVersion": kind.api_version, "metadata": meta,
                "items": selected}
        return Response(200, body, kind, listed=selected)

    def _key(self, kind: Kind, obj: Obj) -> str:
        meta = obj["metadata"]
        return object_key(kind, meta.get("namespace", ""), meta["name"])

    # --- writes ----------------------------------------------------------------------------
    def _create(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        if info.name:
            raise errors.method_not_allowed("create", f"{kind.plural}/{info.name}")
        body = decode_body(request)
        warnings: list[str] = []
        check_unknown_fields(kind, body, request.query, warnings)
        created = self.registry.create(kind, info.namespace, body, user=request.user,
                                       dry_run=_dry_run(request.query))
        return Response(201, created, warnings=warnings)

    def _update(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        body = decode_body(request)
        warnings: list[str] = []
        check_unknown_fields(kind, body, request.query, warnings)
        updated = self.registry.update(kind, info.namespace, info.name, body,
                                       subresource=info.subresource, user=request.user,
                                       dry_run=_dry_run(request.query))
        return Response(200, updated, warnings=warnings)

    def _patch(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        media = request.content_type.split(";")[0].strip().lower()
        # an unsupported patch type is refused before looking the object up
        patching.check_patch_type(kind, media)
        warnings: list[str] = []
        patched = patching.patch_object(
            self.registry, kind, info.namespace, info.name, media, request.body,
            subresource=info.subresource, user=request.user, dry_run=_dry_run(request.query),
            check=lambda obj: check_unknown_fields(kind, obj, request.query, warnings))
        return Response(200, patched, warnings=warnings)

    def _delete_options(self, request: Request) -> Obj:
        options: Obj = {}
        if request.body.strip():
            decoded = decode_body(request)
            if not isinstance(decoded, dict):
                raise errors.bad_request("DeleteOptions must be an object")
            options = decoded
        grace = _int_param(request.query, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if request.query.get("propagationPolicy"):
            options["propagationPolicy"] = request.query["propagationPolicy"]
        if options.get("orphanDependents") is True or _flag(request.query, "orphanDependents"):
            options.setdefault("propagationPolicy", "Orphan")
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Foreground", "Background"):
            raise errors.bad_request(f"propagationPolicy {policy!r} is not one of Orphan, "
                                     "Foreground, Background")
        grace = options.get("gracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
            raise errors.bad_request("gracePeriodSeconds must be an integer")
        return options

    def _delete(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        options = self._delete_options(request)
        dry_run = _dry_run(request.query) or options.get("dryRun") == ["All"]
        obj, gone = self.registry.delete(kind, info.namespace, info.name, options,
                                         user=request.user, dry_run=dry_run)
        from fromscratch.api.deletion import RETURNS_DELETED_OBJECT

        if gone and (kind.group, kind.kind) not in RETURNS_DELETED_OBJECT:
            details = {"name": info.name, "kind": kind.plural,
                       "uid": obj["metadata"].get("uid", "")}
            if kind.group:
                details["group"] = kind.group
            return Response(200, errors.success_status(details))
        return Response(200, obj)

    def _deletecollection(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        options = self._delete_options(request)
        matches = matcher(kind, request.query)
        items, _ = self.registry.list_all(kind, info.namespace)
        deleted = []
        for item in items:
            if not matches(item):
                continue
            try:
                obj, _ = self.registry.delete(kind, item["metadata"].get("namespace", ""),
                                              item["metadata"]["name"], options,
                                              user=request.user,
                                              dry_run=_dry_run(request.query))
                deleted.append(obj)
            except errors.APIError as err:
                if err.reason != "NotFound":  # deleted meanwhile: fine
                    raise
        body = {"kind": kind.list_kind, "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self.registry.store.current_rv())},
                "items": deleted}
        return Response(200, body)

    # --- subresources ----------------------------------------------------------------------
    def _scale(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        dry_run = _dry_run(request.query)
        if info.verb == "get":
            return Response(200, scale.get_scale(self.registry, kind, info.namespace, info.name))
        if info.verb == "update":
            result = scale.update_scale(self.registry, kind, info.namespace, info.name,
                                        new_scale=decode_body(request), user=request.user,
                                        dry_run=dry_run)
            return Response(200, result)
        if info.verb == "patch":
            media = request.content_type.split(";")[0].strip().lower()
            result = scale.update_scale(self.registry, kind, info.namespace, info.name,
                                        patch_type=media, patch=request.body,
                                        user=request.user, dry_run=dry_run)
            return Response(200, result)
        raise errors.method_not_allowed(info.verb, f"{kind.plural}/scale")

    def _token(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        """TokenRequest: ``POST …/serviceaccounts/<name>/token`` signs a token for it."""
        if info.verb != "create":
            raise errors.method_not_allowed(info.verb, "serviceaccounts/token")
        body = decode_body(request)
        if not isinstance(body, dict):
            raise errors.bad_request("the body must be a TokenRequest")
        account = self.registry.get(kind, info.namespace, info.name)
        spec = body.get("spec") or {}
        seconds = spec.get("expirationSeconds", 3600)
        if not isinstance(seconds, int) or seconds < 600:
            raise errors.invalid("TokenRequest", info.name, [errors.invalid_value(
                "spec.expirationSeconds", seconds, "may not specify a duration less than "
                "10 minutes")], "authentication.k8s.io")
        audiences = spec.get("audiences") or None
        token, expires = self.authenticator.issue_service_account_token(
            info.namespace, info.name, account["metadata"]["uid"], audiences=audiences,
            expiration_seconds=seconds)
        from fromscratch.api.registry import rfc3339

        result = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                  "metadata": {"name": info.name, "namespace": info.namespace},
                  "spec": {"audiences": audiences or [], "expirationSeconds": seconds},
                  "status": {"token": token, "expirationTimestamp": rfc3339(expires)}}
        return Response(201, result)

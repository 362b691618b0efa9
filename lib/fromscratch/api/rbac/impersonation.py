"""Impersonation: ``kubectl --as bob --as-group devs`` acts as someone else, if allowed.

Models kube-apiserver's ``WithImpersonation`` filter
(``k8s.io/apiserver/pkg/endpoints/filters/impersonation.go``), which runs
after authentication and before authorization.  The caller sends headers:

- ``Impersonate-User: bob`` — needs verb ``impersonate`` on ``users`` named
  ``bob`` (core group, cluster-wide), or, for
  ``system:serviceaccount:ns:name``, on ``serviceaccounts`` named ``name`` in
  ``ns``;
- ``Impersonate-Group: devs`` (repeatable) — ``impersonate`` on ``groups``;
- ``Impersonate-Uid`` / ``Impersonate-Extra-<key>`` — ``impersonate`` on
  ``uids`` / ``userextras/<key>`` in ``authentication.k8s.io``.

Every check must pass, or the request is refused (403) before it does
anything.  The impersonated user gets ``system:authenticated`` added; a
ServiceAccount impersonated without groups gets its ServiceAccount groups.
Groups, uid or extras without a user are a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from fromscratch.api import errors
from fromscratch.api.auth import Attributes, UserInfo, forbidden_message
from fromscratch.api.rbac.attributes import (
    ALL_SERVICE_ACCOUNTS,
    split_service_account,
    with_authenticated_group,
)

USER, GROUP, UID, EXTRA = "Impersonate-User", "Impersonate-Group", "Impersonate-Uid", \
    "Impersonate-Extra-"
Authorizer = Callable[[Attributes], "tuple[bool, str]"]


class Headers(Protocol):
    """What ``http.client.HTTPMessage`` offers (several values per name)."""

    def get_all(self, name: str, failobj: None = None) -> list[str] | None: ...

    def keys(self) -> list[str]: ...


def _values(headers: Headers | Mapping[str, str], name: str) -> list[str]:
    if hasattr(headers, "get_all"):
        return list(headers.get_all(name) or [])  # type: ignore[union-attr]
    wanted = name.lower()
    return [v for k, v in headers.items() if k.lower() == wanted]  # type: ignore[union-attr]


def _check(authorizer: Authorizer, actor: UserInfo, *, resource: str, name: str,
           namespace: str = "", group: str = "", subresource: str = "") -> None:
    attributes = Attributes(user=actor, verb="impersonate", is_resource_request=True,
                            path="", namespace=namespace, api_group=group, api_version="v1",
                            resource=resource, subresource=subresource, name=name)
    allowed, reason = authorizer(attributes)
    if not allowed:
        raise errors.forbidden_error(forbidden_message(attributes, reason), resource=resource,
                                     name=name, group=group)


def impersonate(actor: UserInfo, headers: Headers | Mapping[str, str],
                authorizer: Authorizer) -> UserInfo:
    """The user this request acts as: ``actor``, or whom it may impersonate (else 403/400)."""
    users = _values(headers, USER)
    groups = _values(headers, GROUP)
    uids = _values(headers, UID)
    names = list(headers.keys())
    extra_keys = sorted({k[len(EXTRA):].lower() for k in names if k.lower().startswith(
        EXTRA.lower())})
    if not users:
        if groups or uids or extra_keys:
            raise errors.bad_request("requested impersonation of groups, uid or extra "
                                     "without impersonating a user")
        return actor
    if len(users) > 1 or len(uids) > 1:
        raise errors.bad_request("only one Impersonate-User and Impersonate-Uid may be sent")
    actor = with_authenticated_group(actor)
    username = users[0]
    account = split_service_account(username)
    # 1. the user (or ServiceAccount) itself
    if account is not None:
        _check(authorizer, actor, resource="serviceaccounts", namespace=account[0],
               name=account[1])
    else:
        _check(authorizer, actor, resource="users", name=username)
    # 2. each group, the uid, each extra value
    for group in groups:
        _check(authorizer, actor, resource="groups", name=group)
    for uid in uids:
        _check(authorizer, actor, resource="uids", name=uid, group="authentication.k8s.io")
    extra: dict[str, list[str]] = {}
    for key in extra_keys:
        for value in _values(headers, EXTRA + key):
            _check(authorizer, actor, resource="userextras", subresource=key, name=value,
                   group="authentication.k8s.io")
            extra.setdefault(key, []).append(value)
    if account is not None and not groups:
        groups = [ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{account[0]}"]
    return with_authenticated_group(UserInfo(name=username, uid=uids[0] if uids else "",
                                             groups=tuple(groups), extra=extra))

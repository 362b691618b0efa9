"""Request attributes: the question RBAC answers, built from a user, a method and a URL.

Models the last step kube-apiserver takes before authorization
(``k8s.io/apiserver/pkg/endpoints/filters/authorization.go``,
``GetAuthorizerAttributes``): the *authenticated user* (name and groups) is
put together with the *request info* (verb, API group, resource, subresource,
namespace, name — chapter 6's ``request_info``) into one
:class:`~fromscratch.api.auth.Attributes`, which every authorizer reads.

Two details RBAC depends on:

- every authenticated user is in the group ``system:authenticated``
  (kube-apiserver's ``AuthenticatedGroupAdder``), which is how the bootstrap
  roles let everyone do discovery and ``kubectl auth can-i``;
- a ServiceAccount is the user ``system:serviceaccount:<namespace>:<name>``
  with the groups ``system:serviceaccounts`` and
  ``system:serviceaccounts:<namespace>``.

Simplified: no ``extra`` fields and no anonymous user (a request without a
valid token is refused with 401 before it gets here).
"""

from __future__ import annotations

from dataclasses import replace

from fromscratch.api.auth import SA_PREFIX, Attributes, UserInfo
from fromscratch.api.request_info import RequestInfo, request_info
from fromscratch.exercises import pluggable

AUTHENTICATED = "system:authenticated"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
MASTERS = "system:masters"


def with_authenticated_group(user: UserInfo) -> UserInfo:
    """``user`` with ``system:authenticated`` among its groups (added once)."""
    if AUTHENTICATED in user.groups:
        return user
    return replace(user, groups=(*user.groups, AUTHENTICATED))


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    """The user a ServiceAccount's token authenticates as."""
    return UserInfo(name=f"{SA_PREFIX}{namespace}:{name}", uid=uid,
                    groups=(ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}",
                            AUTHENTICATED))


def split_service_account(username: str) -> tuple[str, str] | None:
    """``system:serviceaccount:dev:ci`` -> ``("dev", "ci")``; other users -> None."""
    if not username.startswith(SA_PREFIX):
        return None
    namespace, _, name = username[len(SA_PREFIX):].partition(":")
    if not namespace or not name or ":" in name:
        return None
    return namespace, name


def from_request_info(user: UserInfo, info: RequestInfo) -> Attributes:
    """Attributes for ``user`` doing the request ``info`` classified."""
    return Attributes(user=with_authenticated_group(user), verb=info.verb,
                      is_resource_request=info.is_resource_request, path=info.path,
                      namespace=info.namespace, api_group=info.api_group,
                      api_version=info.api_version, resource=info.resource,
                      subresource=info.subresource, name=info.name)


@pluggable("request_attributes")
def request_attributes(user: UserInfo, method: str, url: str) -> Attributes:
    """What RBAC is asked when ``user`` sends ``method url`` (a path with optional ?query).

    ``GET /api/v1/namespaces/dev/pods`` by alice is "may alice (groups …,
    system:authenticated) list pods in group "" in namespace dev?".
    """
    if not url.startswith("/"):
        raise ValueError(f"expected a URL path starting with '/', got {url!r}")
    return from_request_info(user, request_info(method, url))

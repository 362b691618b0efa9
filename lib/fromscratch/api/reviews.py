"""Access reviews: ask the server "may this user do that?" and "who am I?".

Models the virtual resources of ``authorization.k8s.io/v1`` and
``authentication.k8s.io/v1``: nothing is stored; creating one runs the
authorizer (or reads the caller's identity) and answers with ``status``
filled in.

- ``SelfSubjectAccessReview`` — may *I* do this?  (``kubectl auth can-i``)
- ``SubjectAccessReview`` — may *this user/groups* do this?  (webhooks, tools)
- ``SelfSubjectReview`` — who am I?  (``kubectl auth whoami``)

With the default allow-all authorizer every answer is "yes"; the RBAC
chapter plugs in an authorizer and these start saying "no".
"""

from __future__ import annotations

from typing import Any

from fromscratch.api import errors
from fromscratch.api.auth import Attributes, Authorizer, UserInfo

Obj = dict[str, Any]
REVIEW_KINDS = {"SelfSubjectAccessReview", "SubjectAccessReview", "SelfSubjectReview"}


def _attributes(user: UserInfo, spec: Obj) -> Attributes:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if isinstance(resource, dict):
        return Attributes(user=user, verb=str(resource.get("verb", "")), is_resource_request=True,
                          path="", namespace=str(resource.get("namespace", "")),
                          api_group=str(resource.get("group", "")),
                          api_version=str(resource.get("version", "")),
                          resource=str(resource.get("resource", "")),
                          subresource=str(resource.get("subresource", "")),
                          name=str(resource.get("name", "")))
    if isinstance(non_resource, dict):
        return Attributes(user=user, verb=str(non_resource.get("verb", "")),
                          is_resource_request=False, path=str(non_resource.get("path", "")))
    raise errors.invalid("SubjectAccessReview", "", [errors.required(
        "spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes "
        "must be specified")], "authorization.k8s.io")


def review(kind: str, body: Any, caller: UserInfo, authorizer: Authorizer) -> Obj:
    """The answered review for a created ``kind`` object."""
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body must be a {kind}")
    spec = body.get("spec") or {}
    if kind == "SelfSubjectReview":
        user_info = {"username": caller.name, "uid": caller.uid, "groups": list(caller.groups)}
        return {"kind": kind, "apiVersion": "authentication.k8s.io/v1", "metadata": {},
                "status": {"userInfo": user_info}}
    if kind == "SubjectAccessReview":
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(kind, "", [errors.required(
                "spec.user", "at least one of user or group must be specified")],
                "authorization.k8s.io")
        subject = UserInfo(name=str(spec.get("user", "")), uid=str(spec.get("uid", "")),
                           groups=tuple(spec.get("groups") or ()))
    else:
        subject = caller
    allowed, reason = authorizer(_attributes(subject, spec))
    status: Obj = {"allowed": bool(allowed)}
    if reason:
        status["reason"] = reason
    return {"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {},
            "spec": spec, "status": status}

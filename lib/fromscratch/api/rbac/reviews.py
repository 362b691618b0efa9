"""Access reviews: asking the authorizer "may X do Y?" through the API itself.

Models the ``authorization.k8s.io/v1`` API of kube-apiserver
(``pkg/registry/authorization``).  These resources are never stored: a
``create`` is a question, and the answer comes back in ``status``.

- **SelfSubjectAccessReview** — "may *I* …?" (``kubectl auth can-i create pods``);
- **SubjectAccessReview** — "may *this user/groups* …?" (admins, webhooks);
- **LocalSubjectAccessReview** — the same, limited to one namespace (the
  ``admin`` role may create them in its namespace);
- **SelfSubjectRulesReview** — "what may I do in namespace N?"
  (``kubectl auth can-i --list``).

Every authenticated user may create the two *self* reviews (the
``system:basic-user`` ClusterRole).  ``kubectl auth can-i … --as bob`` is a
SelfSubjectAccessReview sent *while impersonating* bob.

Simplified: ``extra`` and ``uid`` in a SubjectAccessReview are accepted but
not used; field and label selector attributes (alpha) are ignored; the subject
of a SubjectAccessReview counts as a member of ``system:authenticated`` (our
authorizer adds that group to every user, where kube-apiserver's
authenticator adds it, so a review naming a bare user sees the rules every
authenticated user has).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors
from fromscratch.api.auth import Attributes, UserInfo
from fromscratch.api.errors import invalid_value, required
from fromscratch.api.handlers import Request, Response, decode_body
from fromscratch.api.kinds import Kind
from fromscratch.api.rbac.attributes import MASTERS, with_authenticated_group
from fromscratch.api.rbac.authorizer import RBACAuthorizer, rules_for
from fromscratch.api.request_info import RequestInfo

if TYPE_CHECKING:
    from fromscratch.api.server import APIServer

Obj = dict[str, Any]
GROUP = "authorization.k8s.io"
REVIEW_KINDS = (
    Kind(GROUP, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", namespaced=False,
         verbs=("create",)),
    Kind(GROUP, "v1", "SubjectAccessReview", "subjectaccessreviews", namespaced=False,
         verbs=("create",)),
    Kind(GROUP, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
         verbs=("create",)),
    Kind(GROUP, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", namespaced=False,
         verbs=("create",)),
)
ALL_RULES = ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
             [{"verbs": ["*"], "nonResourceURLs": ["*"]}])


def review_attributes(user: UserInfo, spec: Obj, kind_name: str) -> Attributes:
    """The Attributes a review's ``spec`` asks about (422 if it asks nothing or both)."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise errors.invalid(kind_name, "", [invalid_value(
            "spec.resourceAttributes", resource, "exactly one of nonResourceAttributes or "
            "resourceAttributes must be specified")], GROUP)
    if non_resource is not None:
        if not isinstance(non_resource, dict):
            raise errors.bad_request("spec.nonResourceAttributes must be an object")
        return Attributes(user=user, verb=str(non_resource.get("verb", "")),
                          is_resource_request=False, path=str(non_resource.get("path", "")))
    if not isinstance(resource, dict):
        raise errors.bad_request("spec.resourceAttributes must be an object")

    def text(key: str) -> str:
        value = resource.get(key, "")
        return value if isinstance(value, str) else str(value)

    return Attributes(user=user, verb=text("verb"), is_resource_request=True, path="",
                      namespace=text("namespace"), api_group=text("group"),
                      api_version=text("version"), resource=text("resource"),
                      subresource=text("subresource"), name=text("name"))


def _subject_from_spec(spec: Obj, kind_name: str) -> UserInfo:
    user, groups = spec.get("user") or "", spec.get("groups") or []
    if not user and not groups:
        raise errors.invalid(kind_name, "", [invalid_value(
            "spec.user", user, "at least one of user or group must be specified")], GROUP)
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise errors.bad_request("spec.groups must be a list of strings")
    return UserInfo(name=str(user), uid=str(spec.get("uid") or ""), groups=tuple(groups))


class ReviewHandlers:
    """Serves ``authorization.k8s.io``; hands every other request to the REST handlers."""

    def __init__(self, server: APIServer, inner: Any) -> None:
        self.server = server
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # everything else: the wrapped handlers

    def handle(self, info: RequestInfo, kind: Kind, request: Request) -> Response:
        if kind.group != GROUP:
            return self.inner.handle(info, kind, request)
        if info.verb != "create" or info.subresource or info.name:
            raise errors.method_not_allowed(info.verb, kind.plural)
        body = decode_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("spec") or {}, dict):
            raise errors.bad_request(f"the body must be a {kind.kind}")
        review = copy.deepcopy(body)
        review.update(apiVersion=kind.api_version, kind=kind.kind)
        review.setdefault("metadata", {})["creationTimestamp"] = None
        spec = review.setdefault("spec", {})
        if kind.kind == "SelfSubjectRulesReview":
            review["status"] = self.rules_review(request.user, str(spec.get("namespace") or ""))
            return Response(201, review)
        if kind.kind.startswith("Self"):
            subject = request.user
        else:
            subject = _subject_from_spec(spec, kind.kind)
        attributes = review_attributes(subject, spec, kind.kind)
        if kind.kind == "LocalSubjectAccessReview":
            given = (spec.get("resourceAttributes") or {}).get("namespace")
            if spec.get("nonResourceAttributes") is not None or (given and given != info.namespace):
                raise errors.bad_request("spec.resourceAttributes.namespace must match "
                                         "namespace: " + info.namespace)
            spec["resourceAttributes"]["namespace"] = info.namespace
            attributes = review_attributes(subject, spec, kind.kind)
        review["status"] = self.access_review(attributes)
        return Response(201, review)

    def access_review(self, attributes: Attributes) -> Obj:
        allowed, reason = self.server.authorizer(attributes)
        status: Obj = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return status

    def rules_review(self, user: UserInfo, namespace: str) -> Obj:
        """SelfSubjectRulesReview status: the rules ``user`` holds in ``namespace``."""
        if not namespace:
            raise errors.invalid("SelfSubjectRulesReview", "", [required("spec.namespace")],
                                 GROUP)
        user = with_authenticated_group(user)
        authorizer = self.server.authorizer
        if not isinstance(authorizer, RBACAuthorizer) or MASTERS in user.groups:
            # no RBAC (everything allowed), or system:masters: the wildcard rules
            resource_rules, url_rules = copy.deepcopy(ALL_RULES)
        else:
            resource_rules, url_rules = [], []
            for rule in rules_for(authorizer.policy, user, namespace):
                if rule.get("resources"):
                    resource_rules.append({k: rule[k] for k in (
                        "verbs", "apiGroups", "resources", "resourceNames") if k in rule})
                if rule.get("nonResourceURLs"):
                    url_rules.append({"verbs": rule["verbs"],
                                      "nonResourceURLs": rule["nonResourceURLs"]})
        return {"resourceRules": resource_rules, "nonResourceRules": url_rules,
                "incomplete": False}


def install_review_api(server: APIServer) -> None:
    """Serve the ``authorization.k8s.io/v1`` reviews on ``server`` (discovery included)."""
    for kind in REVIEW_KINDS:
        server.kinds.add(kind)
    if not isinstance(server.handlers, ReviewHandlers):
        server.handlers = ReviewHandlers(server, server.handlers)  # type: ignore[assignment]

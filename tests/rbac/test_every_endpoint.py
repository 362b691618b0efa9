"""Every endpoint honours the authorizer: walk discovery, try each resource as a nobody."""

from __future__ import annotations

from tests.api.helpers import raw_request

# every authenticated user may ask about itself (the system:basic-user ClusterRole)
OPEN_TO_ALL = {("authorization.k8s.io", "selfsubjectaccessreviews"),
               ("authorization.k8s.io", "selfsubjectrulesreviews"),
               ("authentication.k8s.io", "selfsubjectreviews")}


def _resources(server, token):
    """(group, version, APIResource) for every resource discovery lists, read as ``token``."""
    code, core = raw_request(server, "GET", "/api/v1", token=token)
    assert code == 200  # discovery itself is open to every authenticated user
    yield from (("", "v1", r) for r in core["resources"])
    code, groups = raw_request(server, "GET", "/apis", token=token)
    for group in groups["groups"]:
        for version in group["versions"]:
            code, listing = raw_request(server, "GET", f"/apis/{version['groupVersion']}",
                                        token=token)
            assert code == 200
            yield from ((group["name"], version["version"], r) for r in listing["resources"])


def test_every_resource_denies_an_unprivileged_service_account(server, ns, token_for):
    token = token_for(ns, "nobody")
    checked = 0
    for group, version, resource in _resources(server, token):
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        name, _, sub = resource["name"].partition("/")
        scope = f"{base}/namespaces/{ns}" if resource["namespaced"] else base
        for verb in resource["verbs"]:
            method, path = {
                "list": ("GET", f"{scope}/{name}"),
                "watch": ("GET", f"{scope}/{name}?watch=true"),
                "get": ("GET", f"{scope}/{name}/x" + (f"/{sub}" if sub else "")),
                "create": ("POST", f"{scope}/{name}" + (f"/x/{sub}" if sub else "")),
                "update": ("PUT", f"{scope}/{name}/x" + (f"/{sub}" if sub else "")),
                "patch": ("PATCH", f"{scope}/{name}/x" + (f"/{sub}" if sub else "")),
                "delete": ("DELETE", f"{scope}/{name}/x"),
                "deletecollection": ("DELETE", f"{scope}/{name}"),
            }[verb]
            code, status = raw_request(server, method, path, {}, token=token,
                                       headers={"Content-Type": "application/merge-patch+json"}
                                       if method == "PATCH" else None)
            if (group, name) in OPEN_TO_ALL and verb == "create":
                assert code != 403, path
            else:
                assert code == 403, f"{verb} {path} gave {code}: {status}"
                assert status["reason"] == "Forbidden"
            checked += 1
    assert checked > 150  # every built-in kind, its verbs and subresources

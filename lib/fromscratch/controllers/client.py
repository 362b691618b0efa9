"""A small REST client for any resource, on top of the official ``kubernetes`` client.

Controllers work with plain dicts (the JSON the API server sends), for every
kind alike — like client-go's *dynamic* client — so one informer, one cache and
one skeleton serve Pods, ReplicaSets and custom resources.  The transport is the
official client's ``ApiClient``: its configuration (server, CA, token) comes from
the course's API server (``APIServer.client()``) or from a real cluster's
``KUBECONFIG`` (:func:`api_client_from_kubeconfig`), so the same controller
code runs against both.

Errors are the official client's ``ApiException`` (``.status`` is the HTTP
code: 404 NotFound, 409 Conflict, 410 Gone, 422 Invalid ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API: ``apps/v1`` ``deployments`` is ``Deployment``."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name)}"
        if subresource:
            base += f"/{subresource}"
        return base


PODS = Resource("", "v1", "pods", "Pod")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
EVENTS = Resource("", "v1", "events", "Event")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions", "ControllerRevision")
JOBS = Resource("batch", "v1", "jobs", "Job")
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob")


def api_client_from_kubeconfig(path: str | None = None, context: str | None = None) -> ApiClient:
    """An ``ApiClient`` for the cluster ``path`` (default: ``$KUBECONFIG``) points at."""
    from kubernetes import config

    return config.new_client_from_config(config_file=path, context=context)


class ResourceClient:
    """list / watch / get / create / update / patch / delete for one resource, as dicts."""

    def __init__(self, api_client: ApiClient, resource: Resource) -> None:
        self.api_client, self.resource = api_client, resource

    def _call(self, method: str, path: str, *, query: dict[str, Any] | None = None,
              body: Any = None, content_type: str = "application/json",
              timeout: float | tuple[float, float] | None = 60.0):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, str(v).lower() if isinstance(v, bool) else v)
                  for k, v in (query or {}).items() if v is not None]
        method, url, headers, body, post = self.api_client.param_serialize(
            method=method, resource_path=path, query_params=params, header_params=headers,
            body=body, auth_settings=["BearerToken"])
        response = self.api_client.call_api(method, url, headers, body, post,
                                            _request_timeout=timeout)
        if not 200 <= response.status < 300:
            response.read()
            raise ApiException(http_resp=response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Obj:
        return json.loads(self._call(method, path, **kwargs).read())

    # --- reads ----------------------------------------------------------------------------
    def list(self, namespace: str = "", *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_: str | None = None, resource_version: str | None = None) -> Obj:
        """One page of a list: ``{"items": [...], "metadata": {"resourceVersion", "continue"}}``."""
        return self._json("GET", self.resource.path(namespace), query={
            "labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit,
            "continue": continue_, "resourceVersion": resource_version})

    def watch(self, namespace: str = "", *, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None, bookmarks: bool = True) -> WatchStream:
        """Open a watch: iterate it for events (``{"type": ..., "object": ...}``)."""
        response = self._call("GET", self.resource.path(namespace), query={
            "watch": True, "resourceVersion": resource_version, "labelSelector": label_selector,
            "fieldSelector": field_selector, "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": bookmarks or None},
            timeout=(10.0, (timeout_seconds or 300) + 30.0))
        return WatchStream(response.response)

    def get(self, namespace: str, name: str) -> Obj:
        return self._json("GET", self.resource.path(namespace, name))

    # --- writes ---------------------------------------------------------------------------
    def create(self, namespace: str, body: Obj) -> Obj:
        return self._json("POST", self.resource.path(namespace), body=body)

    def update(self, body: Obj, *, subresource: str = "") -> Obj:
        """PUT the whole object; its ``resourceVersion`` makes it a compare-and-swap (409)."""
        meta = body["metadata"]
        return self._json("PUT", self.resource.path(meta.get("namespace", ""), meta["name"],
                                                    subresource), body=body)

    def update_status(self, body: Obj) -> Obj:
        return self.update(body, subresource="status")

    def patch(self, namespace: str, name: str, patch: Any, *,
              patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        return self._json("PATCH", self.resource.path(namespace, name, subresource), body=patch,
                          content_type=patch_type)

    def delete(self, namespace: str, name: str, *, propagation_policy: str | None = None,
               preconditions: Obj | None = None, grace_period_seconds: int | None = None) -> Obj:
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        return self._json("DELETE", self.resource.path(namespace, name), body=options)

    def post_subresource(self, namespace: str, name: str, subresource: str, body: Obj) -> Obj:
        return self._json("POST", self.resource.path(namespace, name, subresource), body=body)


class WatchStream:
    """The events of one watch request; ``close()`` (from any thread) ends it."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.closed = False

    def __iter__(self) -> Iterator[Obj]:
        from kubernetes.watch.watch import iter_resp_lines

        try:
            for line in iter_resp_lines(self._response):
                if line.strip():
                    yield json.loads(line)
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # subtle: shutdown() interrupts a read blocked in another thread; close() would not
        try:
            self._response.shutdown()
        except Exception:
            pass
        self._response.release_conn()


def is_status(err: Exception, *codes: int) -> bool:
    """Is ``err`` an API error with one of these HTTP status codes?"""
    return isinstance(err, ApiException) and err.status in codes

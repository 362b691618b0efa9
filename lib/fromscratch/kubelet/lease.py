"""The node heartbeat: a Lease in ``kube-node-lease`` renewed every few seconds.

Models the kubelet's node lease controller (``pkg/kubelet/nodelease`` and
``component-helpers/apimachinery/lease``).  Since Kubernetes 1.17 a kubelet
proves it is alive by renewing ``coordination.k8s.io/v1`` Lease
``kube-node-lease/<node>`` — a tiny object, cheap to write — every 10 s
(a quarter of ``leaseDurationSeconds`` = 40), and updates the much larger Node
status only when something changed or every few minutes.  The node lifecycle
controller marks a node NotReady/unreachable when its Lease has not been
renewed for the grace period.

The Lease is owned by the Node (an ``ownerReference``), so deleting the Node
garbage-collects its Lease.
"""

from __future__ import annotations

from typing import Any

from fromscratch.controllers.client import Resource, ResourceClient, is_status

Obj = dict[str, Any]
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40


class NodeLease:
    """Create and renew ``kube-node-lease/<node>``."""

    def __init__(self, api_client: Any, node_name: str) -> None:
        self.leases = ResourceClient(api_client, LEASES)
        self.namespaces = ResourceClient(api_client, NAMESPACES)
        self.node_name = node_name
        self.lease: Obj | None = None
        self.renewals = 0

    def ensure_namespace(self) -> None:
        try:
            self.namespaces.create("", {"metadata": {"name": LEASE_NAMESPACE}})
        except Exception as err:
            if not is_status(err, 409):
                raise

    def _body(self, renew_time: str, node_uid: str) -> Obj:
        meta: Obj = {"name": self.node_name, "namespace": LEASE_NAMESPACE}
        if node_uid:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                                        "uid": node_uid}]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self.node_name,
                         "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew_time}}

    def renew(self, renew_time: str, node_uid: str = "") -> Obj:
        """Set ``spec.renewTime``: PUT the Lease we hold, create it if missing, refetch on 409."""
        for _ in range(3):
            if self.lease is None:
                try:
                    self.lease = self.leases.get(LEASE_NAMESPACE, self.node_name)
                except Exception as err:
                    if not is_status(err, 404):
                        raise
                    try:
                        self.lease = self.leases.create(LEASE_NAMESPACE, self._body(renew_time, node_uid))
                        self.renewals += 1
                        return self.lease
                    except Exception as create_err:
                        if not is_status(create_err, 409):
                            raise
                        continue
            body = dict(self.lease)
            body["spec"] = dict(body.get("spec") or {}, holderIdentity=self.node_name,
                                leaseDurationSeconds=LEASE_DURATION_SECONDS, renewTime=renew_time)
            try:
                self.lease = self.leases.update(body)
                self.renewals += 1
                return self.lease
            except Exception as err:
                if not is_status(err, 404, 409):
                    raise
                self.lease = None  # somebody else wrote it (or deleted it): start again
        raise RuntimeError(f"could not renew lease {LEASE_NAMESPACE}/{self.node_name}")

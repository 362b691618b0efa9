"""Service IP and port allocation.

Models kube-apiserver's service IP allocator (``--service-cluster-ip-range``,
10.96.0.0/12 by default, ``10.96.0.1`` being the ``kubernetes`` Service) and
the NodePort allocator (30000-32767).  A Service without ``clusterIP`` gets
the next free address; ``clusterIP: None`` makes a headless Service.

Simplified: addresses are handed out in order, not at random, and the
allocation is checked against the stored Services instead of a bitmap.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from fromscratch.api import errors

if TYPE_CHECKING:
    from fromscratch.api.kinds import Kind
    from fromscratch.api.registry import Registry

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)


def allocate_cluster_ip(registry: Registry, kind: Kind, service: dict[str, Any]) -> None:
    spec = service.setdefault("spec", {})
    if spec.get("type") == "ExternalName":
        return
    existing, _ = registry.list_all(kind)
    used_ips = {s.get("spec", {}).get("clusterIP") for s in existing}
    used_ports = {p.get("nodePort") for s in existing for p in s.get("spec", {}).get("ports") or []
                  if isinstance(p, dict)}
    if not spec.get("clusterIP"):
        for address in SERVICE_CIDR.hosts():
            if str(address) not in used_ips:
                spec["clusterIP"] = str(address)
                break
        else:
            raise errors.APIError(500, "InternalError", "the service IP range is full")
    elif spec["clusterIP"] != "None" and spec["clusterIP"] in used_ips:
        raise errors.invalid("Service", service["metadata"].get("name", ""), [
            errors.invalid_value("spec.clusterIP", spec["clusterIP"],
                                 "provided IP is already allocated")])
    spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        free = (p for p in NODE_PORTS if p not in used_ports)
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and not port.get("nodePort"):
                port["nodePort"] = next(free)

"""Simulated network namespaces: interfaces, veth pairs, bridges, and a ping that walks them.

The same methods as :class:`fromscratch.linux.netns.NetworkNamespace`, on a
model of what the kernel keeps per network namespace (network_namespaces(7)):
a list of interfaces, each administratively up or down, with IPv4 addresses.
A new namespace holds ``lo`` only.  A veth pair (veth(4)) is two interfaces
that pass frames to each other; it has *carrier* only when both ends are up.
A bridge forwards frames between the interfaces plugged into it (its ports).

``ping`` follows a packet: pick the interface whose subnet holds the target
(else "Network is unreachable"), walk the layer-2 segment across veth peers
and bridge ports that are up, and answer if some interface there owns the
address and has a route back (its subnet holds our source address).

Simplified: IPv4 only, connected subnets only (no routes, no ARP, no MTU); the
round-trip times are how long the simulation took, not a network's.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from fromscratch.linux.netns import Link, NetworkError, check_ifname
from fromscratch.sim.namespaces import Namespace, SimKernel

RUN_DIR = "/run/netns"


@dataclass(eq=False)
class SimLink:
    """One simulated interface."""

    name: str
    kind: str  # "loopback", "veth", "bridge"
    owner: SimNetworkNamespace
    up: bool = False
    addresses: list[ipaddress.IPv4Interface] = field(default_factory=list)
    peer: SimLink | None = None  # the other end of a veth
    master: SimLink | None = None  # the bridge this port is plugged into

    def carrier(self) -> bool:
        if self.kind == "veth":
            return self.up and self.peer is not None and self.peer.up
        return self.up

    def state(self) -> str:
        """operstate as ``ip link`` shows it."""
        if self.kind == "loopback":
            return "UNKNOWN" if self.up else "DOWN"
        if self.kind == "bridge":
            ports = [p for p in self.owner._links if p.master is self]
            if not self.up:
                return "DOWN"
            if not ports:
                return "UNKNOWN"
            return "UP" if any(p.carrier() for p in ports) else "DOWN"
        return "UP" if self.carrier() else "DOWN"


def namespace_at(kernel: SimKernel, path: str, kind: str) -> Namespace:
    """The namespace behind ``/run/netns/NAME`` (for ``spawn(join={"net": path})``)."""
    if kind != "net":
        raise ValueError(f"only network namespaces are named under {RUN_DIR}, not {kind!r}")
    space = kernel.named_netns.get(path)
    if space is None:
        raise FileNotFoundError(f"no namespace file {path!r} to join")
    return space.namespace


def list_named(kernel: SimKernel) -> list[str]:
    """``ip netns list`` in the simulated kernel."""
    return sorted(space.name for space in kernel.named_netns.values())


class SimNetworkNamespace:
    """A named simulated network namespace; ``with`` removes it again."""

    mode = "simulated"

    def __init__(self, name: str, *, kernel: SimKernel) -> None:
        if not name or "/" in name:
            raise ValueError(f"bad network namespace name {name!r}")
        self.name, self.kernel = name, kernel
        self.path = f"{RUN_DIR}/{name}"
        if self.path in kernel.named_netns:
            raise FileExistsError(f"network namespace {name!r} already exists ({self.path})")
        self.namespace = Namespace("net", next(kernel._inodes))
        self._links = [SimLink("lo", "loopback", self, up=True,
                               addresses=[ipaddress.IPv4Interface("127.0.0.1/8")])]
        kernel.named_netns[self.path] = self

    def __repr__(self) -> str:
        return f"<SimNetworkNamespace {self.name} (simulated)>"

    def __enter__(self) -> SimNetworkNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Deleting a namespace destroys its interfaces, and so both ends of its veths."""
        if self.kernel.named_netns.get(self.path) is not self:
            return
        del self.kernel.named_netns[self.path]
        for link in self._links:
            if link.peer is not None:
                link.peer.owner._drop(link.peer)
        self._links = []

    def _drop(self, link: SimLink) -> None:
        self._links = [other for other in self._links if other is not link]

    def _find(self, ifname: str) -> SimLink:
        if self.kernel.named_netns.get(self.path) is not self:
            raise FileNotFoundError(f"network namespace {self.name!r} was removed")
        for link in self._links:
            if link.name == ifname:
                return link
        raise NetworkError(f"no interface {ifname!r} in network namespace {self.name!r}")

    def _add(self, link: SimLink) -> SimLink:
        if any(other.name == link.name for other in link.owner._links):
            raise NetworkError(f"add {link.name} in {link.owner.name}: File exists")
        link.owner._links.append(link)
        return link

    # -------------------------------------------------------------- the same methods as linux
    def links(self) -> list[Link]:
        self._find("lo")
        return [Link(name=link.name, kind="device" if link.kind == "loopback" else link.kind,
                     state=link.state(), up=link.up,
                     addresses=[str(a) for a in link.addresses],
                     master=link.master.name if link.master else None)
                for link in self._links]

    def link(self, ifname: str) -> Link:
        self._find(ifname)
        return next(link for link in self.links() if link.name == ifname)

    def add_veth(self, ifname: str, peer: SimNetworkNamespace, peer_ifname: str) -> None:
        check_ifname(ifname), check_ifname(peer_ifname)
        self._find("lo"), peer._find("lo")
        if peer is self and ifname == peer_ifname:
            raise NetworkError(f"add veth {ifname}<->{peer_ifname}: File exists")
        here = self._add(SimLink(ifname, "veth", self))
        try:
            there = peer._add(SimLink(peer_ifname, "veth", peer))
        except NetworkError:
            self._drop(here)
            raise
        here.peer, there.peer = there, here

    def add_bridge(self, ifname: str) -> None:
        check_ifname(ifname)
        self._find("lo")
        self._add(SimLink(ifname, "bridge", self, up=True))

    def attach(self, ifname: str, bridge: str) -> None:
        port, master = self._find(ifname), self._find(bridge)
        if master.kind != "bridge":
            raise NetworkError(f"attach {ifname} to {bridge} in {self.name}: not a bridge")
        port.master = master

    def add_address(self, ifname: str, cidr: str) -> None:
        iface = ipaddress.IPv4Interface(cidr)
        if "/" not in cidr:
            raise ValueError(f"give the prefix length too, e.g. {cidr}/24")
        link = self._find(ifname)
        if iface in link.addresses:
            raise NetworkError(f"add address {cidr} to {ifname} in {self.name}: File exists")
        link.addresses.append(iface)

    def set_up(self, ifname: str) -> None:
        self._find(ifname).up = True

    def ping(self, address: str, *, count: int = 1, timeout: float = 1.0) -> list[float]:
        target = ipaddress.IPv4Address(address)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            if not self._delivers(target):
                raise TimeoutError(f"{self.name}: no echo reply from {address} within {timeout}s")
            times.append((time.perf_counter() - start) * 1000)
        return times

    # -------------------------------------------------------------- following a packet
    def _delivers(self, target: ipaddress.IPv4Address) -> bool:
        """Would an echo request to ``target`` get a reply?"""
        local = [a for link in self._links if link.up for a in link.addresses]
        if any(a.ip == target for a in local) or target.is_loopback:
            # local delivery goes through lo, which must be up
            return self._find("lo").up
        route = next(((link, a) for link in self._links if link.up and link.kind != "loopback"
                      for a in link.addresses if target in a.network), None)
        if route is None:
            raise OSError(101, f"{self.name}: ping {target}: Network is unreachable")
        out, source = route
        for link in _segment(out):
            for a in link.addresses:
                if a.ip == target and link.up and source.ip in a.network:
                    return True
        return False


def _segment(start: SimLink) -> list[SimLink]:
    """Every interface a frame leaving ``start`` can reach at layer 2."""
    seen: list[SimLink] = []
    todo = [start]
    while todo:
        link = todo.pop()
        if link in seen or not link.up:
            continue
        seen.append(link)
        if link.kind == "veth" and link.carrier():
            todo.append(link.peer)  # type: ignore[arg-type]
        if link.master is not None and link.master.up and link.carrier():
            todo.append(link.master)
        if link.kind == "bridge":
            todo.extend(p for p in link.owner._links if p.master is link and p.carrier())
    return seen

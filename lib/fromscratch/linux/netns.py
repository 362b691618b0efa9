"""Network namespaces with pyroute2: veth pairs, addresses, bridges, ping.

A network namespace is a whole network stack of its own: interfaces,
addresses, routes, ports, firewall rules (network_namespaces(7)).  A new one
holds only a loopback device, and it is *down*.  To let two namespaces talk we
create a **veth pair** — two virtual interfaces joined like the ends of a cable
(veth(4)) — put one end in each namespace, give each an address and bring them
up.  To join more than two, plug one end of each pair into a **bridge** (a
virtual switch) living in a namespace of its own.

Namespaces here are *named* the way ``ip netns add`` names them: a file
``/run/netns/NAME`` bind-mounted from ``/proc/PID/ns/net`` keeps the namespace
alive with no process in it, and ``ip netns list`` sees it.  pyroute2's
``NetNS`` speaks rtnetlink inside it (the same messages ``ip link``/``ip addr``
send).  Nothing is ever configured in the host's own namespace: every link is
created inside a namespace this module made.

Simplified: IPv4 only; no routes beyond the connected subnet, no NAT, no
firewall.  ``ping`` is a small ICMP echo written here (raw socket), run in a
child process that joined the namespace.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import os
import re
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

try:
    from pyroute2 import NetNS, netns
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:  # pragma: no cover - off Linux the simulated backend is used instead
    NetNS = netns = None  # type: ignore[assignment,misc]
    NetlinkError = OSError  # type: ignore[assignment,misc]

from fromscratch import exercises
from fromscratch.linux import spawn

RUN_DIR = "/run/netns"
IFNAMSIZ = 16  # interface names are at most 15 bytes (include/uapi/linux/if.h)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


_WORKER: concurrent.futures.ThreadPoolExecutor | None = None


def _outside_event_loop(call: Callable[[], Any]) -> Any:
    """Run ``call`` where no asyncio loop is running.

    pyroute2 0.9 drives netlink with asyncio under its synchronous API, which
    fails inside a running loop — and Jupyter's kernel runs one.  There we hand
    the call to a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    global _WORKER
    if _WORKER is None:
        _WORKER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="netlink")
    return _WORKER.submit(call).result()


class NetworkError(RuntimeError):
    """A netlink request was refused; the message names the request."""


@dataclass
class Link:
    """One network interface as ``ip -br addr`` shows it."""

    name: str
    kind: str
    state: str  # operstate: UP, DOWN, UNKNOWN (loopback), LOWERLAYERDOWN
    up: bool  # administratively up (IFF_UP), what `ip link set up` changes
    addresses: list[str] = field(default_factory=list)  # "10.0.0.1/24"
    master: str | None = None  # the bridge it is plugged into


def check_ifname(name: str) -> str:
    if not name or len(name.encode()) >= IFNAMSIZ or not _NAME.match(name):
        raise ValueError(f"bad interface name {name!r}: 1-15 characters of letters, digits, _.-")
    return name


def list_named() -> list[str]:
    """``ip netns list``: the names under ``/run/netns``."""
    return sorted(_outside_event_loop(netns.listnetns))


class NetworkNamespace:
    """A named network namespace (``ip netns add NAME``); ``with`` removes it again."""

    mode = "real"

    def __init__(self, name: str, *, create: bool = True) -> None:
        if not name or "/" in name or not _NAME.match(name):
            raise ValueError(f"bad network namespace name {name!r}")
        self.name = name
        self.path = os.path.join(RUN_DIR, name)
        if create:
            if os.path.exists(self.path):
                raise FileExistsError(f"network namespace {name!r} already exists ({self.path})")
            try:
                _outside_event_loop(lambda: netns.create(name))
            except OSError as err:
                raise PermissionError(err.errno, f"cannot create network namespace {name!r}: "
                                      f"{os.strerror(err.errno or 1)} (needs root)") from None
            self._netlink(lambda ipr: ipr.link("set", index=1, state="up"), "bring lo up")
        elif not os.path.exists(self.path):
            raise FileNotFoundError(f"no network namespace {name!r} ({self.path})")

    def __repr__(self) -> str:
        return f"<NetworkNamespace {self.name}>"

    def __enter__(self) -> NetworkNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """``ip netns delete``: its interfaces go with it (both ends of each veth)."""
        if os.path.exists(self.path):
            _outside_event_loop(lambda: netns.remove(self.name))

    # -------------------------------------------------------------- netlink
    def _netlink(self, request, what: str):  # type: ignore[no-untyped-def]
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"network namespace {self.name!r} was removed")

        def call():  # type: ignore[no-untyped-def]
            with NetNS(self.name) as ipr:
                try:
                    return request(ipr)
                except NetlinkError as err:
                    raise NetworkError(f"{what} in {self.name}: {os.strerror(err.code)}") from None

        return _outside_event_loop(call)

    def _index(self, ipr: NetNS, ifname: str) -> int:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            raise NetworkError(f"no interface {ifname!r} in network namespace {self.name!r}")
        return found[0]

    def links(self) -> list[Link]:
        """Every interface with its state and addresses (``ip -br addr``)."""
        def read(ipr: NetNS) -> list[Link]:
            names = {msg["index"]: msg.get("ifname") for msg in ipr.get_links()}
            result = []
            for msg in ipr.get_links():
                info = msg.get("IFLA_LINKINFO")
                addrs = [f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}"
                         for a in ipr.get_addr(index=msg["index"], family=socket.AF_INET)]
                master = msg.get("IFLA_MASTER")
                result.append(Link(name=msg.get("ifname"),
                                   kind=(info.get("IFLA_INFO_KIND") if info else None) or "device",
                                   state=msg.get("operstate"), up=bool(msg["flags"] & 1),
                                   addresses=addrs, master=names.get(master) if master else None))
            return result
        return self._netlink(read, "list links")

    def link(self, ifname: str) -> Link:
        for candidate in self.links():
            if candidate.name == ifname:
                return candidate
        raise NetworkError(f"no interface {ifname!r} in network namespace {self.name!r}")

    def add_veth(self, ifname: str, peer: NetworkNamespace, peer_ifname: str) -> None:
        """A veth pair: ``ifname`` here, ``peer_ifname`` in ``peer`` (created there directly)."""
        check_ifname(ifname), check_ifname(peer_ifname)
        self._netlink(lambda ipr: ipr.link("add", ifname=ifname, kind="veth",
                                           peer={"ifname": peer_ifname, "net_ns_fd": peer.name}),
                      f"add veth {ifname}<->{peer.name}/{peer_ifname}")

    def add_bridge(self, ifname: str) -> None:
        check_ifname(ifname)
        self._netlink(lambda ipr: ipr.link("add", ifname=ifname, kind="bridge"),
                      f"add bridge {ifname}")
        self.set_up(ifname)

    def attach(self, ifname: str, bridge: str) -> None:
        """Plug ``ifname`` into ``bridge`` (``ip link set IF master BR``)."""
        self._netlink(lambda ipr: ipr.link("set", index=self._index(ipr, ifname),
                                           master=self._index(ipr, bridge)),
                      f"attach {ifname} to {bridge}")

    def add_address(self, ifname: str, cidr: str) -> None:
        """``ip addr add CIDR dev IF``; ``cidr`` like ``10.0.0.1/24``."""
        iface = ipaddress.IPv4Interface(cidr)  # raises ValueError for nonsense
        if "/" not in cidr:
            raise ValueError(f"give the prefix length too, e.g. {cidr}/24")
        self._netlink(lambda ipr: ipr.addr("add", index=self._index(ipr, ifname),
                                           address=str(iface.ip),
                                           prefixlen=iface.network.prefixlen),
                      f"add address {cidr} to {ifname}")

    def set_up(self, ifname: str) -> None:
        self._netlink(lambda ipr: ipr.link("set", index=self._index(ipr, ifname), state="up"),
                      f"set {ifname} up")

    def ping(self, address: str, *, count: int = 1, timeout: float = 2.0) -> list[float]:
        """Send ICMP echo requests from inside this namespace; the round-trip times in ms.

        Raises :class:`TimeoutError` if any request gets no reply.
        """
        ipaddress.IPv4Address(address)
        try:
            return spawn.run(lambda: _ping(address, count, timeout), join={"net": self.path})
        except spawn.ChildError as err:
            if err.kind == "TimeoutError":
                raise TimeoutError(f"{self.name}: {err.message}") from None
            if err.kind == "OSError":  # e.g. ENETUNREACH: no interface on that subnet
                raise OSError(err.errno, f"{self.name}: ping {address}: {err.message}") from None
            raise


# ---------------------------------------------------------------- ICMP echo (ping)

def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's-complement sum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


RESEND_INTERVAL = 0.25  # seconds between repeated echo requests for one sequence number


def _ping(address: str, count: int, timeout: float) -> list[float]:
    times = []
    ident = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        for seq in range(1, count + 1):
            payload = b"fromscratch"
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)  # type 8 = echo request
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
            start = sent = time.monotonic()
            sock.sendto(packet, (address, 0))
            while True:
                now = time.monotonic()
                left = timeout - (now - start)
                if left <= 0:
                    raise TimeoutError(f"no echo reply from {address} within {timeout}s")
                # subtle: a link that just came up transmits through a no-op queue until the
                # kernel's link watcher activates it (up to a second later), so the first
                # request can vanish: resend every RESEND_INTERVAL until the timeout.
                if now - sent >= RESEND_INTERVAL:
                    sock.sendto(packet, (address, 0))
                    sent = now
                sock.settimeout(min(left, RESEND_INTERVAL))
                try:
                    data, (source, _) = sock.recvfrom(2048)
                except TimeoutError:
                    continue
                offset = (data[0] & 0x0F) * 4  # skip the IP header (raw sockets receive it)
                kind, _, _, reply_id, reply_seq = struct.unpack("!BBHHH", data[offset:offset + 8])
                if kind == 0 and reply_id == ident and reply_seq == seq and source == address:
                    times.append((time.monotonic() - start) * 1000)
                    break
    return times


# ---------------------------------------------------------------- topologies

@exercises.pluggable("connect")
def connect(a: NetworkNamespace, b: NetworkNamespace, address_a: str, address_b: str,
            *, ifname_a: str = "veth0", ifname_b: str = "veth0") -> None:
    """Join two network namespaces with a veth pair and give each end an address.

    ``address_a``/``address_b`` are CIDRs in the same subnet (``10.0.0.1/24``).
    Afterwards ``a.ping("10.0.0.2")`` gets a reply.
    """
    net_a = ipaddress.IPv4Interface(address_a).network
    net_b = ipaddress.IPv4Interface(address_b).network
    if net_a != net_b:
        raise ValueError(f"{address_a} and {address_b} are not in the same subnet")
    a.add_veth(ifname_a, b, ifname_b)
    a.add_address(ifname_a, address_a)
    b.add_address(ifname_b, address_b)
    a.set_up(ifname_a)
    b.set_up(ifname_b)


@contextmanager
def switched_network(names: list[str], subnet: str = "10.250.0.0/24", *,
                     switch: str = "switch", bridge: str = "br0",
                     namespace: Callable[[str], Any] | None = None) -> Iterator[dict[str, NetworkNamespace]]:
    """Several namespaces on one virtual switch: a bridge in its own namespace.

    ``namespace`` makes one namespace from a name (default: a real
    :class:`NetworkNamespace`; the simulated backend passes its own).
    Yields ``{name: namespace}`` (plus the ``switch`` namespace); the n-th name
    (counting from 1) gets the subnet's address n on ``veth0``.  Everything is
    removed on exit, even after an error.
    """
    network = ipaddress.IPv4Network(subnet)
    if len(names) + 2 > network.num_addresses:
        raise ValueError(f"{subnet} has no room for {len(names)} nodes")
    make = namespace or NetworkNamespace
    made: dict[str, Any] = {}
    try:
        hub = made[switch] = make(switch)
        hub.add_bridge(bridge)
        for number, name in enumerate(names, start=1):
            node = made[name] = make(name)
            port = check_ifname(f"p{number}-{name}"[:15])
            node.add_veth("veth0", hub, port)
            hub.attach(port, bridge)
            hub.set_up(port)
            node.add_address("veth0", f"{network[number]}/{network.prefixlen}")
            node.set_up("veth0")
        yield made
    finally:
        for space in made.values():
            space.remove()

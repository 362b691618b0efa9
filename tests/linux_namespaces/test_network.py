"""Network namespaces joined by veth pairs and a bridge — real (pyroute2) and simulated.

network_namespaces(7): a new namespace has only a loopback device; veth(4):
a veth pair passes packets between its ends, which may live in different
namespaces.  Every namespace here is one the test created; nothing touches
the host's own network stack.
"""

from __future__ import annotations

import time

import pytest

from fromscratch.linux.netns import NetworkError, connect, switched_network


def test_new_network_namespace_has_only_loopback(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as space:
        assert [link.name for link in space.links()] == ["lo"]
        assert space.link("lo").addresses == ["127.0.0.1/8"]


def test_named_namespace_is_listed_like_ip_netns_and_gone_after(backend, netns_name) -> None:
    name = netns_name("listed")
    with backend.NetworkNamespace(name):
        assert name in backend.list_named()
    assert name not in backend.list_named()


def test_veth_pair_connects_two_namespaces_and_ping_answers(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a, \
            backend.NetworkNamespace(netns_name("b")) as b:
        connect(a, b, "10.77.0.1/24", "10.77.0.2/24")
        assert a.link("veth0").kind == "veth" and a.link("veth0").up
        assert b.link("veth0").addresses == ["10.77.0.2/24"]
        assert len(a.ping("10.77.0.2", count=2)) == 2
        assert len(b.ping("10.77.0.1")) == 1


def test_ping_without_the_peer_up_gets_no_reply(backend, netns_name) -> None:
    # a veth has carrier only when both ends are up
    with backend.NetworkNamespace(netns_name("a")) as a, \
            backend.NetworkNamespace(netns_name("b")) as b:
        a.add_veth("veth0", b, "veth0")
        a.add_address("veth0", "10.78.0.1/24")
        b.add_address("veth0", "10.78.0.2/24")
        a.set_up("veth0")
        with pytest.raises(TimeoutError):
            a.ping("10.78.0.2", timeout=0.3)


def test_ping_to_a_subnet_we_have_no_interface_on_is_unreachable(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a:
        with pytest.raises(OSError, match="unreachable"):
            a.ping("10.79.0.9", timeout=0.3)


def test_removing_a_namespace_destroys_both_ends_of_its_veth(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a:
        b = backend.NetworkNamespace(netns_name("b"))
        a.add_veth("veth0", b, "peer0")
        b.remove()
        # the kernel tears a namespace down asynchronously (cleanup_net), so give it a moment
        for _ in range(200):
            if [link.name for link in a.links()] == ["lo"]:
                break
            time.sleep(0.01)
        assert [link.name for link in a.links()] == ["lo"]


def test_bridge_joins_three_namespaces(backend, netns_name) -> None:
    nodes = [netns_name(f"n{i}") for i in range(3)]
    with switched_network(nodes, "10.80.0.0/24", switch=netns_name("sw"),
                          namespace=backend.NetworkNamespace) as net:
        switch = net[netns_name("sw")]
        ports = [link for link in switch.links() if link.kind == "veth"]
        assert len(ports) == 3 and {link.master for link in ports} == {"br0"}
        assert net[nodes[0]].ping("10.80.0.3")  # node 0 -> node 2 through the bridge
        assert net[nodes[2]].ping("10.80.0.2")
    assert not [name for name in backend.list_named() if name.startswith(netns_name(""))]


def test_processes_joining_a_named_namespace_share_its_network(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a:
        inode = backend.run(lambda: backend.namespace_ids()["net"], join={"net": a.path})
        assert inode != backend.namespace_ids()["net"]
        again = backend.run(lambda: backend.namespace_ids()["net"], join={"net": a.path})
        assert again == inode


@pytest.mark.parametrize("call, problem", [
    (lambda a, b: a.add_veth("x" * 16, b, "y"), "bad interface name"),
    (lambda a, b: a.add_address("lo", "10.0.0.300/24"), "10.0.0.300"),
    (lambda a, b: a.add_address("lo", "10.0.0.1"), "prefix length"),
    (lambda a, b: a.set_up("eth9"), "no interface 'eth9'"),
    (lambda a, b: connect(a, b, "10.1.0.1/24", "10.2.0.1/24"), "not in the same subnet"),
])
def test_bad_network_requests_name_the_problem(backend, netns_name, call, problem) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a, \
            backend.NetworkNamespace(netns_name("b")) as b:
        with pytest.raises((ValueError, NetworkError), match=problem):
            call(a, b)


def test_duplicate_namespace_name_is_refused(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("dup")):
        with pytest.raises(FileExistsError, match="already exists"):
            backend.NetworkNamespace(netns_name("dup"))


def test_duplicate_interface_is_refused(backend, netns_name) -> None:
    with backend.NetworkNamespace(netns_name("a")) as a, \
            backend.NetworkNamespace(netns_name("b")) as b:
        a.add_veth("veth0", b, "veth0")
        with pytest.raises(NetworkError, match="File exists"):
            a.add_veth("veth0", b, "veth1")

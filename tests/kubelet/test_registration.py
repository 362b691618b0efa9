"""A kubelet registers its Node and heartbeats through a Lease (kubernetes.io: Nodes, Leases)."""

from __future__ import annotations

from datetime import datetime

from fromscratch.controllers.client import NODES, ResourceClient
from fromscratch.kubelet import Kubelet, KubeletServer
from fromscratch.kubelet.lease import LEASES
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import ProcessRuntime, SimRuntime

CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}
TAINT = {"key": "foo", "value": "bar", "effect": "NoSchedule"}


def test_node_registers_with_labels_capacity_conditions_and_endpoint(api, node_name, kubelets):
    # the Node has the well-known labels, capacity = allocatable, Ready=True and the pressures False
    with KubeletServer() as http:
        kubelet = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, server=http,
                          labels={"zone": "a"}, taints=[TAINT], heartbeat_seconds=60)
        kubelets.append(kubelet.start())
        node = ResourceClient(api, NODES).get("", node_name)
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == node_name
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["kubernetes.io/arch"] in ("amd64", "arm64") or labels["kubernetes.io/arch"]
        assert labels["zone"] == "a"
        assert node["spec"]["taints"] == [TAINT]
        status = node["status"]
        assert status["capacity"] == CAPACITY and status["allocatable"] == CAPACITY
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True"
        assert conditions["Ready"]["reason"] == "KubeletReady"
        for pressure in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            assert conditions[pressure]["status"] == "False"
        assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
        assert {"type": "Hostname", "address": node_name} in status["addresses"]
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == http.port
        info = status["nodeInfo"]
        assert info["kubeletVersion"].startswith("v1.") and info["operatingSystem"] == "linux"
        assert info["containerRuntimeVersion"] == "fromscratch://process"


def test_restarted_kubelet_adopts_existing_node(api, node_name, kubelets):
    # registration of a Node that exists already is not an error: the kubelet takes it over
    first = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY)
    kubelets.append(first.start())
    uid = ResourceClient(api, NODES).get("", node_name)["metadata"]["uid"]
    first.stop()
    second = Kubelet(api, node_name, ProcessRuntime(), capacity=CAPACITY, labels={"new": "yes"})
    kubelets.append(second.start())
    node = ResourceClient(api, NODES).get("", node_name)
    assert node["metadata"]["uid"] == uid
    assert node["metadata"]["labels"]["new"] == "yes"


def test_lease_is_renewed_every_heartbeat_in_virtual_time(api, node_name, kubelets):
    # kube-node-lease/<node>: holder is the node, 40 s duration, renewTime moves with each heartbeat
    clock = FakeClock()
    kubelet = Kubelet(api, node_name, SimRuntime(clock), capacity=CAPACITY, threads=False,
                      heartbeat_seconds=10)
    kubelets.append(kubelet.start())
    leases = ResourceClient(api, LEASES)
    first = leases.get("kube-node-lease", node_name)
    assert first["spec"]["holderIdentity"] == node_name
    assert first["spec"]["leaseDurationSeconds"] == 40
    assert first["metadata"]["ownerReferences"][0]["kind"] == "Node"
    clock.advance(5)
    kubelet.sync_once()  # not due yet
    assert leases.get("kube-node-lease", node_name)["spec"]["renewTime"] == first["spec"]["renewTime"]
    clock.advance(5)
    kubelet.sync_once()
    renewed = leases.get("kube-node-lease", node_name)["spec"]["renewTime"]
    # MicroTime: microseconds, and exactly 10 virtual seconds later
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()  # noqa: E731
    assert len(renewed.split(".")[1]) == 7  # 6 digits and the Z
    assert parse(renewed) - parse(first["spec"]["renewTime"]) == 10.0


def test_node_status_heartbeat_refreshed_at_status_interval(api, node_name, kubelets):
    # Ready's lastHeartbeatTime moves every status_seconds; lastTransitionTime stays put
    clock = FakeClock()
    kubelet = Kubelet(api, node_name, SimRuntime(clock), capacity=CAPACITY, threads=False,
                      heartbeat_seconds=10, status_seconds=60)
    kubelets.append(kubelet.start())
    nodes = ResourceClient(api, NODES)

    def ready() -> dict:
        return next(c for c in nodes.get("", node_name)["status"]["conditions"] if c["type"] == "Ready")

    before = ready()
    clock.advance(30)
    kubelet.sync_once()
    assert ready()["lastHeartbeatTime"] == before["lastHeartbeatTime"]
    clock.advance(30)
    kubelet.sync_once()
    after = ready()
    assert after["lastHeartbeatTime"] != before["lastHeartbeatTime"]
    assert after["lastTransitionTime"] == before["lastTransitionTime"]

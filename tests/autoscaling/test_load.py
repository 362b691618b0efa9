"""The load generator: requests at a rate, round-robin over the Ready Pods that announced a port."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from fromscratch.autoscaling.load import LoadGenerator, pod_is_ready
from fromscratch.controllers.client import PODS, ResourceClient


def _pod(api, ns: str, name: str, *, ready: bool, labels: dict[str, str] | None = None) -> None:
    pods = ResourceClient(api, PODS)
    pods.create(ns, {"metadata": {"name": name, "labels": labels or {"app": "web"}},
                     "spec": {"containers": [{"name": "burner", "image": "x"}]}})
    pods.patch(ns, name, {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}, subresource="status")


@pytest.fixture
def listeners(tmp_path: Path):
    """UDP sockets standing in for burners: name -> socket, ports announced in tmp_path."""
    socks: dict[str, socket.socket] = {}

    def listen(name: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        (tmp_path / name).write_text(str(sock.getsockname()[1]))
        socks[name] = sock
        return sock

    yield listen
    for sock in socks.values():
        sock.close()


def _received(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(64))
        except BlockingIOError:
            return got


def test_requests_go_round_robin_to_ready_pods_only(api, ns, tmp_path, listeners):
    _pod(api, ns, "web-a", ready=True)
    _pod(api, ns, "web-b", ready=True)
    _pod(api, ns, "web-c", ready=False)  # started but not Ready: no requests
    _pod(api, ns, "other", ready=True, labels={"app": "other"})  # another Service's Pod
    a, b, c, other = (listeners(n) for n in ("web-a", "web-b", "web-c", "other"))
    with LoadGenerator(api, tmp_path, namespace=ns, selector="app=web", rate=100, cost_ms=7) as load:
        time.sleep(1.0)
    got_a, got_b = _received(a), _received(b)
    assert _received(c) == [] and _received(other) == []
    assert set(got_a + got_b) == {b"7"}
    assert 60 <= len(got_a) + len(got_b) <= 110 and abs(len(got_a) - len(got_b)) <= 1
    assert load.sent == len(got_a) + len(got_b) and load.demand_millicores == 700


def test_a_ready_pod_without_a_port_yet_is_skipped_and_no_pod_means_dropped(api, ns, tmp_path, listeners):
    _pod(api, ns, "web-late", ready=True)  # its burner has not announced a port yet
    with LoadGenerator(api, tmp_path, namespace=ns, selector="app=web", rate=50) as load:
        time.sleep(0.5)
    assert load.sent == 0 and load.dropped >= 15


def test_pods_being_deleted_or_not_running_are_not_ready():
    running = {"metadata": {}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}}
    assert pod_is_ready(running)
    assert not pod_is_ready({**running, "metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}})
    assert not pod_is_ready({**running, "status": {**running["status"], "phase": "Pending"}})


def test_a_negative_rate_is_refused(api, tmp_path):
    with pytest.raises(ValueError, match="rate must be >= 0"):
        LoadGenerator(api, tmp_path, rate=-1)

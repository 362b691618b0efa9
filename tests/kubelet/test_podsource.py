"""A kubelet's Pod watch (fieldSelector spec.nodeName=<node>) sees its Pods promptly.

The API server must deliver an event for a Pod bound to this node even when it is
followed at once by events the selector filters out (other nodes' Pods) — the
situation of every busy cluster.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import PODS, ResourceClient
from fromscratch.kubelet.podsource import NodePodSource, SharedPodSource

TRIALS = 30


@pytest.fixture
def quiet_server():
    """An API server with the usual 60 s bookmark interval (the shared fixture's 0.3 s bookmarks
    would flush a held event within 0.3 s and hide the delay)."""
    with APIServer(bookmark_interval=60) as srv:
        yield srv


def _pod(name: str, node: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}]}}


def test_shared_source_indexes_pods_by_node(api, ns):
    # one watch on all Pods; each node reads only the Pods bound to it
    source = SharedPodSource(api)
    source.start()
    try:
        source.wait_for_sync(10)
        pods = ResourceClient(api, PODS)
        for i, node in enumerate(["a", "b", "b"]):
            pods.create(ns, _pod(f"p{i}", f"{ns}-{node}"))
        deadline = time.monotonic() + 10
        while len(source.pods(f"{ns}-b")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p["metadata"]["name"] for p in source.pods(f"{ns}-a")] == ["p0"]
        assert sorted(p["metadata"]["name"] for p in source.pods(f"{ns}-b")) == ["p1", "p2"]
    finally:
        source.stop()


def test_own_pod_amid_a_burst_of_other_nodes_pods_arrives_within_two_seconds(quiet_server):
    # every trial: our Pod and 40 Pods of another node are created concurrently
    api, ns = quiet_server.client(), "default"
    source = NodePodSource(api, "mine")
    source.start()
    pods = ResourceClient(api, PODS)
    slow = []
    try:
        source.wait_for_sync(10)
        with ThreadPoolExecutor(8) as pool:
            for trial in range(TRIALS):
                started = time.monotonic()
                futures = [pool.submit(pods.create, ns, _pod(f"mine{trial}", "mine"))]
                futures += [pool.submit(pods.create, ns, _pod(f"other{trial}-{i}", "other"))
                            for i in range(40)]
                for future in futures:
                    future.result()
                while len(source.pods("")) < trial + 1 and time.monotonic() - started < 2.0:
                    time.sleep(0.01)
                if len(source.pods("")) < trial + 1:
                    slow.append(trial)
                    break
    finally:
        source.stop()
    assert slow == [], f"our Pod was not delivered within 2 s in trial {slow}"

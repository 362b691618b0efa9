"""The informer against the project's API server: list, watch, 410 relist, resync, kubeconfig."""

from __future__ import annotations

import socket

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import PODS, ResourceClient, api_client_from_kubeconfig
from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.fifo import DeletedFinalStateUnknown
from fromscratch.controllers.informer import EventHandler, Informer
from tests.controllers.helpers import wait_for


def bare_pod(name: str, labels: dict | None = None, node: str = "") -> dict:
    spec: dict = {"containers": [{"name": "main", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


class Recorder(EventHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        super().__init__(on_add=lambda o: self.events.append(("add", o["metadata"]["name"])),
                         on_update=lambda old, new: self.events.append(
                             ("update", new["metadata"]["name"], old is new)),
                         on_delete=self.deleted)

    def deleted(self, obj) -> None:
        name = obj.obj["metadata"]["name"] if isinstance(obj, DeletedFinalStateUnknown) \
            else obj["metadata"]["name"]
        self.events.append(("delete", name, isinstance(obj, DeletedFinalStateUnknown)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_informer_lists_existing_objects_then_streams_changes(api, ns):
    # list first (adds for what exists), then watch from the list's resourceVersion
    pods = ResourceClient(api, PODS)
    for name in ("a", "b"):
        pods.create(ns, bare_pod(name))
    recorder = Recorder()
    informer = Informer(api, PODS, namespace=ns)
    informer.add_event_handler(recorder)
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        assert sorted(recorder.events) == [("add", "a"), ("add", "b")]
        pods.create(ns, bare_pod("c"))
        pods.patch(ns, "a", {"metadata": {"labels": {"x": "1"}}})
        pods.delete(ns, "b")
        wait_for(lambda: len(recorder.events) == 5, message="three more events")
        assert recorder.events[2:] == [("add", "c"), ("update", "a", False), ("delete", "b", False)]
        assert sorted(informer.store.keys()) == [f"{ns}/a", f"{ns}/c"]
        assert informer.get(ns, "a")["metadata"]["labels"] == {"x": "1"}
        assert informer.reflector.lists == 1
    finally:
        informer.stop()


def test_list_follows_continue_tokens_in_pages(api, ns):
    pods = ResourceClient(api, PODS)
    for i in range(7):
        pods.create(ns, bare_pod(f"p{i}"))
    informer = Informer(api, PODS, namespace=ns)
    informer.reflector.page_size = 3
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        assert len(informer.store) == 7
    finally:
        informer.stop()


def test_watch_resumes_from_the_last_resource_version_when_the_server_ends_it(api, ns):
    pods = ResourceClient(api, PODS)
    informer = Informer(api, PODS, namespace=ns, watch_timeout=1)
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        wait_for(lambda: informer.reflector.watches >= 2, timeout=10, message="a second watch")
        pods.create(ns, bare_pod("late"))
        wait_for(lambda: informer.get(ns, "late"), message="the pod created after a re-watch")
        assert informer.reflector.lists == 1  # resumed, never relisted
    finally:
        informer.stop()


def test_relists_after_410_gone_and_reports_the_deletes_it_missed():
    # the watch is down while the history moves past our resourceVersion: 410, relist
    port = free_port()
    with APIServer(port=port, history=5, bookmark_interval=0.3) as srv:
        api = srv.client()
        pods = ResourceClient(api, PODS)
        for name in ("p0", "p1"):
            pods.create("default", bare_pod(name))
        recorder = Recorder()
        informer = Informer(api, PODS, namespace="default")
        informer.add_event_handler(recorder)
        informer.start()
        try:
            assert informer.wait_for_sync(10)
            srv.stop()
            # the old watch must be over before we write, or it would still carry the changes
            wait_for(lambda: informer.reflector._stream is None, message="the watch to end")
            kind = srv.kinds.lookup("", "v1", "pods")
            srv.registry.delete(kind, "default", "p0")
            for i in range(10):
                srv.registry.create(kind, "default", bare_pod(f"n{i}"))
            srv.start()
            wait_for(lambda: informer.get("default", "n9"), timeout=20, message="the relist")
            assert informer.reflector.relists_after_expired >= 1
            assert informer.get("default", "p0") is None
            assert ("delete", "p0", True) in recorder.events  # DeletedFinalStateUnknown
        finally:
            informer.stop()


def test_resync_delivers_every_cached_object_again_on_the_fake_clock(api, ns):
    pods = ResourceClient(api, PODS)
    for name in ("a", "b"):
        pods.create(ns, bare_pod(name))
    clock = FakeClock()
    recorder = Recorder()
    informer = Informer(api, PODS, namespace=ns, resync_period=30, clock=clock)
    informer.add_event_handler(recorder)
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        clock.advance(29)
        assert not [e for e in recorder.events if e[0] == "update"]
        clock.advance(1)
        wait_for(lambda: len([e for e in recorder.events if e[0] == "update"]) == 2,
                 message="two resync updates")
        assert sorted(e for e in recorder.events if e[0] == "update") == \
            [("update", "a", True), ("update", "b", True)]  # old is new
        assert informer.resyncs == 1
    finally:
        informer.stop()


def test_custom_index_answers_pods_on_a_node(api, ns):
    pods = ResourceClient(api, PODS)
    pods.create(ns, bare_pod("x", node="n1"))
    pods.create(ns, bare_pod("y", node="n2"))
    pods.create(ns, bare_pod("z", node="n1"))
    informer = Informer(api, PODS, namespace=ns,
                        indexers={"node": lambda p: [p["spec"].get("nodeName") or ""]})
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        assert informer.store.index_keys("node", "n1") == [f"{ns}/x", f"{ns}/z"]
    finally:
        informer.stop()


def test_the_same_informer_runs_from_a_kubeconfig_file(server, ns):
    # what a learner does against a real cluster: KUBECONFIG -> ApiClient -> Informer
    api = api_client_from_kubeconfig(server.kubeconfig_path)
    ResourceClient(api, PODS).create(ns, bare_pod("via-kubeconfig"))
    informer = Informer(api, PODS, namespace=ns)
    informer.start()
    try:
        assert informer.wait_for_sync(10)
        assert informer.get(ns, "via-kubeconfig") is not None
    finally:
        informer.stop()

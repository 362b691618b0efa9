"""How many Pods per second can simulated kubelets bring to Running, and how does it scale?

N simulated kubelets (no processes, one virtual clock, one shared Pod watch) are
registered with our API server; P Pods are created already bound round-robin to
the nodes (``spec.nodeName``, so no scheduler is involved); then every kubelet is
synced once per virtual second until every Pod reports ``Running`` through the API.
Figures: registration time per node, Pod creation rate (API writes), and the
kubelet side: Pods brought to Running per second of real time, including their
status writes.  Run for 1,000 and 10,000 Pods to see how time grows.

The peer is a real one measured in the same run: the same kubelet with the
process runtime (each Pod a real ``sleep`` process) on one node, on a smaller
batch, timed the same way (Pods already bound; syncs until all are Running).  There
is no upstream kubelet on this machine to compare with.

Run: ``.venv/bin/python bench/kubelet_sim.py [--nodes 1000] [--pods 1000 10000] [--real-pods 50]``.
"""

from __future__ import annotations

import argparse
import logging
import time

from fromscratch.api.server import APIServer
from fromscratch.controllers.client import PODS, Resource, ResourceClient
from fromscratch.kubelet import Kubelet, SharedPodSource
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import ProcessRuntime, SimRuntime

CAPACITY = {"cpu": "64", "memory": "256Gi", "pods": "500"}
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)


def pod(name: str, node: str, command: list[str]) -> dict:
    return {"metadata": {"name": name}, "spec": {"nodeName": node, "containers": [
        {"name": "main", "image": "host", "command": command}]}}


def progress(label: str, done: int, total: int) -> None:
    print(f"\r  {label}: {done}/{total}", end="", flush=True)


def running(pods: ResourceClient, namespace: str) -> int:
    items = pods.list(namespace, field_selector="status.phase=Running")["items"]
    return len(items)


def simulated(server: APIServer, nodes: int, total: int) -> dict[str, float]:
    api = server.client()
    namespace = f"bench-sim-{total}"
    ResourceClient(api, NAMESPACES).create("", {"metadata": {"name": namespace}})
    clock = FakeClock()
    source = SharedPodSource(api)
    started = time.perf_counter()
    fleet = []
    for i in range(nodes):
        fleet.append(Kubelet(api, f"sim-{total}-{i}", SimRuntime(clock), capacity=CAPACITY,
                             threads=False, pod_source=source, recorder=None,
                             heartbeat_seconds=10, status_seconds=60).start())
        if i % 100 == 99:
            progress("nodes registered", i + 1, nodes)
    register = time.perf_counter() - started
    print()
    pods = ResourceClient(api, PODS)
    started = time.perf_counter()
    for i in range(total):
        pods.create(namespace, pod(f"p{i}", fleet[i % nodes].node_name, ["sleep", "infinity"]))
        if i % 500 == 499:
            progress("pods created", i + 1, total)
    create = time.perf_counter() - started
    print()
    names = [k.node_name for k in fleet]
    while sum(len(source.pods(n)) for n in names) < total:
        time.sleep(0.05)
    started = time.perf_counter()
    rounds = 0
    while True:
        for kubelet in fleet:
            kubelet.sync_once()
        clock.advance(1.0)
        rounds += 1
        reported = sum(w.written is not None and w.written.get("phase") == "Running"
                       for k in fleet for w in k.workers.workers.values())
        progress("pods Running", reported, total)
        if reported >= total:
            break
    to_running = time.perf_counter() - started
    print()
    assert running(pods, namespace) == total, "the API must agree with the kubelets"
    started = time.perf_counter()
    for kubelet in fleet:
        kubelet.sync_once()
    idle_round = time.perf_counter() - started
    for kubelet in fleet:
        kubelet.stop()
    return {"register_s_per_node": register / nodes, "create_pods_per_s": total / create,
            "running_pods_per_s": total / to_running, "rounds": rounds, "idle_round_s": idle_round}


def process_peer(server: APIServer, total: int) -> float:
    """The same kubelet side with real processes: sync until every Pod is Running, Pods/s."""
    api = server.client()
    namespace = "bench-process"
    ResourceClient(api, NAMESPACES).create("", {"metadata": {"name": namespace}})
    kubelet = Kubelet(api, "process-node", ProcessRuntime(), capacity=CAPACITY, recorder=None,
                      heartbeat_seconds=10, threads=False).start()
    pods = ResourceClient(api, PODS)
    try:
        for i in range(total):
            pods.create(namespace, pod(f"p{i}", "process-node", ["sleep", "600"]))
        while len(kubelet.pod_source.pods("process-node")) < total:
            time.sleep(0.05)
        started = time.perf_counter()
        while running(pods, namespace) < total:
            kubelet.sync_once()
        return total / (time.perf_counter() - started)
    finally:
        kubelet.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--real-pods", type=int, default=50)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with APIServer(history=200_000) as server:
        print(f"process-runtime peer: {args.real_pods} real Pods")
        peer = process_peer(server, args.real_pods)
        print(f"  kubelet side: {peer:.1f} Pods/s to Running (start + status write)")
        results = {}
        for total in args.pods:
            print(f"simulated: {args.nodes} nodes, {total} Pods")
            results[total] = result = simulated(server, args.nodes, total)
            print(f"  registration {result['register_s_per_node'] * 1000:.1f} ms/node, "
                  f"creation {result['create_pods_per_s']:.0f} Pods/s, "
                  f"kubelets {result['running_pods_per_s']:.0f} Pods/s to Running "
                  f"({result['rounds']:.0f} virtual seconds), "
                  f"an idle round of all kubelets {result['idle_round_s']:.2f} s")
            print(f"  kubelet side vs process peer: {result['running_pods_per_s'] / peer:.1f}x")
        if len(results) > 1:
            small, big = min(results), max(results)
            rate = {n: results[n]["running_pods_per_s"] for n in (small, big)}
            growth = (big / rate[big]) / (small / rate[small])
            print(f"time to Running grew {growth:.1f}x for {big / small:.0f}x the Pods")


if __name__ == "__main__":
    main()

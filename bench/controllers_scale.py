"""How fast does the control plane turn Deployments into Running Pods?

N Deployments of 100 replicas each, on N*10 simulated nodes: the API server (its
own process, as kube-apiserver is), and in this process the ReplicaSet and
Deployment controllers, the scheduler, and one real kubelet per node
(:class:`fromscratch.kubelet.Kubelet` on the *simulated* runtime: it registers
its Node, renews its Lease, admits each bound Pod, "runs" it without a
process and writes its status — so the figures are the control plane's and
the kubelets' API work, not container start-up).

Reported per size: pods/s end to end (from creating the Deployments to the
last Pod Running), and per component — the ReplicaSet controller creating Pods,
the scheduler binding them, the kubelet reporting them Running — and how the
time grows from the small size to the large one.

Peer: no real cluster is reachable here, so the peer measured in the same run
is the ceiling under the control plane: creating the same number of bare Pods
straight through the same API server with the official client (as fast as 4
threads can).  The ratio says how much of that ceiling the whole control loop
achieves; a real kube-apiserver + etcd would raise the ceiling itself.

Run: ``.venv/bin/python bench/controllers_scale.py [--sizes 1000,10000]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import (
    DEPLOYMENTS,
    NODES,
    PODS,
    Resource,
    ResourceClient,
    api_client_from_kubeconfig,
)
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.informer import EventHandler
from fromscratch.controllers.replicaset import ReplicaSetController
from fromscratch.kubelet import Kubelet, SharedPodSource
from fromscratch.runtime.clock import FakeClock
from fromscratch.runtime.runtimes import SimRuntime
from fromscratch.scheduler.scheduler import Scheduler

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
REPLICAS_PER_DEPLOYMENT = 100
CAPACITY = {"cpu": "32", "memory": "128Gi", "pods": "110"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_apiserver(workdir: Path) -> tuple[subprocess.Popen, str]:
    kubeconfig = workdir / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch", "apiserver", "--port", str(free_port()),
         "--kubeconfig", str(kubeconfig), "--admin-token", secrets.token_urlsafe(16),
         "--history", "200000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("kubeconfig:"):
            return process, str(kubeconfig)
    raise RuntimeError("the API server did not start")


class SimulatedNodes:
    """``count`` real kubelets (:class:`fromscratch.kubelet.Kubelet`) on the simulated runtime.

    They share one Pod watch and one virtual clock; a driver thread syncs every
    kubelet once per round and advances the clock one virtual second, as a
    thousand nodes would each run their sync loop.
    """

    def __init__(self, api, count: int, prefix: str) -> None:
        self.clock = FakeClock()
        self.source = SharedPodSource(api)
        self.kubelets = [Kubelet(api, f"{prefix}-{i}", SimRuntime(self.clock), capacity=CAPACITY,
                                 threads=False, pod_source=self.source, recorder=None,
                                 heartbeat_seconds=10, status_seconds=60) for i in range(count)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drive, name="simulated-nodes", daemon=True)

    def start(self) -> float:
        """Register every node (returns the seconds it took) and start driving them."""
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda k: k.start(), self.kubelets))
        self._thread.start()
        return time.monotonic() - started

    def _drive(self) -> None:
        while not self._stop.is_set():
            for kubelet in self.kubelets:
                kubelet.sync_once()
            self.clock.advance(1.0)

    def stop(self) -> None:
        """Stop the kubelets and take their nodes out (else the next run would schedule onto
        nodes nobody runs: there is no node lifecycle controller in this benchmark)."""
        self._stop.set()
        self._thread.join()
        nodes = ResourceClient(self.kubelets[0].api_client, NODES) if self.kubelets else None
        for kubelet in self.kubelets:
            kubelet.stop()
            nodes.delete("", kubelet.node_name)


def stuck(api, namespace: str) -> None:
    """Say why Pods are not Running: phase, reason and node of each kind of stuck Pod."""
    kinds: dict[tuple, int] = {}
    for pod in ResourceClient(api, PODS).list(namespace)["items"]:
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            reason = status.get("reason") or next(
                (c.get("reason") for c in status.get("conditions") or [] if c.get("status") != "True"), "")
            key = (status.get("phase"), reason, bool(pod["spec"].get("nodeName")))
            kinds[key] = kinds.get(key, 0) + 1
    for (phase, reason, bound), count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  stuck: {count} Pods phase={phase} reason={reason or '-'} bound={bound}", flush=True)


def raw_create_rate(api, namespace: str, count: int) -> float:
    """The peer: bare Pods created as fast as 4 client threads can."""
    pods = ResourceClient(api, PODS)
    body = {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: pods.create(namespace, {"metadata": {"name": f"raw-{i}"}, **body}),
                      range(count)))
    return count / (time.monotonic() - start)


def run_size(api, pods_total: int) -> dict[str, float]:
    deployments_total = max(pods_total // REPLICAS_PER_DEPLOYMENT, 1)
    nodes_total = max(pods_total // 10, 1)
    tag = f"scale{pods_total}"
    ResourceClient(api, NAMESPACES).create("", {"metadata": {"name": tag}})
    print(f"\n== {pods_total} Pods from {deployments_total} Deployments on {nodes_total} nodes ==",
          flush=True)
    nodes = SimulatedNodes(api, nodes_total, tag)
    registration = nodes.start()
    print(f"  {nodes_total} kubelets registered in {registration:.1f} s", flush=True)
    manager = ControllerManager(api, controllers=[ReplicaSetController, DeploymentController],
                                namespace=tag, resync_period=0)
    scheduler = Scheduler(api)
    created_at: dict[str, float] = {}
    bound_at: dict[str, float] = {}
    running_at: dict[str, float] = {}

    def observe(pod: dict) -> None:
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        if pod["metadata"]["namespace"] != tag:
            return
        created_at.setdefault(key, time.monotonic())
        if pod["spec"].get("nodeName"):
            bound_at.setdefault(key, time.monotonic())
        if (pod.get("status") or {}).get("phase") == "Running":
            running_at.setdefault(key, time.monotonic())

    scheduler.pods.add_event_handler(EventHandler(on_add=observe, on_update=lambda _o, n: observe(n)))
    manager.start(workers=4)
    scheduler.start()
    deployments = ResourceClient(api, DEPLOYMENTS)
    start = time.monotonic()
    for i in range(deployments_total):
        labels = {"app": f"d{i}"}
        deployments.create(tag, {"metadata": {"name": f"d{i}"}, "spec": {
            "replicas": REPLICAS_PER_DEPLOYMENT, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "app", "image": "nginx", "resources": {"requests": {"cpu": "100m",
                                                                            "memory": "64Mi"}}}]}}}})
    last_report = last_progress = start
    seen = 0
    while len(running_at) < pods_total:
        time.sleep(0.2)
        if len(running_at) != seen:
            seen, last_progress = len(running_at), time.monotonic()
        if time.monotonic() - last_report > 5:
            last_report = time.monotonic()
            print(f"  {time.monotonic() - start:6.1f}s  created {len(created_at):>6}  "
                  f"bound {len(bound_at):>6}  running {len(running_at):>6}", flush=True)
        if time.monotonic() - last_progress > 60:
            stuck(api, tag)
            raise TimeoutError("no Pod reached Running for 60 s")
    end = time.monotonic()
    scheduler.stop()
    manager.stop()
    nodes.stop()

    def rate(times: dict[str, float]) -> float:
        values = sorted(times.values())
        return len(values) / max(values[-1] - values[0], 1e-9)

    result = {"pods": pods_total, "seconds": end - start, "end_to_end": pods_total / (end - start),
              "replicaset_creates": rate(created_at), "scheduler_binds": rate(bound_at),
              "kubelet_running": rate(running_at)}
    print(f"  end to end: {result['seconds']:.1f} s, {result['end_to_end']:.0f} pods/s "
          f"(ReplicaSet creates {result['replicaset_creates']:.0f}/s, scheduler binds "
          f"{result['scheduler_binds']:.0f}/s, kubelet {result['kubelet_running']:.0f}/s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="total Pods per run, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as workdir:
        process, kubeconfig = start_apiserver(Path(workdir))
        try:
            api = api_client_from_kubeconfig(kubeconfig)
            api.configuration.connection_pool_maxsize = 32
            api.rest_client.pool_manager.connection_pool_kw["maxsize"] = 32
            ResourceClient(api, NAMESPACES).create("", {"metadata": {"name": "peer"}})
            results = [run_size(api, size) for size in sizes]
            peer = raw_create_rate(api, "peer", min(sizes[0], 2000))
        finally:
            process.terminate()
            process.wait(10)
    print("\n== summary ==")
    print(f"peer: bare Pod creates through the same API server: {peer:.0f} pods/s")
    for r in results:
        print(f"{r['pods']:>6} pods: {r['seconds']:7.1f} s  {r['end_to_end']:6.0f} pods/s end to end "
              f"= {r['end_to_end'] / peer:.2f} x the bare-create ceiling")
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"time grows {last['seconds'] / first['seconds']:.1f}x for "
              f"{last['pods'] / first['pods']:.0f}x the Pods")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()

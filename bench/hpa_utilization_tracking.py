"""How closely does the utilisation the HPA sees track the CPU limits of saturated Pods?

Three Pods with CPU limits of 200m, 500m and 1000m (each requesting what it is limited to)
run on the embedded cluster — in the **isolated** runtime as root (real containers, each in
its own cgroup with the CFS quota of its limit), else in the process runtime, where nothing
enforces a limit.  Each Pod runs two busy loops (``busybox sh``), so it wants 2 CPUs, more
than any of the limits allows.  For ``--seconds`` the pipeline the HPA uses — the kubelet's
Summary API (cgroup counters), scraped every second by our metrics-server, read back through
``metrics.k8s.io`` — reports each Pod's millicores.  Measured side by side in the same run:

- **pipeline** — what the HPA's metrics say (1 s windows, averaged);
- **peer** — process accounting from ``/proc`` (psutil) for the same Pod's processes, over the
  whole run: an independent measurement of the same CPU time;
- **limit** — the CFS quota the kernel enforces.

Printed: millicores, pipeline / limit (1.000 is perfect tracking; below 1 when the host's other
work takes CPU from the Pods), and pipeline / peer.
Run: ``.venv/bin/python bench/hpa_utilization_tracking.py [--seconds 10]``. On a busy host the
windows of the two measurements do not cover exactly the same CPU time, so expect some noise.
"""

from __future__ import annotations

import argparse
import os
import time

import psutil

from fromscratch.autoscaling.metrics_server import MetricsServer
from fromscratch.cluster import Cluster
from fromscratch.cluster.cluster import best_runtime
from fromscratch.controllers.client import PODS, Resource, ResourceClient

LIMITS = {"burn-200m": 200, "burn-500m": 500, "burn-1000m": 1000}
POD_METRICS = Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics")
BUSY = "while :; do :; done & while :; do :; done"  # two CPUs' worth of work


def pod_manifest(name: str, millicores: int) -> dict:
    cpu = f"{millicores}m"
    return {"metadata": {"name": name, "labels": {"app": "burn"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "burner", "image": "busybox", "command": ["sh", "-c", BUSY],
                "resources": {"requests": {"cpu": cpu}, "limits": {"cpu": cpu}}}]}}


def pod_processes(cluster: Cluster, name: str) -> list[psutil.Process]:
    """The host processes of a Pod's container: its main process and what it started."""
    for kubelet in cluster.kubelets.values():
        pod = kubelet.pods().get(f"default/{name}")
        if pod is None:
            continue
        sandbox = pod.sandbox
        pid = sandbox.pids()["burner"] if hasattr(sandbox, "pids") else \
            pod.run_of("burner").handle.process.pid
        top = psutil.Process(pid)
        return [top, *top.children(recursive=True)]
    raise LookupError(name)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def host_busy_seconds() -> float:
    times = psutil.cpu_times()
    return times.user + times.system + getattr(times, "nice", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    runtime = "isolated" if best_runtime() == "isolated" else "process"
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {runtime} runtime")
    if runtime != "isolated":
        print("no isolated runtime here (needs root): nothing enforces the limits, so the Pods "
              "use what they can get and pipeline/limit says how far that is from the limit")
    readings: dict[str, list[int]] = {name: [] for name in LIMITS}
    with Cluster(nodes=1, runtime=runtime, controllers=[]) as cluster:
        metrics = MetricsServer(cluster.server, cluster.api, resolution=1.0).start()
        try:
            pods = ResourceClient(cluster.api, PODS)
            for name, millicores in LIMITS.items():
                pods.create("default", pod_manifest(name, millicores))
            cluster.wait_for(lambda: len(cluster.ready_pods("default", "app=burn")) == len(LIMITS),
                             timeout=60, message="the burner Pods to be Ready")
            time.sleep(2.5)  # two scrapes: every Pod has a rate
            processes = {name: pod_processes(cluster, name) for name in LIMITS}
            peer_start = {name: cpu_seconds(p) for name, p in processes.items()}
            host_start = host_busy_seconds()
            started, last = time.monotonic(), {}
            while time.monotonic() - started < args.seconds:
                time.sleep(0.25)
                for item in ResourceClient(cluster.api, POD_METRICS).list("default")["items"]:
                    name = item["metadata"]["name"]
                    if last.get(name) != item["timestamp"]:  # a new scrape
                        last[name] = item["timestamp"]
                        readings[name].append(int(item["containers"][0]["usage"]["cpu"].rstrip("m")))
            elapsed = time.monotonic() - started
            host = (host_busy_seconds() - host_start) / elapsed * 1000
            peer = {name: (cpu_seconds(p) - peer_start[name]) / elapsed * 1000
                    for name, p in processes.items()}
        finally:
            metrics.stop()
    print(f"{'limit':>7} {'pipeline':>9} {'min..max (1 s windows)':>23} {'pipeline/limit':>15} "
          f"{'peer':>7} {'pipeline/peer':>14}")
    for name, limit in LIMITS.items():
        values = readings[name][1:] or readings[name]  # the first may straddle the start
        mean = sum(values) / len(values)
        print(f"{limit:>6}m {mean:>8.0f}m {min(values):>11}m..{max(values):>5}m {'':>3}"
              f"{mean / limit:>15.3f} {peer[name]:>6.0f}m {mean / peer[name]:>14.3f}")
    others = host - sum(peer.values())
    print(f"the rest of the host used {others:.0f}m of {os.cpu_count() * 1000}m meanwhile "
          "(Pods get less than their limit when others compete for the CPUs)")


if __name__ == "__main__":
    main()

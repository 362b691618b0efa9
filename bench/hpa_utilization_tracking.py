"""How closely does the utilisation the HPA sees track the CPU limits of saturated Pods?

Three Pods with CPU limits of 200m, 500m and 1000m (each requesting what it is limited to) are
run by the chapter's process kubelet, each in its own cgroup (the isolated runtime: root and a
real cgroup hierarchy), and given far more work than their limit allows.  For ``--seconds`` the
metrics pipeline the HPA uses (``UsageScraper``: the cgroup's CPU counter, sampled once per
second) reports each Pod's millicores.  Measured side by side in the same run:

- **pipeline** — what the HPA's metrics say (cgroup counter, 1 s windows, averaged);
- **peer** — process accounting from ``/proc`` for the same process (psutil), over the whole run;
- **limit** — the CFS quota the kernel enforces.

Printed: millicores, pipeline / limit (1.000 is perfect tracking; below 1 when the host's other
work takes CPU from the Pods), and pipeline / peer.  Where cgroups are not available the
pipeline falls back to process accounting and there is no limit to track: the script says so.
Run: ``.venv/bin/python bench/hpa_utilization_tracking.py [--seconds 6]``.
"""

from __future__ import annotations

import argparse
import os
import time

from fromscratch.api.server import APIServer
from fromscratch.autoscaling.burner import LoadGenerator, ProcessKubelet
from fromscratch.controllers.client import PODS, ResourceClient
from fromscratch.usage import UsageMeter

LIMITS = {"burn-200m": "200m", "burn-500m": "500m", "burn-1000m": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    with APIServer() as server:
        api = server.client()
        kubelet = ProcessKubelet(api, namespace="default", startup_seconds=0.2)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Pods run with: "
              f"{kubelet.isolation}")
        if kubelet.parent is None:
            print("no real cgroups here: nothing enforces a limit, so there is nothing to track")
        load = LoadGenerator(kubelet, rate=400, cost_ms=10)  # 4 CPUs of demand, round-robin
        try:
            kubelet.start()
            pods = ResourceClient(api, PODS)
            for name, limit in LIMITS.items():
                resources = {"requests": {"cpu": limit}, "limits": {"cpu": limit}}
                pods.create("default", {"metadata": {"name": name, "labels": {"app": "burn"}},
                                        "spec": {"containers": [{"name": "burner", "image": "x",
                                                                 "resources": resources}]}})
            while len(kubelet.ready_pods()) < len(LIMITS):
                time.sleep(0.1)
            load.start()
            time.sleep(1.0)  # let every Pod saturate
            peers = {name: UsageMeter(kubelet.running[name].process.pid) for name in LIMITS}
            readings: dict[str, list[int]] = {name: [] for name in LIMITS}
            kubelet.scraper.scrape()
            for _ in range(int(args.seconds)):
                time.sleep(1.0)
                kubelet.scraper.scrape()
                for name in LIMITS:
                    usage = kubelet.scraper.usage("default", name)
                    if usage is not None:
                        readings[name].append(usage[0])
            seen = {name: peers[name].read()[0] for name in LIMITS}
        finally:
            load.stop()
            kubelet.stop()
    print(f"{'limit':>7} {'pipeline':>9} {'min..max (1 s windows)':>23} {'pipeline/limit':>15} "
          f"{'peer':>7} {'pipeline/peer':>14}")
    for name in LIMITS:
        values = readings[name]
        mean = sum(values) / len(values)
        limit_m = int(name.split("-")[1].rstrip("m"))
        print(f"{limit_m:>6}m {mean:>8.0f}m {min(values):>11}m..{max(values):>5}m {'':>3}"
              f"{mean / limit_m:>15.3f} {seen[name]:>6}m {mean / seen[name]:>14.3f}")


if __name__ == "__main__":
    main()

"""CPU-burning Pods as real processes, a tiny process "kubelet" to run them, and a load generator.

A stand-in for the kubelet chapter, just big enough for the HPA to act on real
processes: :class:`ProcessKubelet` watches the Pods of one namespace through the
API server, starts one process per Pod, reports it Running and Ready in the
Pod's status, and stops the process when the Pod is deleted.  Where the real
kernel allows (root, cgroup v1 or v2), each Pod's process runs in its own
cgroup — ``fromscratch/hpa-<pid>/<pod>`` — with the CFS quota of its CPU limit,
and usage is read from the cgroup; elsewhere usage comes from the process's
own accounting (``/proc`` via psutil).  Either way a
:class:`~fromscratch.autoscaling.metrics.UsageScraper` measures it.

Each Pod's process is a small server: every line on its stdin is a request
costing ``N`` ms of CPU.  It keeps at most ``MAX_BACKLOG_MS`` of work queued and
drops the rest, like a server with a bounded queue, so removing the load makes
CPU fall at once.  :class:`LoadGenerator` sends requests at a given rate,
round-robin over the Ready Pods (a Service would do that).

Simplified: no images, no namespaces, no restarts, no probes; Pods are Ready
``startup_seconds`` after their process starts.  The kubelet chapter replaces all this.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fromscratch.autoscaling.metrics import UsageScraper
from fromscratch.controllers.client import NODES, PODS, ResourceClient, is_status
from fromscratch.controllers.podutil import format_time

Obj = dict[str, Any]
MAX_BACKLOG_MS = 400

BURNER = r"""
import os, select, sys, time
fd, backlog, max_backlog = sys.stdin.fileno(), 0.0, float(sys.argv[1])
pending = b""
while True:
    ready, _, _ = select.select([fd], [], [], None if backlog <= 0 else 0)
    if ready:
        data = os.read(fd, 65536)
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        backlog = min(max_backlog, backlog + sum(float(x) for x in lines if x.strip()))
    if backlog > 0:
        # burn up to 10 ms of CPU time, then look for new requests
        step = min(backlog, 10.0)
        end = time.process_time() + step / 1000
        while time.process_time() < end:
            pass
        backlog -= step
"""


@dataclass
class RunningPod:
    name: str
    labels: dict[str, str]
    process: subprocess.Popen
    started: float
    cgroup: Any = None  # fromscratch.linux.cgroups.Cgroup, when isolated in one
    ready: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _cpu_millicores(pod: Obj, kind: str) -> int | None:
    """The Pod's CPU ``requests`` or ``limits`` summed over containers (None if one has none)."""
    from fromscratch.api.quantity import cpu_millicores

    values = [((c.get("resources") or {}).get(kind) or {}).get("cpu")
              for c in (pod.get("spec") or {}).get("containers") or []]
    return sum(cpu_millicores(str(x)) for x in values) if values and all(values) else None


class ProcessKubelet:
    """Run the Pods of ``namespace`` as local processes and report their status."""

    def __init__(self, api_client: Any, *, namespace: str, node_name: str = "fromscratch-node",
                 scraper: UsageScraper | None = None, use_cgroups: bool | None = None,
                 startup_seconds: float = 0.5, poll_interval: float = 0.2) -> None:
        self.namespace, self.node_name = namespace, node_name
        self.pods_api = ResourceClient(api_client, PODS)
        self.nodes_api = ResourceClient(api_client, NODES)
        self.scraper = scraper or UsageScraper()
        self.startup_seconds, self.poll_interval = startup_seconds, poll_interval
        self.running: dict[str, RunningPod] = {}
        self.parent = self._cgroup_parent() if use_cgroups in (None, True) else None
        if use_cgroups and self.parent is None:
            raise RuntimeError("cgroups were asked for, but the real kernel's are not available here")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def isolation(self) -> str:
        return f"cgroup v{self.parent.version} per Pod" if self.parent is not None else \
            "process accounting (no cgroups here)"

    @staticmethod
    def _cgroup_parent() -> Any:
        from fromscratch import host
        from fromscratch.linux.cgroups import CgroupError, open_cgroup

        if host.mode() != "real":
            return None
        try:
            return open_cgroup(f"hpa-{os.getpid()}", mode="real").create()
        except (CgroupError, OSError):
            return None

    # --- the node ---------------------------------------------------------------------------
    def register_node(self) -> None:
        """Create this node's Node object (capacity = this machine), as a kubelet does."""
        import psutil

        capacity = {"cpu": str(os.cpu_count() or 1), "memory": f"{psutil.virtual_memory().total // 1024}Ki",
                    "pods": "110"}
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name,
                                                                 "labels": {"kubernetes.io/os": "linux"}}}
        try:
            self.nodes_api.create("", node)
        except Exception as err:
            if not is_status(err, 409):
                raise
        current = self.nodes_api.get("", self.node_name)
        current["status"] = {"capacity": capacity, "allocatable": capacity, "conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "the process kubelet is posting ready status",
             "lastHeartbeatTime": format_time(time.time()),
             "lastTransitionTime": format_time(time.time())}]}
        self.nodes_api.update_status(current)

    # --- Pods -------------------------------------------------------------------------------
    def _start(self, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        group = None
        if self.parent is not None:
            group = self.parent.child(name).create()
            from fromscratch.resources import milli_cpu_to_quota, milli_cpu_to_shares

            # as the kubelet does: the request becomes a weight, the limit a CFS quota
            group.set_cpu_shares(milli_cpu_to_shares(_cpu_millicores(pod, "requests") or 0))
            limit = _cpu_millicores(pod, "limits")
            if limit is not None:
                group.set_cpu_limit(milli_cpu_to_quota(limit), 100_000)
        command = [sys.executable, "-c", BURNER, str(MAX_BACKLOG_MS)]
        if group is not None:
            # join the group *before* exec, so all of the burner's memory is charged to it
            # (cgroup v1 leaves pages charged where they were allocated)
            command = ["/bin/sh", "-c", 'for f in "$@"; do echo $$ > "$f" || exit 1; done; '
                       'exec "$BURNER_PYTHON" -c "$BURNER_CODE" "$BURNER_BACKLOG"', "burner",
                       *group.procs_files()]
        env = dict(os.environ, BURNER_PYTHON=sys.executable, BURNER_CODE=BURNER,
                   BURNER_BACKLOG=str(MAX_BACKLOG_MS))
        process = subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True, env=env)
        os.set_blocking(process.stdin.fileno(), False)  # type: ignore[union-attr]
        labels = dict(pod["metadata"].get("labels") or {})
        self.running[name] = RunningPod(name, labels, process, time.time(), group)
        self.scraper.track(self.namespace, name, labels, group if group is not None else process.pid)
        self._report(pod, ready=False)

    def _report(self, pod: Obj, *, ready: bool) -> None:
        running = self.running[pod["metadata"]["name"]]
        started = format_time(running.started)
        container = (pod["spec"].get("containers") or [{}])[0].get("name", "main")
        status = {"phase": "Running", "startTime": started, "hostIP": "127.0.0.1",
                  "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                  "lastTransitionTime": format_time(time.time())}],
                  "containerStatuses": [{"name": container, "ready": ready, "restartCount": 0,
                                         "state": {"running": {"startedAt": started}}}]}
        try:
            self.pods_api.patch(self.namespace, pod["metadata"]["name"], {"status": status},
                                subresource="status")
        except Exception as err:
            if not is_status(err, 404):
                raise

    def _stop_pod(self, name: str) -> None:
        running = self.running.pop(name)
        self.scraper.forget(self.namespace, name)
        try:
            os.killpg(running.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        running.process.wait(timeout=5)
        if running.process.stdin is not None:
            try:
                running.process.stdin.close()
            except OSError:
                pass
        if running.cgroup is not None:
            running.cgroup.remove()

    def sync_once(self) -> None:
        """Start new Pods, mark started ones Ready, stop deleted ones."""
        pods = {p["metadata"]["name"]: p for p in self.pods_api.list(self.namespace)["items"]}
        for name, pod in pods.items():
            deleting = bool(pod["metadata"].get("deletionTimestamp"))
            if name not in self.running and not deleting:
                self._start(pod)
            elif name in self.running and not self.running[name].ready and not deleting and \
                    time.time() - self.running[name].started >= self.startup_seconds:
                self.running[name].ready = True
                self._report(pod, ready=True)
            if deleting:
                if name in self.running:
                    self._stop_pod(name)
                # the kubelet confirms a graceful deletion once the containers are gone
                try:
                    self.pods_api.delete(self.namespace, name, grace_period_seconds=0)
                except Exception as err:
                    if not is_status(err, 404):
                        raise
        for name in [n for n in self.running if n not in pods]:
            self._stop_pod(name)

    def ready_pods(self) -> list[RunningPod]:
        return [p for p in list(self.running.values()) if p.ready]

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.sync_once()
            except Exception:  # the API server may be busy; try again at the next tick
                continue

    def start(self) -> ProcessKubelet:
        self.register_node()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="process-kubelet", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop every Pod's process and remove the cgroups (always safe to call)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for name in list(self.running):
            self._stop_pod(name)
        if self.parent is not None:
            self.parent.remove()
            self.parent = None

    def __enter__(self) -> ProcessKubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoadGenerator:
    """Send ``rate`` requests per second of ``cost_ms`` CPU each to the Ready Pods, round-robin."""

    def __init__(self, kubelet: ProcessKubelet, *, rate: float = 0.0, cost_ms: float = 10.0,
                 tick: float = 0.05) -> None:
        self.kubelet, self.rate, self.cost_ms, self.tick = kubelet, rate, cost_ms, tick
        self.sent = self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def demand_millicores(self) -> float:
        """CPU the load asks for in total: requests/s × CPU-seconds per request × 1000."""
        return self.rate * self.cost_ms

    def _loop(self) -> None:
        owed, turn = 0.0, 0
        while not self._stop.wait(self.tick):
            owed += self.rate * self.tick
            pods = self.kubelet.ready_pods()
            if not pods:
                owed = 0.0
                continue
            line = f"{self.cost_ms:g}\n".encode()
            while owed >= 1:
                owed -= 1
                pod = pods[turn % len(pods)]
                turn += 1
                try:
                    os.write(pod.process.stdin.fileno(), line)  # type: ignore[union-attr]
                    self.sent += 1
                except (BlockingIOError, BrokenPipeError, ValueError, OSError):
                    self.dropped += 1

    def start(self) -> LoadGenerator:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="load-generator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

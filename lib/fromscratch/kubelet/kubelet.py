"""The kubelet: the node agent that turns Pods bound to its node into running containers.

Models ``kubelet`` (``pkg/kubelet``) as one class wiring this package's parts::

    NodeRegistration ── Node object, status every status_seconds   (node.py)
    NodeLease ───────── kube-node-lease/<node> every heartbeat       (lease.py)
    PodSource ───────── watch Pods with spec.nodeName=<node>         (podsource.py)
    StaticPods ──────── manifests from a directory + mirror Pods     (static.py)
    PodWorkers ──────── admit, set up volumes, run through the
                        runtime, terminate, write status and events  (podworkers.py)
    KubeletServer ───── /containerLogs, /stats/summary, /healthz     (server.py)

Use it in real time (``start()`` runs a sync thread and a heartbeat thread) or in
virtual time: ``Kubelet(..., threads=False)`` and call :meth:`Kubelet.sync_once`
after advancing the runtime's :class:`~fromscratch.runtime.clock.FakeClock` —
how a thousand simulated nodes run in one process (with a shared
:class:`~fromscratch.kubelet.podsource.SharedPodSource`).

The runtime is any chapter-5 ``PodRuntime``: isolated (real containers, root),
process (plain child processes) or simulated (no processes, virtual time).

Simplified: no image pulls, no eviction, no device/CPU managers, no CNI (Pods
share the node's loopback or have none), no kubelet authentication.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from fromscratch.kubelet.clocks import WallClock, micro_time, rfc3339, wall_time
from fromscratch.kubelet.events import KubeletRecorder
from fromscratch.kubelet.lease import NodeLease
from fromscratch.kubelet.node import NodeRegistration, host_capacity, node_labels
from fromscratch.kubelet.podsource import NodePodSource, PodSource
from fromscratch.kubelet.podworkers import PodWorkers, pod_key
from fromscratch.kubelet.static import StaticPods, is_mirror
from fromscratch.kubelet.volumes import VolumeManager
from fromscratch.runtime.pod import Pod

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.kubelet")
DEFAULT_STATUS_SECONDS = 60.0  # upstream reports an unchanged Node status every 5 min


class Kubelet:
    """One node: registers it, heartbeats, runs the Pods bound to it, reports their status."""

    def __init__(self, api_client: Any, node_name: str = "node-1", runtime: Any = None, *,
                 capacity: dict[str, str] | None = None, allocatable: dict[str, str] | None = None,
                 labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
                 static_pod_dir: str | Path | None = None, server: Any = None,
                 heartbeat_seconds: float = 10.0, status_seconds: float = DEFAULT_STATUS_SECONDS,
                 sync_seconds: float | None = None, root_dir: str | Path | None = None,
                 threads: bool = True, pod_source: PodSource | None = None,
                 recorder: KubeletRecorder | None | bool = True) -> None:
        """See the module docstring; the less obvious arguments:

        ``capacity``: default this machine's (cpu, memory, ephemeral-storage) and 110 Pods;
        ``allocatable``: default = capacity.  ``status_seconds``: how often an unchanged
        Node status is written (the Lease is the heartbeat).  ``root_dir``: where Pod
        volumes live (default: a temporary directory, made when first needed and removed by
        :meth:`stop`).
        ``threads=False``: no threads, the caller calls :meth:`sync_once`.
        ``pod_source``: a :class:`~fromscratch.kubelet.podsource.SharedPodSource` for many
        kubelets in one process.  ``recorder``: True — events through a recorder of its own;
        a :class:`~fromscratch.kubelet.events.KubeletRecorder` — share that one; None — no events.
        ``runtime``: default the best this host allows; when the kubelet makes an isolated
        runtime itself, its cgroups go under ``fromscratch/kubelet-<pid>``, removed by :meth:`stop`.
        """
        self._cgroup_root: str | None = None
        if runtime is None:
            from fromscratch import host
            from fromscratch.runtime.runtimes import IsolatedRuntime, default_runtime

            if host.mode() == "real":
                self._cgroup_root = f"fromscratch/kubelet-{os.getpid()}"
                runtime = IsolatedRuntime(cgroup_root=self._cgroup_root)
            else:
                runtime = default_runtime()
        self.api_client, self.node_name, self.runtime = api_client, node_name, runtime
        self.clock = runtime.clock
        self.virtual = bool(getattr(self.clock, "virtual", False))
        capacity = dict(capacity) if capacity is not None else host_capacity()
        capacity.setdefault("pods", "110")
        allocatable = dict(allocatable) if allocatable is not None else dict(capacity)
        self.registration = NodeRegistration(
            api_client, node_name, capacity=capacity, allocatable=allocatable,
            labels=node_labels(node_name, labels), taints=list(taints or []),
            runtime_name=runtime.name)
        self.lease = NodeLease(api_client, node_name)
        self.heartbeat_seconds, self.status_seconds = heartbeat_seconds, status_seconds
        self.sync_seconds = sync_seconds if sync_seconds is not None else (1.0 if self.virtual else 0.2)
        self._own_recorder = recorder is True
        if recorder is True:
            recorder = KubeletRecorder(api_client, node_name, clock=WallClock(self.clock))
        self.recorder: KubeletRecorder | None = recorder or None
        self.volumes = VolumeManager(api_client, Path(root_dir) if root_dir is not None else None,
                                     clock_wall=lambda: wall_time(self.clock),
                                     temp_prefix=f"fromscratch-kubelet-{node_name}-")
        self.workers = PodWorkers(api_client, node_name=node_name, runtime=runtime,
                                  volumes=self.volumes, recorder=self.recorder)
        self.static = StaticPods(api_client, static_pod_dir, node_name) if static_pod_dir else None
        self.pod_source: PodSource = pod_source or NodePodSource(api_client, node_name)
        self.server = server
        self.use_threads = threads
        self.node: Obj = {}
        self.started = False
        self._next_lease = self._next_status = 0.0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stats: Any = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Kubelet:
        """Register the Node (or adopt it), start the Pod watch and, unless virtual, the threads."""
        if self.started:
            return self
        from fromscratch.kubelet.stats import StatsProvider

        self.stats = StatsProvider(self)
        if self.server is not None:
            self.server.add(self)
            self.registration.port = self.server.port
        self.node = self.registration.register()
        self.lease.ensure_namespace()
        self.heartbeat(force=True)
        self.pod_source.start()
        self.pod_source.wait_for_sync(30.0)
        self.started = True
        self._stop.clear()
        if self.use_threads:
            for name, target in (("sync", self._sync_loop), ("heartbeat", self._heartbeat_loop)):
                thread = threading.Thread(target=target, daemon=True,
                                          name=f"kubelet-{self.node_name}-{name}")
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop the threads, terminate every Pod and remove what we made (not the Node object)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        with self._lock:
            self.workers.terminate_all()
        if self.started:
            self.pod_source.stop()
        if self.server is not None:
            self.server.remove(self)
        if self.recorder is not None:
            self.recorder.flush()
            if self._own_recorder:
                self.recorder.stop()
        self.volumes.remove_temporary_root()
        if self._cgroup_root is not None:
            remove_empty_cgroup_root(self._cgroup_root)
        self.started = False

    def __enter__(self) -> Kubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the loops ------------------------------------------------------------------------------
    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_seconds):
            try:
                self.sync_pods()
            except Exception:  # the API server may be restarting: try again next time
                log.exception("kubelet %s: pod sync failed", self.node_name)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat_seconds)):
            try:
                self.heartbeat()
            except Exception:
                log.exception("kubelet %s: heartbeat failed", self.node_name)

    def heartbeat(self, *, force: bool = False) -> None:
        """Renew the Lease if due; write the Node status if due (``force``: both now)."""
        now = self.clock.now()
        wall = wall_time(self.clock)
        if force or now >= self._next_lease:
            self.lease.renew(micro_time(wall), self.registration.uid)
            self._next_lease = now + self.heartbeat_seconds
        if force or now >= self._next_status:
            self.node = self.registration.update_status(rfc3339(wall))
            self._next_status = now + self.status_seconds

    def sync_pods(self) -> None:
        """One pass of the pod workers over the API Pods and the static Pods."""
        with self._lock:
            api_pods = self.pod_source.pods(self.node_name)
            desired = {pod_key(p): p for p in api_pods if not is_mirror(p)}
            mirrors = {pod_key(p): p for p in api_pods if is_mirror(p)}
            if self.static is not None:
                manifests = self.static.read()
                desired.update(manifests)
                self.static.sync_mirrors(manifests, mirrors)
            node = self.node or {"metadata": {"labels": self.registration.labels},
                                 "status": {"allocatable": self.registration.allocatable}}
            self.workers.sync(desired, node, mirrors)
            if self.stats is not None:
                self.stats.maybe_sample()

    def sync_once(self) -> None:
        """Everything once: heartbeat if due, Pods, statuses (for callers driving virtual time)."""
        if not self.started:
            raise RuntimeError(f"kubelet {self.node_name} is not started; call start() first")
        self.heartbeat()
        self.sync_pods()

    @property
    def root_dir(self) -> Path:
        """Where this kubelet keeps Pod volumes (a temporary directory unless given)."""
        return self.volumes.root_dir

    # --- what it runs -------------------------------------------------------------------------------
    def pods(self) -> dict[str, Pod]:
        """``namespace/name`` -> the runtime's Pod for every Pod this kubelet runs."""
        return {key: w.runtime_pod for key, w in list(self.workers.workers.items())
                if w.runtime_pod is not None and "#" not in key}

    def __repr__(self) -> str:
        return f"<Kubelet {self.node_name} {self.runtime.name} pods={len(self.pods())}>"


def remove_empty_cgroup_root(root: str) -> None:
    """rmdir ``root`` and the groups below it, deepest first, in every cgroup hierarchy where it
    exists; a group still holding processes (or absent) is left alone (never anything else)."""
    base = Path("/sys/fs/cgroup")
    for top in [base / root, *base.glob(f"*/{root}")]:
        if not top.is_dir():
            continue
        below = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for directory in [*below, top]:
            try:
                directory.rmdir()
            except OSError:
                pass  # still holding a group or a process: leave it

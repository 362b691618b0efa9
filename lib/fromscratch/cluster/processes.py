"""``python -m fromscratch cluster up``: the same cluster, one operating-system process per component.

The embedded :class:`~fromscratch.cluster.Cluster` runs everything as threads of
one process, which is handy in a notebook.  A real cluster runs each component
as its own program, and they meet only through the API server.  This command
does that::

    python -m fromscratch cluster up --nodes 2 --runtime process --kubeconfig ./kubeconfig
    KUBECONFIG=./kubeconfig kubectl get nodes        # in another terminal

It starts, in order, and each as ``python -m …``:

1. the API server (``fromscratch apiserver``), which writes the kubeconfig;
2. the controller manager (``fromscratch.controllers``);
3. the scheduler (``fromscratch.scheduler``);
4. one kubelet per node (``fromscratch.kubelet --node-name node-N``);

then waits for Ctrl-C (or SIGTERM) and stops them in reverse order, so the
kubelets end their Pods while the API server still answers.  Each component's
output goes to ``<log-dir>/<component>.log``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RUNTIMES = ("isolated", "process", "simulated")


class Component:
    """One running program of the cluster, with its log file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path) -> None:
        self.name, self.argv = name, argv
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


def _wait_for_file(path: Path, component: Component, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if not component.alive():
            raise RuntimeError(f"{component.name} exited: see {component.log_path}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{component.name} did not write {path} within {timeout:g} s")
        time.sleep(0.1)


def up(nodes: int, runtime: str, kubeconfig: Path, log_dir: Path, rbac: bool = False,
       port: int = 0, stop: threading.Event | None = None) -> int:
    """Start every component, wait until ``stop`` is set (or a signal), then stop them all."""
    stop = stop or threading.Event()
    kubeconfig.unlink(missing_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    components: list[Component] = []
    try:
        apiserver_args = ["apiserver", "--port", str(port), "--kubeconfig", str(kubeconfig)]
        if rbac:
            apiserver_args += ["--authorization-mode", "RBAC"]
        components.append(Component("apiserver", _module("fromscratch", *apiserver_args), log_dir))
        _wait_for_file(kubeconfig, components[0])
        components.append(Component("controller-manager", _module(
            "fromscratch.controllers", "--kubeconfig", str(kubeconfig)), log_dir))
        components.append(Component("scheduler", _module(
            "fromscratch.scheduler", "--kubeconfig", str(kubeconfig)), log_dir))
        for i in range(1, nodes + 1):
            components.append(Component(f"kubelet-node-{i}", _module(
                "fromscratch.kubelet", "--kubeconfig", str(kubeconfig), "--node-name", f"node-{i}",
                "--runtime", runtime), log_dir))
        print(f"cluster up: {nodes} node(s), {runtime} runtime", flush=True)
        print(f"  export KUBECONFIG={kubeconfig}", flush=True)
        print(f"  logs in {log_dir}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        while not stop.wait(0.5):
            dead = [c for c in components if not c.alive()]
            if dead:
                print(f"{dead[0].name} exited ({dead[0].process.returncode}): see {dead[0].log_path}",
                      file=sys.stderr, flush=True)
                return 1
        return 0
    finally:
        for component in reversed(components):
            component.stop()
        kubeconfig.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    """``python -m fromscratch cluster up [--nodes N] [--runtime R] [--kubeconfig F] [--rbac]``."""
    parser = argparse.ArgumentParser(prog="python -m fromscratch cluster",
                                     description="Run the course's cluster, one process per component.")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the cluster in the foreground (Ctrl-C stops it)")
    start.add_argument("--nodes", type=int, default=2, help="worker nodes (default 2)")
    start.add_argument("--runtime", choices=RUNTIMES, help="Pod runtime (default: the best this host allows)")
    start.add_argument("--kubeconfig", default="kubeconfig", help="where to write the kubeconfig")
    start.add_argument("--log-dir", help="component logs (default: a new temporary directory)")
    start.add_argument("--port", type=int, default=0, help="API server port (default: any free one)")
    start.add_argument("--rbac", action="store_true", help="enforce RBAC (authorization mode RBAC)")
    args = parser.parse_args(argv)
    if args.nodes < 0:
        parser.error("--nodes must be zero or more")
    runtime = args.runtime
    if runtime is None:
        from fromscratch.cluster.cluster import best_runtime

        runtime = best_runtime()
    if runtime == "isolated" and os.geteuid() != 0:
        parser.error("the isolated runtime needs root; use --runtime process")
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="fromscratch-cluster-"))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        return up(args.nodes, runtime, Path(args.kubeconfig).resolve(), log_dir, rbac=args.rbac,
                  port=args.port, stop=stop)
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"cluster: {err}", file=sys.stderr)
        return 1

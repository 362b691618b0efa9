"""The program every Pod of the chapter's Deployment runs: a server whose requests cost CPU.

``python -m fromscratch.autoscaling.burner --port-dir /run/burners`` binds a UDP
socket on ``127.0.0.1`` (port 0: the kernel picks a free one), announces the
port, and treats each datagram as a request whose payload is its cost in
milliseconds of CPU time (``b"10"``).  It burns that CPU in 10 ms slices,
measured with ``time.process_time()`` — CPU time, not wall time, so a request
costs the same whether or not a CFS quota throttles the process.

Like a server with a bounded queue it keeps at most ``--max-backlog-ms`` of
work and drops the rest, so CPU falls as soon as the load goes away, and a Pod
asked for more than its CPU limit saturates at the limit instead of queueing
without end.

How the load finds the Pods without a Service proxy: every Pod gets a
``hostPath`` volume mounted at ``--port-dir``, and the burner writes its port
to ``<port-dir>/<pod name>`` (its name from ``$HOSTNAME``, which the kubelet
sets to the Pod's name) — the job an Endpoints object and kube-proxy do in a
real cluster.  It also prints the address, so ``kubectl logs`` shows it.

Only the standard library is imported, so the program starts quickly in any
Python; importing :mod:`fromscratch` starts nothing either.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

SLICE_MS = 10.0  # burn at most this much before looking for new requests again
MAX_BACKLOG_MS = 400.0


def burn(milliseconds: float) -> None:
    """Use ``milliseconds`` of CPU time (not wall-clock time) in a busy loop."""
    end = time.process_time() + milliseconds / 1000
    while time.process_time() < end:
        pass


def announce(port_dir: Path, name: str, port: int) -> Path:
    """Write ``port`` to ``port_dir/name`` atomically (readers never see half a file)."""
    path = port_dir / name
    partial = port_dir / f".{name}.partial"
    partial.write_text(f"{port}\n")
    partial.replace(path)
    return path


def request_cost(data: bytes) -> float | None:
    """The CPU milliseconds a request asks for; None unless it is a positive, finite number."""
    try:
        cost = float(data)
    except ValueError:
        return None
    return cost if math.isfinite(cost) and cost > 0 else None


def serve(sock: socket.socket, max_backlog_ms: float) -> None:
    """Receive requests and burn their cost, forever (until a signal ends the process)."""
    backlog = 0.0
    while True:
        # block while idle; only peek for new requests while there is work to do
        ready, _, _ = select.select([sock], [], [], None if backlog <= 0 else 0)
        while ready:
            try:
                data = sock.recv(64)
            except BlockingIOError:
                break
            cost = request_cost(data)
            if cost is not None:
                backlog = min(max_backlog_ms, backlog + cost)
        if backlog > 0:
            step = min(backlog, SLICE_MS)
            burn(step)
            backlog -= step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fromscratch.autoscaling.burner",
                                     description="a UDP server whose requests cost CPU time")
    parser.add_argument("--port-dir", type=Path, required=True,
                        help="directory where the port is written, in a file named after the Pod")
    parser.add_argument("--max-backlog-ms", type=float, default=MAX_BACKLOG_MS,
                        help="work kept queued at most; requests beyond it are dropped")
    args = parser.parse_args(argv)
    if not args.port_dir.is_dir():
        parser.error(f"--port-dir {args.port_dir} is not a directory")
    name = os.environ.get("HOSTNAME") or socket.gethostname()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    port = sock.getsockname()[1]
    path = announce(args.port_dir, name, port)

    def leave(signum: int, _frame: object) -> None:
        path.unlink(missing_ok=True)  # a Pod being deleted stops taking requests
        sys.exit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    print(f"burner {name}: serving on 127.0.0.1:{port}/udp, port in {path}", flush=True)
    serve(sock, args.max_backlog_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())

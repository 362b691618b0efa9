"""``python -m fromscratch.kubelet --kubeconfig F --node-name N --runtime process|isolated|simulated``.

Runs one kubelet against the API server a kubeconfig points at — the course's
(``python -m fromscratch apiserver --kubeconfig F``) or, with care, a real
cluster: the Node it registers is then a real Node that the real scheduler may
send Pods to, and those Pods run as processes of this machine (``process``),
as containers of our own runtime (``isolated``, root) or nowhere at all
(``simulated``).  The kubelet HTTP endpoint (logs, stats) listens on 127.0.0.1.
Stop it with Ctrl-C or SIGTERM: its Pods are stopped, its Node is left in place.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading


def parse_taint(text: str) -> dict[str, str]:
    """``key=value:Effect`` or ``key:Effect`` (kubectl taint's syntax)."""
    if ":" not in text:
        raise argparse.ArgumentTypeError(f"taint {text!r}: expected key[=value]:Effect")
    head, effect = text.rsplit(":", 1)
    if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise argparse.ArgumentTypeError(f"taint {text!r}: effect must be NoSchedule, "
                                         "PreferNoSchedule or NoExecute")
    key, _, value = head.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def parse_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r}: expected key=value")
        pairs[key] = value
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fromscratch.kubelet",
                                     description="Run one kubelet against a Kubernetes API server.")
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the API server")
    parser.add_argument("--node-name", required=True, help="the Node to register")
    parser.add_argument("--runtime", choices=("process", "isolated", "simulated"), default="process")
    parser.add_argument("--static-pod-dir", help="directory of static Pod manifests")
    parser.add_argument("--capacity", type=parse_pairs, help="e.g. cpu=4,memory=8Gi,pods=110 "
                        "(default: this machine's)")
    parser.add_argument("--node-labels", type=parse_pairs, default={}, help="key=value,...")
    parser.add_argument("--register-with-taints", type=parse_taint, action="append", default=[],
                        metavar="KEY[=VALUE]:EFFECT")
    parser.add_argument("--port", type=int, default=0, help="kubelet HTTP port (default: any free)")
    parser.add_argument("--root-dir", help="where Pod volumes are kept (default: a temporary one)")
    args = parser.parse_args(argv)

    from fromscratch.controllers.client import api_client_from_kubeconfig
    from fromscratch.kubelet import Kubelet, KubeletServer
    from fromscratch.runtime.clock import RealClock
    from fromscratch.runtime.runtimes import IsolatedRuntime, ProcessRuntime, SimRuntime

    # a simulated node on its own follows real time: nobody else would move a virtual clock
    runtime = {"process": ProcessRuntime, "isolated": IsolatedRuntime,
               "simulated": lambda: SimRuntime(RealClock())}[args.runtime]()  # type: ignore[arg-type]
    try:
        api = api_client_from_kubeconfig(args.kubeconfig)
    except Exception as err:
        print(f"kubelet: cannot read kubeconfig {args.kubeconfig}: {err}", file=sys.stderr)
        return 1
    server = KubeletServer(port=args.port).start()
    kubelet = Kubelet(api, args.node_name, runtime, capacity=args.capacity, labels=args.node_labels,
                      taints=args.register_with_taints, static_pod_dir=args.static_pod_dir,
                      server=server, root_dir=args.root_dir)
    try:
        kubelet.start()
    except Exception as err:
        print(f"kubelet: cannot register node {args.node_name}: {err}", file=sys.stderr)
        server.stop()
        return 1
    print(json.dumps({"node": args.node_name, "runtime": args.runtime, "port": server.port}),
          flush=True)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    kubelet.stop()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

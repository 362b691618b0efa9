"""``python -m fromscratch.scheduler``: run the scheduler against any cluster.

    python -m fromscratch.scheduler --kubeconfig ~/.kube/config --scheduler-name my-scheduler

Against a real cluster, give it its own ``--scheduler-name`` and set
``spec.schedulerName`` on the Pods it should place, so it does not race the
cluster's kube-scheduler.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from fromscratch.controllers.client import api_client_from_kubeconfig
from fromscratch.scheduler.scheduler import Scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fromscratch.scheduler", description=__doc__)
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--scheduler-name", default="default-scheduler",
                        help="schedule only Pods with this spec.schedulerName")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = Scheduler(api_client_from_kubeconfig(args.kubeconfig, args.context),
                          scheduler_name=args.scheduler_name)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    scheduler.start()
    print(f"scheduling Pods of {args.scheduler_name!r}", flush=True)
    done.wait()
    scheduler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

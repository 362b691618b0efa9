"""``python -m fromscratch.controllers``: run the controller manager against any cluster.

The course's API server or a real cluster — whatever the kubeconfig points at::

    python -m fromscratch.controllers --kubeconfig ~/.kube/config --namespace demo

Runs the ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob, Endpoints,
garbage-collector, node-lifecycle, taint-eviction, disruption and Pod GC controllers until
interrupted.
Against a real cluster, use a namespace of your own (and stop its own kube-controller-manager from fighting
over it only in a cluster you own): both would reconcile the same objects.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import api_client_from_kubeconfig
from fromscratch.controllers.cronjob import CronJobController
from fromscratch.controllers.daemonset import DaemonSetController
from fromscratch.controllers.deployment import DeploymentController
from fromscratch.controllers.disruption import DisruptionController
from fromscratch.controllers.endpoints import EndpointsController
from fromscratch.controllers.garbagecollector import GarbageCollector
from fromscratch.controllers.job import JobController
from fromscratch.controllers.nodelifecycle import NodeLifecycleController
from fromscratch.controllers.podgc import PodGCController
from fromscratch.controllers.replicaset import ReplicaSetController
from fromscratch.controllers.statefulset import StatefulSetController
from fromscratch.controllers.taint_eviction import TaintEvictionController

ALL = {c.name: c for c in (ReplicaSetController, DeploymentController, StatefulSetController,
                           DaemonSetController, JobController, CronJobController, EndpointsController,
                           GarbageCollector, NodeLifecycleController, TaintEvictionController,
                           DisruptionController, PodGCController)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fromscratch.controllers", description=__doc__)
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--namespace", default="", help="only this namespace (default: all)")
    parser.add_argument("--controllers", default=",".join(ALL),
                        help=f"comma-separated, from: {', '.join(ALL)}")
    parser.add_argument("--workers", type=int, default=2, help="workers per controller")
    args = parser.parse_args(argv)
    unknown = set(args.controllers.split(",")) - set(ALL)
    if unknown:
        print(f"unknown controllers: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    api = api_client_from_kubeconfig(args.kubeconfig, args.context)
    manager = ControllerManager(api, controllers=[ALL[n] for n in args.controllers.split(",")],
                                namespace=args.namespace)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    manager.start(workers=args.workers)
    print(f"controllers running: {args.controllers}", flush=True)
    done.wait()
    manager.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

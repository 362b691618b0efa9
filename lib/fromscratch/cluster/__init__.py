"""The embedded cluster: ``with Cluster(nodes=3) as c:`` (see :mod:`fromscratch.cluster.cluster`)."""

from fromscratch.cluster.cluster import Cluster, KubectlError

__all__ = ["Cluster", "KubectlError"]

"""The kubelet: registers a Node, heartbeats, runs the Pods bound to it, reports on them.

``Kubelet`` is the node agent (:mod:`.kubelet`), ``KubeletServer`` its HTTP
endpoint for logs and stats (:mod:`.server`), ``SharedPodSource`` one Pod watch
shared by many simulated kubelets (:mod:`.podsource`).
"""

from fromscratch.kubelet.kubelet import Kubelet
from fromscratch.kubelet.podsource import NodePodSource, SharedPodSource
from fromscratch.kubelet.server import KubeletServer

__all__ = ["Kubelet", "KubeletServer", "NodePodSource", "SharedPodSource"]

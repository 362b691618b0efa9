"""The three Pod runtimes a kubelet can use, behind one small protocol.

``runtime.run_pod(manifest)`` returns a :class:`~fromscratch.runtime.pod.Pod`; the
kubelet then calls ``pod.sync()`` periodically, reads ``pod.status()`` and finally
``pod.terminate()``.  The runtimes differ only in the sandbox they give the pod and
in their clock:

- :class:`IsolatedRuntime` — a pause process and real OCI containers (root only);
- :class:`ProcessRuntime` — plain child processes, no isolation;
- :class:`SimRuntime` — no processes at all, on a virtual :class:`FakeClock`.

This is the role of the CRI (Container Runtime Interface) between the kubelet and
containerd/CRI-O, reduced to one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fromscratch.runtime.clock import Clock, FakeClock, RealClock
from fromscratch.runtime.pod import Pod, check_pod
from fromscratch.runtime.sandbox import ProcessSandbox


class PodRuntime(Protocol):
    """What a kubelet needs from a container runtime: make a pod, on a clock."""

    name: str
    clock: Clock

    def run_pod(self, manifest: Mapping[str, Any]) -> Pod: ...


class ProcessRuntime:
    """Pods as plain processes: no isolation, for hosts without privileges."""

    name = "process"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()

    def run_pod(self, manifest: Mapping[str, Any]) -> Pod:
        check_pod(manifest)
        return Pod(manifest, ProcessSandbox(manifest), self.clock)


class SimRuntime:
    """Pods on the simulated kernel: no processes, virtual time."""

    name = "simulated"

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()

    def run_pod(self, manifest: Mapping[str, Any]) -> Pod:
        from fromscratch.runtime.sandbox_sim import SimSandbox

        check_pod(manifest)
        return Pod(manifest, SimSandbox(manifest, self.clock), self.clock)


class IsolatedRuntime:
    """Pods as real containers: a pause process holding the pod's namespaces (root only)."""

    name = "isolated"

    def __init__(self, clock: Clock | None = None, *, store: Any = None,
                 cgroup_root: str = "fromscratch/pods") -> None:
        self.clock = clock or RealClock()
        self.store, self.cgroup_root = store, cgroup_root

    def run_pod(self, manifest: Mapping[str, Any]) -> Pod:
        from fromscratch.runtime.sandbox_isolated import IsolatedSandbox

        check_pod(manifest)
        return Pod(manifest, IsolatedSandbox(manifest, store=self.store, cgroup_root=self.cgroup_root),
                   self.clock)


def default_runtime(mode: str | None = None) -> PodRuntime:
    """The best runtime this host allows: isolated as root, process rootless, else simulated."""
    if mode is None:
        from fromscratch import host

        mode = host.mode()
    if mode == "real":
        return IsolatedRuntime()
    if mode == "rootless":
        return ProcessRuntime()
    return SimRuntime()

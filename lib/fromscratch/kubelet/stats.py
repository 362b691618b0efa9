"""Resource usage per container, Pod and node: the kubelet's Summary API.

Models ``GET /stats/summary`` (``pkg/kubelet/apis/stats/v1alpha1``), which the
kubelet serves from cAdvisor and which metrics-server scrapes for
``kubectl top`` and the HorizontalPodAutoscaler.  The shape::

    {"node": {"nodeName", "cpu": {"time", "usageNanoCores", "usageCoreNanoSeconds"},
              "memory": {"time", "workingSetBytes", "usageBytes"}},
     "pods": [{"podRef": {"name", "namespace", "uid"}, "cpu": …, "memory": …,
               "containers": [{"name", "cpu": …, "memory": …}]}]}

Where the numbers come from, per runtime:

- **isolated** Pods: each container's cgroup (``cpuacct.usage``/``cpu.stat``,
  and the working set = usage minus inactive file pages), as cAdvisor reads them;
- **process** Pods: the processes' own accounting (``/proc/<pid>/stat`` via
  psutil: user + system time of the container's process tree, including the
  children they reaped; resident memory);
- **simulated** Pods: a load model — the Pod annotation
  ``sim.fromscratch.io/cpu`` (a CPU quantity, e.g. ``250m``) and
  ``sim.fromscratch.io/memory`` (e.g. ``64Mi``) per container, integrated over
  virtual time; zero without them.

``usageNanoCores`` is a rate: the difference of two cumulative samples divided
by the time between them, so it needs two samples (taken at most every
``SAMPLE_SECONDS``, on the kubelet's sync and on each request).
"""

from __future__ import annotations

import threading
from typing import Any

from fromscratch.api.quantity import cpu_millicores, memory_bytes
from fromscratch.kubelet.clocks import rfc3339, wall_time

Obj = dict[str, Any]
SAMPLE_SECONDS = 1.0
SIM_CPU, SIM_MEMORY = "sim.fromscratch.io/cpu", "sim.fromscratch.io/memory"


def _process_usage(pid: int) -> tuple[int, int]:
    """(cumulative cpu ns, resident bytes) of a process and its descendants."""
    import psutil

    try:
        top = psutil.Process(pid)
        procs = [top, *top.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    cpu = memory = 0
    for proc in procs:
        try:
            times = proc.cpu_times()
            # a live process's own time plus that of the children it has reaped (which are gone,
            # so nothing is counted twice): the total only grows, like a cgroup's usage
            cpu += int((times.user + times.system + times.children_user + times.children_system) * 1e9)
            memory += proc.memory_info().rss
        except psutil.Error:
            continue
    return cpu, memory


def _cgroup_usage(record: Obj) -> tuple[int, int] | None:
    from fromscratch.linux.cgroups import CgroupError, open_cgroup

    group = record.get("cgroup")
    if not group:
        return None
    try:
        cgroup = open_cgroup(group["name"], root=group["root"], mode="real")
        return cgroup.cpu_stat().usage_usec * 1000, cgroup.memory_working_set()
    except (CgroupError, OSError, KeyError):
        return None


class StatsProvider:
    """Samples every container's usage and answers the Summary API."""

    def __init__(self, kubelet: Any) -> None:
        self.kubelet = kubelet
        self.clock = kubelet.clock
        self.samples: dict[tuple[str, str], list[tuple[float, int, int]]] = {}  # last two
        self.sim_cpu_ns: dict[tuple[str, str], float] = {}
        self._last = -1e18
        self._node: list[tuple[float, int, int]] = []
        self._sim_node_cpu = self._sim_pods_cpu = 0
        self._lock = threading.Lock()  # the sync thread and HTTP requests both sample

    def container_usage(self, pod: Any, name: str) -> tuple[int, int]:
        """(cumulative cpu ns, working-set bytes) of one container now."""
        run = pod.run_of(name)
        handle = run.handle
        mode = pod.sandbox.mode
        if mode == "simulated":
            return self._sim_usage(pod, name)
        if handle is None:
            return 0, 0
        if mode == "isolated":
            record = handle.container.record()
            usage = _cgroup_usage(record)
            if usage is not None:
                return usage
            pid = record.get("pid")
            return _process_usage(pid) if pid else (0, 0)
        return _process_usage(handle.process.pid)

    def _sim_usage(self, pod: Any, name: str) -> tuple[int, int]:
        annotations = pod.manifest["metadata"].get("annotations") or {}
        key = (pod.name, name)
        running = pod.run_of(name).running
        millicores = cpu_millicores(annotations[SIM_CPU]) if running and SIM_CPU in annotations else 0
        memory = memory_bytes(annotations[SIM_MEMORY]) if running and SIM_MEMORY in annotations else 0
        # integrate the modelled CPU over virtual time since the last sample
        last = self.samples.get(key)
        now = self.clock.now()
        total = self.sim_cpu_ns.get(key, 0.0)
        if last:
            total += millicores * 1e6 * max(0.0, now - last[-1][0])
        self.sim_cpu_ns[key] = total
        return int(total), memory

    def maybe_sample(self, force: bool = False) -> None:
        with self._lock:
            self._sample(force)

    def _sample(self, force: bool) -> None:
        now = self.clock.now()
        if not force and now - self._last < SAMPLE_SECONDS:
            return
        self._last = now
        pods_cpu = pods_memory = 0
        for pod in self.kubelet.pods().values():
            for run in pod.runs:
                cpu, memory = self.container_usage(pod, run.name)
                history = self.samples.setdefault((pod.name, run.name), [])
                history.append((now, cpu, memory))
                del history[:-2]
                pods_cpu, pods_memory = pods_cpu + cpu, pods_memory + memory
        if self.kubelet.runtime.name == "simulated":
            # a simulated node is busy with its simulated Pods only (counting those gone, too)
            self._sim_node_cpu += max(0, pods_cpu - self._sim_pods_cpu)
            self._sim_pods_cpu = pods_cpu
            self._node.append((now, self._sim_node_cpu, pods_memory))
        else:
            import psutil

            times = psutil.cpu_times()
            node_cpu = int((times.user + times.system + getattr(times, "nice", 0)) * 1e9)
            vm = psutil.virtual_memory()
            self._node.append((now, node_cpu, vm.total - vm.available))
        del self._node[:-2]

    @staticmethod
    def _cpu_memory(history: list[tuple[float, int, int]], stamp: str) -> tuple[Obj, Obj]:
        if not history:
            return ({"time": stamp, "usageNanoCores": 0, "usageCoreNanoSeconds": 0},
                    {"time": stamp, "workingSetBytes": 0, "usageBytes": 0})
        now, cpu, memory = history[-1]
        rate = 0
        if len(history) == 2 and now > history[0][0]:
            rate = int(max(0, cpu - history[0][1]) / (now - history[0][0]))
        return ({"time": stamp, "usageNanoCores": rate, "usageCoreNanoSeconds": cpu},
                {"time": stamp, "workingSetBytes": memory, "usageBytes": memory})

    def summary(self) -> Obj:
        """The Summary API document for this node, now."""
        self.maybe_sample()
        stamp = rfc3339(wall_time(self.clock))
        node_cpu, node_memory = self._cpu_memory(self._node, stamp)
        pods = []
        for key, pod in sorted(self.kubelet.pods().items()):
            namespace = key.split("/", 1)[0]
            containers = []
            total_cpu = {"time": stamp, "usageNanoCores": 0, "usageCoreNanoSeconds": 0}
            total_memory = {"time": stamp, "workingSetBytes": 0, "usageBytes": 0}
            for run in pod.runs:
                if run.init and not run.sidecar:
                    continue
                cpu, memory = self._cpu_memory(self.samples.get((pod.name, run.name), []), stamp)
                containers.append({"name": run.name, "startTime": stamp, "cpu": cpu,
                                   "memory": memory})
                for field in ("usageNanoCores", "usageCoreNanoSeconds"):
                    total_cpu[field] += cpu[field]
                for field in ("workingSetBytes", "usageBytes"):
                    total_memory[field] += memory[field]
            pods.append({"podRef": {"name": pod.name, "namespace": namespace,
                                    "uid": pod.manifest["metadata"].get("uid", "")},
                         "startTime": pod.timestamp(pod.created), "containers": containers,
                         "cpu": total_cpu, "memory": total_memory})
        return {"node": {"nodeName": self.kubelet.node_name, "cpu": node_cpu,
                         "memory": node_memory}, "pods": pods}

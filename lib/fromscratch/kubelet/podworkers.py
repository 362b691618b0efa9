"""Pod workers: start, sync, stop and report every Pod bound to this node.

Models the kubelet's ``syncLoop``/``podWorkers`` (``pkg/kubelet/kubelet.go``,
``pod_workers.go``) reduced to one pass that the kubelet repeats:

1. compare the Pods the node should run (API Pods bound to it, plus static Pods)
   with the ones it runs;
2. a new Pod is **admitted** (:mod:`.admission`), its API volumes are set up
   (:mod:`.volumes`), and the runtime starts it; a Pod that cannot run is
   reported ``Failed``, never a crash;
3. every running Pod is synced (:meth:`~fromscratch.runtime.pod.Pod.sync`:
   restarts, probes …) and its tokens rotated;
4. a Pod past its ``activeDeadlineSeconds`` is stopped and ``Failed``
   (``DeadlineExceeded``); a Pod with a ``deletionTimestamp`` is **terminated** with its
   ``deletionGracePeriodSeconds`` — without blocking the other Pods — and once
   its containers are gone the kubelet finishes the graceful deletion with
   ``DELETE …?gracePeriodSeconds=0`` (with the Pod's uid as a precondition);
   a Pod that vanished from the API is terminated too;
5. statuses that changed are written (:mod:`.status`) and new runtime events
   recorded (:mod:`.events`).

Simplified: one worker loop for all Pods (upstream: a goroutine per Pod); only
``preStop`` hooks, which may last a whole grace period, run on a thread of their
own; a slow exec probe delays the other Pods' syncs.  No eviction manager.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from typing import Any

from fromscratch.controllers.client import PODS, ResourceClient, is_status
from fromscratch.kubelet import events, status
from fromscratch.kubelet.admission import Rejection, admit
from fromscratch.kubelet.clocks import rfc3339, wall_time
from fromscratch.kubelet.volumes import PreparedVolumes, VolumeError, VolumeManager
from fromscratch.runtime.pod import Pod, PodSpecError
from fromscratch.runtime.sandbox import SandboxError

Obj = dict[str, Any]
log = logging.getLogger("fromscratch.kubelet")
VOLUME_RETRY_SECONDS = 2.0
TERMINAL = ("Succeeded", "Failed")
# pkg/kubelet/active_deadline.go
DEADLINE_REASON, DEADLINE_MESSAGE = "DeadlineExceeded", \
    "Pod was active on the node longer than the specified deadline"


def pod_key(pod: Obj) -> str:
    return f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"


@dataclass
class PodWorker:
    """What the kubelet knows about one Pod it is responsible for."""

    key: str
    api_pod: Obj  # the Pod as last seen (the API's, or a static Pod's manifest)
    static: bool = False
    runtime_pod: Pod | None = None
    prepared: PreparedVolumes | None = None
    failure: tuple[str, str] | None = None  # (reason, message): Failed, never started
    waiting: tuple[str, str] | None = None  # (reason, message): Pending, retried
    retry_at: float = 0.0
    terminating: bool = False
    written: Obj | None = None  # the status last written ...
    written_to: str = ""  # ... to the object with this uid (a mirror Pod may be recreated)
    phase: str = "Pending"  # the runtime's phase after the last sync
    stopper: threading.Thread | None = None  # runs preStop hooks and SIGTERM (real time)
    events_sent: int = 0

    @property
    def uid(self) -> str:
        return self.api_pod["metadata"].get("uid", "")

    @property
    def active(self) -> bool:
        """Counts against the node's resources: admitted, not finished."""
        return self.failure is None and not self.terminating and self.phase not in TERMINAL


class PodWorkers:
    """The per-Pod state machine of one kubelet."""

    def __init__(self, api_client: Any, *, node_name: str, runtime: Any, volumes: VolumeManager,
                 recorder: events.KubeletRecorder | None) -> None:
        self.pods_api = ResourceClient(api_client, PODS)
        self.node_name, self.runtime, self.volumes, self.recorder = \
            node_name, runtime, volumes, recorder
        self.workers: dict[str, PodWorker] = {}
        self.status_writes = 0
        self.deletions = 0

    # --- 1. desired vs actual ------------------------------------------------------------------
    def sync(self, desired: dict[str, Obj], node: Obj, mirrors: dict[str, Obj]) -> None:
        """One pass over every Pod; ``mirrors`` are the API mirror Pods of static Pods."""
        for key, pod in desired.items():
            worker = self.workers.get(key)
            if worker is not None and worker.uid != pod["metadata"].get("uid", ""):
                self._terminate(worker, None)  # same name, new Pod (a StatefulSet's web-0 again)
                self.workers[f"{key}#{worker.uid}"] = self.workers.pop(key)
                worker = None
            if pod["metadata"].get("deletionTimestamp"):
                if worker is None:
                    self._confirm_deletion(pod)
                else:
                    worker.api_pod = _newer(worker.api_pod, pod)
                    self._terminate(worker, pod["metadata"].get("deletionGracePeriodSeconds"))
                continue
            if worker is None:
                if (pod.get("status") or {}).get("phase") in TERMINAL:
                    continue  # finished before we (re)started: nothing left to run
                worker = PodWorker(key, pod, static=_is_static(pod))
                self.workers[key] = worker
                self._admit_and_start(worker, node)
            else:
                worker.api_pod = _newer(worker.api_pod, pod)
        for key, worker in list(self.workers.items()):
            if key not in desired:
                self._terminate(worker, None)  # gone from the API (or the manifest directory)
            self._step(key, worker, node)
        for key, worker in list(self.workers.items()):
            try:
                self._report(worker, mirrors.get(key) if worker.static else worker.api_pod)
            except Exception as err:  # a failed write is retried next pass; the others go on
                log.warning("status of pod %s not written: %s", key, err)

    # --- 2. admission and start ------------------------------------------------------------------
    def _admit_and_start(self, worker: PodWorker, node: Obj) -> None:
        others = [w.api_pod for w in self.workers.values() if w is not worker and w.active]
        rejection: Rejection | None = admit(worker.api_pod, node, others)
        if rejection is not None:
            worker.failure = (rejection.reason, rejection.message)
            self._event(worker, "Warning", rejection.reason, rejection.message)
            return
        self._start(worker)

    def _start(self, worker: PodWorker) -> None:
        pod = worker.api_pod
        simulated = self.runtime.name == "simulated"
        try:
            worker.prepared = self.volumes.prepare(pod, on_disk=not simulated)
        except VolumeError as err:
            if err.retry:
                worker.waiting = ("ContainerCreating", f"MountVolume.SetUp failed: {err}")
                worker.retry_at = self.runtime.clock.now() + VOLUME_RETRY_SECONDS
                self._event(worker, "Warning", "FailedMount", f"MountVolume.SetUp failed: {err}")
            else:
                worker.failure = ("FailedMount", f"Pod was rejected: {err}")
                self._event(worker, "Warning", "FailedMount", str(err))
            return
        try:
            runtime_pod = self.runtime.run_pod(worker.prepared.manifest)
        except (PodSpecError, SandboxError, OSError, ValueError, RuntimeError) as err:
            self.volumes.cleanup(pod)
            worker.failure = ("CreatePodSandboxError", f"Failed to create pod sandbox: {err}")
            self._event(worker, "Warning", "FailedCreatePodSandBox", str(err))
            return
        clock = self.runtime.clock
        runtime_pod.wall_origin = wall_time(clock) - clock.now()  # one time line for API and runtime
        if simulated:
            for volume, files in worker.prepared.files.items():
                for path, text in files.items():
                    runtime_pod.sandbox.files.data[(f"volume:{volume}", "/" + path)] = text
        worker.runtime_pod, worker.waiting = runtime_pod, None

    # --- 3. and 4. running and terminating ----------------------------------------------------------
    def _step(self, key: str, worker: PodWorker, node: Obj) -> None:
        now = self.runtime.clock.now()
        if worker.terminating:
            if worker.stopper is not None and worker.stopper.is_alive():
                return  # preStop hooks still running
            if worker.runtime_pod is None or worker.runtime_pod.finish_termination():
                self._finish(key, worker)
            return
        if worker.runtime_pod is not None and worker.runtime_pod.terminated:
            worker.runtime_pod.finish_termination()  # stopped for its deadline: containers ending
        elif worker.runtime_pod is not None:
            if self._past_deadline(worker, now):
                return
            try:
                worker.runtime_pod.sync()
                worker.phase = worker.runtime_pod.phase
                if worker.prepared is not None and worker.prepared.tokens:
                    self.volumes.rotate_due(worker.api_pod, worker.prepared)
            except Exception:  # one broken Pod must not stop the node
                log.exception("sync of pod %s failed", key)
        elif worker.waiting is not None and now >= worker.retry_at:
            self._start(worker)

    def _past_deadline(self, worker: PodWorker, now: float) -> bool:
        """``activeDeadlineSeconds`` after the start: stop the Pod, phase Failed (DeadlineExceeded)."""
        pod = worker.runtime_pod
        deadline = worker.api_pod.get("spec", {}).get("activeDeadlineSeconds")
        if pod is None or deadline is None or now - pod.created < float(deadline):
            return False
        worker.failure = (DEADLINE_REASON, DEADLINE_MESSAGE)
        self._event(worker, "Normal", DEADLINE_REASON, DEADLINE_MESSAGE)
        pod.begin_termination()
        return True

    def _terminate(self, worker: PodWorker, grace: Any) -> None:
        if worker.terminating:
            return
        worker.terminating = True
        pod = worker.runtime_pod
        if pod is None:
            return
        seconds = None if grace is None else float(grace)
        has_pre_stop = any((c.get("lifecycle") or {}).get("preStop") for c in pod.spec["containers"])
        if has_pre_stop and not getattr(self.runtime.clock, "virtual", False):
            # a preStop hook may take the whole grace period: run it aside, not in the sync loop
            worker.stopper = threading.Thread(target=pod.begin_termination, args=(seconds,),
                                              daemon=True, name=f"prestop-{worker.key}")
            worker.stopper.start()
        else:
            pod.begin_termination(seconds)

    def _finish(self, key: str, worker: PodWorker) -> None:
        """Containers gone: drop the worker, remove its volumes, confirm a graceful deletion."""
        if worker.runtime_pod is not None:
            self._forward_events(worker)
        self.workers.pop(key, None)
        self.volumes.cleanup(worker.api_pod)
        if worker.api_pod["metadata"].get("deletionTimestamp") and not worker.static:
            self._confirm_deletion(worker.api_pod)

    def _confirm_deletion(self, pod: Obj) -> None:
        """``DELETE`` with grace 0: tells the API server the Pod's containers are gone."""
        meta = pod["metadata"]
        try:
            self.pods_api.delete(meta.get("namespace", ""), meta["name"], grace_period_seconds=0,
                                 preconditions={"uid": meta["uid"]} if meta.get("uid") else None)
            self.deletions += 1
        except Exception as err:
            if not is_status(err, 404, 409):
                raise

    # --- 5. status and events ----------------------------------------------------------------------
    def desired_status(self, worker: PodWorker, previous: Obj | None) -> Obj | None:
        now = rfc3339(wall_time(self.runtime.clock))
        if worker.failure is not None:
            failed = status.failed_status(worker.api_pod, *worker.failure, previous=previous, now=now)
            if worker.runtime_pod is not None:  # it ran: keep what its containers did
                ran = worker.runtime_pod.status()
                failed["startTime"] = ran["startTime"]
                failed["containerStatuses"] = ran["containerStatuses"]
            return failed
        if worker.waiting is not None:
            return status.waiting_status(worker.api_pod, *worker.waiting, previous=previous, now=now)
        if worker.runtime_pod is None:
            return None
        return status.running_status(worker.runtime_pod, previous=previous, now=now)

    def _report(self, worker: PodWorker, target: Obj | None) -> None:
        if worker.runtime_pod is not None:
            self._forward_events(worker, target)
        if target is None or target["metadata"].get("deletionTimestamp") and worker.static:
            return
        uid = target["metadata"].get("uid", "")
        previous = worker.written if worker.written is not None and worker.written_to == uid \
            else target.get("status")
        wanted = self.desired_status(worker, previous)
        if wanted is None or status.comparable(wanted) == status.comparable(previous):
            return
        body = copy.deepcopy(target)
        body["status"] = wanted
        for attempt in range(2):
            try:
                written = self.pods_api.update_status(body)
                break
            except Exception as err:
                if is_status(err, 404):
                    return
                if not is_status(err, 409) or attempt == 1:
                    raise
                meta = target["metadata"]
                body = self.pods_api.get(meta.get("namespace", ""), meta["name"])
                if body["metadata"].get("uid") != meta.get("uid"):
                    return
                body["status"] = wanted
        worker.written, worker.written_to = wanted, uid
        self.status_writes += 1
        if not worker.static:
            worker.api_pod = _newer(worker.api_pod, written)

    def _forward_events(self, worker: PodWorker, target: Obj | None = None) -> None:
        assert worker.runtime_pod is not None
        worker.events_sent = events.forward(self.recorder, target or worker.api_pod,
                                            worker.runtime_pod, worker.events_sent, self.node_name)

    def _event(self, worker: PodWorker, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.pod_event(worker.api_pod, type_, reason, message, host=self.node_name)

    # --- the end ------------------------------------------------------------------------------------
    def terminate_all(self) -> None:
        """Stop every Pod now (kubelet shutdown): SIGKILL after a zero grace period."""
        for worker in list(self.workers.values()):
            if worker.stopper is not None:
                worker.stopper.join()
            if worker.runtime_pod is not None:
                if not worker.terminating:
                    worker.runtime_pod.begin_termination(0.0)
                    worker.terminating = True
                while not worker.runtime_pod.finish_termination():
                    self.runtime.clock.sleep(0.01) if not getattr(self.runtime.clock, "virtual",
                                                                  False) else None
            self.volumes.cleanup(worker.api_pod)
        self.workers.clear()


def _is_static(pod: Obj) -> bool:
    return (pod["metadata"].get("annotations") or {}).get("kubernetes.io/config.source") == "file"


def _newer(a: Obj, b: Obj) -> Obj:
    """The more recent of two versions of one object (by resourceVersion)."""
    try:
        return b if int(b["metadata"].get("resourceVersion") or 0) >= \
            int(a["metadata"].get("resourceVersion") or 0) else a
    except (TypeError, ValueError):
        return b

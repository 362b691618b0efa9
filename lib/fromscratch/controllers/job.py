"""The Job controller: run Pods until enough of them succeed, or give up.

Models ``pkg/controller/job/job_controller.go`` on top of the pure
:func:`~fromscratch.controllers.job_progress.job_progress`: set
``status.startTime``, create or delete Pods (with the generated selector's
labels and a controller reference), count active/succeeded/failed, and write
the ``Complete`` or ``Failed`` condition (``BackoffLimitExceeded``,
``DeadlineExceeded``) with ``completionTime``.  A Job with an
``activeDeadlineSeconds`` asks to be reconciled again when the deadline passes.

Simplified: no ``suspend``, no Indexed completion mode, no pod failure policy,
no back-off delay between retries, no ``ttlSecondsAfterFinished``.
"""

from __future__ import annotations

import copy
from typing import Any

from fromscratch.controllers.base import Controller, controller_ref, object_of
from fromscratch.controllers.cache import OWNER_INDEX, split_key
from fromscratch.controllers.client import JOBS, PODS, ResourceClient, is_status
from fromscratch.controllers.expectations import Expectations
from fromscratch.controllers.informer import EventHandler, InformerFactory
from fromscratch.controllers.job_progress import job_progress
from fromscratch.controllers.podutil import format_time, parse_time, pod_from_template

Obj = dict[str, Any]


def finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


class JobController(Controller):
    name = "job"
    resource = JOBS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.pods = self.watch_dependents(PODS)
        self.pod_client = ResourceClient(self.api_client, PODS)
        self.expectations = Expectations(self.clock)
        self.pods.add_event_handler(self._observer())

    def _observer(self) -> EventHandler:
        """Count the creations and deletions we expect as the informer sees them."""

        def key_of(pod: Obj) -> str | None:
            ref = controller_ref(object_of(pod))
            if ref is None or ref.get("kind") != "Job":
                return None
            return f"{object_of(pod)['metadata']['namespace']}/{ref['name']}"

        def added(pod: Obj) -> None:
            if (key := key_of(pod)) is not None:
                self.expectations.creation_observed(key)

        def deleted(pod: Any) -> None:
            if (key := key_of(pod)) is not None:
                self.expectations.deletion_observed(key)

        return EventHandler(on_add=added, on_delete=deleted)

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        job = self.informer.get(namespace, name)
        if job is None or finished(job) or job["metadata"].get("deletionTimestamp"):
            return None
        now = self.clock.wall()
        status = copy.deepcopy(job.get("status") or {})
        started = parse_time(status.get("startTime"))
        if started is None:
            started = now
            status["startTime"] = format_time(now)
        uid = job["metadata"]["uid"]
        pods = [p for p in self.pods.store.by_index(OWNER_INDEX, uid)
                if (controller_ref(p) or {}).get("uid") == uid]
        progress = job_progress(job["spec"], pods, started=started, now=now)
        if self.expectations.satisfied(key):
            self._manage(key, job, pods, progress.create, progress.delete)
        status.update(active=progress.active - progress.delete + progress.create,
                      succeeded=progress.succeeded, failed=progress.failed)
        if progress.finished:
            stamp = format_time(now)
            status["active"] = 0
            status.setdefault("conditions", []).append({
                "type": progress.finished, "status": "True", "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
                **({"reason": progress.reason, "message": progress.message} if progress.reason else {})})
            if progress.finished == "Complete":
                status["completionTime"] = stamp
                self.recorder.event(job, "Normal", "Completed", "Job completed")
            else:
                self.recorder.event(job, "Warning", progress.reason, progress.message)
        if status != (job.get("status") or {}):
            self.client.update_status({**job, "status": status})
        deadline = job["spec"].get("activeDeadlineSeconds")
        if deadline is not None and not progress.finished:
            return max(started + int(deadline) - now, 0.0) + 0.1
        return None

    def _manage(self, key: str, job: Obj, pods: list[Obj], create: int, delete: int) -> None:
        namespace = job["metadata"]["namespace"]
        if create:
            self.expectations.expect(key, adds=create)
            for made in range(create):
                try:
                    pod = self.pod_client.create(namespace, pod_from_template(job["spec"]["template"], job))
                except Exception:
                    for _ in range(create - made):
                        self.expectations.creation_observed(key)
                    raise
                self.recorder.event(job, "Normal", "SuccessfulCreate",
                                    f"Created pod: {pod['metadata']['name']}")
        if delete:
            active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                      and not p["metadata"].get("deletionTimestamp")]
            # the newest first: they have done the least work
            active.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
            self.expectations.expect(key, deletes=min(delete, len(active)))
            for pod in active[:delete]:
                try:
                    self.pod_client.delete(namespace, pod["metadata"]["name"])
                except Exception as err:
                    self.expectations.deletion_observed(key)
                    if not is_status(err, 404):
                        raise

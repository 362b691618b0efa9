"""The CronJob controller: create a Job each time the schedule fires.

Models ``pkg/controller/cronjob/cronjob_controllerv2.go`` (``syncCronJob``):

- the most recent firing since ``status.lastScheduleTime`` (or the CronJob's
  creation) that has not run yet gets a Job named ``<cronjob>-<minutes since the
  epoch>`` — a deterministic name, so a restart never runs the same firing twice;
  older missed firings are skipped, as upstream does;
- a firing more than ``startingDeadlineSeconds`` late is skipped;
- ``concurrencyPolicy``: ``Allow`` runs Jobs side by side, ``Forbid`` skips a
  firing while a Job is still active, ``Replace`` deletes the active Jobs first;
- ``suspend`` stops new Jobs; finished Jobs beyond ``successfulJobsHistoryLimit``
  (3) and ``failedJobsHistoryLimit`` (1) are deleted, oldest first;
- ``status.active`` lists the running Jobs; ``lastScheduleTime`` and
  ``lastSuccessfulTime`` are kept; reconcile asks to run again at the next firing.

Times come from the injected clock (``clock.wall()``), so a test can fast-forward
through a schedule.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from fromscratch.controllers.base import Controller, controller_ref
from fromscratch.controllers.cache import CONTROLLER_INDEX, split_key
from fromscratch.controllers.client import CRONJOBS, JOBS, ResourceClient, is_status
from fromscratch.controllers.cron import fire_times, next_after, parse_schedule, zone
from fromscratch.controllers.informer import InformerFactory
from fromscratch.controllers.job import finished
from fromscratch.controllers.podutil import format_time, owner_reference, parse_time

Obj = dict[str, Any]
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def job_name(cronjob: str, scheduled: datetime) -> str:
    return f"{cronjob}-{int(scheduled.timestamp()) // 60}"


def job_succeeded(job: Obj) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


class CronJobController(Controller):
    name = "cronjob"
    resource = CRONJOBS

    def __init__(self, factory: InformerFactory, **kwargs: Any) -> None:
        super().__init__(factory, **kwargs)
        self.jobs = self.watch_dependents(JOBS)
        self.job_client = ResourceClient(self.api_client, JOBS)

    def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        cj = self.informer.get(namespace, name)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return None
        spec = cj["spec"]
        tz = zone(spec.get("timeZone"))
        schedule = parse_schedule(spec["schedule"])
        now = datetime.fromtimestamp(self.clock.wall(), UTC).astimezone(tz)
        uid = cj["metadata"]["uid"]
        jobs = [j for j in self.jobs.store.by_index(CONTROLLER_INDEX, uid)
                if (controller_ref(j) or {}).get("uid") == uid]
        active = [j for j in jobs if not finished(j) and not j["metadata"].get("deletionTimestamp")]
        status = copy.deepcopy(cj.get("status") or {})
        since_text = status.get("lastScheduleTime") or cj["metadata"].get("creationTimestamp")
        since = datetime.fromtimestamp(parse_time(since_text) or self.clock.wall(), UTC).astimezone(tz)
        due = fire_times(schedule, since, now)
        if due and not spec.get("suspend"):
            scheduled = due[-1]  # only the most recent missed firing runs
            late = (now - scheduled).total_seconds()
            deadline = spec.get("startingDeadlineSeconds")
            policy = spec.get("concurrencyPolicy", "Allow")
            if deadline is not None and late > int(deadline):
                pass  # missed its starting window: skip this firing
            elif policy == "Forbid" and active:
                # the previous Job still runs: skip this firing
                self.recorder.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior "
                                    "execution is running and concurrency policy is Forbid")
            else:
                if policy == "Replace":
                    for job in active:
                        self._delete(job)
                    active = []
                created = self._create_job(cj, scheduled)
                self.recorder.event(cj, "Normal", "SuccessfulCreate",
                                    f"Created job {created['metadata']['name']}")
                active.append(created)
                status["lastScheduleTime"] = format_time(scheduled.timestamp())
        self._cleanup_history(cj, jobs)
        status["active"] = [{"kind": "Job", "apiVersion": "batch/v1", "namespace": namespace,
                             "name": j["metadata"]["name"], "uid": j["metadata"]["uid"]} for j in active]
        successes = [parse_time((j.get("status") or {}).get("completionTime")) for j in jobs
                     if job_succeeded(j)]
        if any(successes):
            status["lastSuccessfulTime"] = format_time(max(t for t in successes if t))
        if not status["active"]:
            status.pop("active")
        if status != (cj.get("status") or {}):
            self.client.update_status({**cj, "status": status})
        # look again at the next firing
        return max((next_after(schedule, now) - now).total_seconds(), 0.0)

    def _create_job(self, cj: Obj, scheduled: datetime) -> Obj:
        template = copy.deepcopy(cj["spec"].get("jobTemplate") or {})
        meta = template.get("metadata") or {}
        body = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job_name(cj["metadata"]["name"], scheduled),
                             "labels": dict(meta.get("labels") or {}),
                             "annotations": {**(meta.get("annotations") or {}),
                                             SCHEDULED_AT: format_time(scheduled.timestamp())},
                             "ownerReferences": [owner_reference(cj)]},
                "spec": template.get("spec") or {}}
        try:
            return self.job_client.create(cj["metadata"]["namespace"], body)
        except Exception as err:
            if not is_status(err, 409):
                raise
            # already created for this firing (we restarted, or the cache was behind)
            return self.job_client.get(cj["metadata"]["namespace"], body["metadata"]["name"])

    def _delete(self, job: Obj) -> None:
        try:
            self.job_client.delete(job["metadata"]["namespace"], job["metadata"]["name"],
                                   propagation_policy="Background")
        except Exception as err:
            if not is_status(err, 404):
                raise

    def _cleanup_history(self, cj: Obj, jobs: list[Obj]) -> None:
        for succeeded, limit_field, default in ((True, "successfulJobsHistoryLimit", 3),
                                                (False, "failedJobsHistoryLimit", 1)):
            limit = cj["spec"].get(limit_field, default)
            if limit is None:
                continue
            done = [j for j in jobs if finished(j) and job_succeeded(j) == succeeded
                    and not j["metadata"].get("deletionTimestamp")]
            done.sort(key=lambda j: (j["metadata"].get("annotations") or {}).get(SCHEDULED_AT, ""))
            for job in done[:max(len(done) - int(limit), 0)]:
                self._delete(job)

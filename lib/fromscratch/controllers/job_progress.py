"""A Job's progress: how many Pods to run, and whether it has finished.

Models the decisions of ``pkg/controller/job/job_controller.go``
(``syncJob``, ``manageJob``, ``pastBackoffLimitOnFailure``, ``pastActiveDeadline``):

- with ``completions`` N, the Job is **Complete** after N Pods Succeeded, and
  runs ``min(parallelism, N - succeeded)`` Pods at a time;
- without ``completions`` (a work queue), it runs ``parallelism`` Pods until one
  succeeds, then lets the others finish and is Complete when none is active;
- more than ``backoffLimit`` failed Pods -> **Failed**, reason ``BackoffLimitExceeded``;
- running longer than ``activeDeadlineSeconds`` -> **Failed**, reason
  ``DeadlineExceeded``; either way the active Pods are deleted.

Simplified: failures are counted from the Pods that exist (upstream tracks them
with finalizers so deleted Pods still count); no pod failure policy, no
Indexed completion mode, and no exponential delay between retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fromscratch.exercises import pluggable

Obj = dict[str, Any]


@dataclass(frozen=True)
class JobProgress:
    active: int
    succeeded: int
    failed: int
    create: int = 0  # Pods to start now
    delete: int = 0  # active Pods to stop now
    finished: str = ""  # "", "Complete" or "Failed"
    reason: str = ""
    message: str = ""


@pluggable("job_progress")
def job_progress(spec: Obj, pods: list[Obj], *, started: float | None = None,
                 now: float = 0.0) -> JobProgress:
    """Where a Job with ``spec`` stands given its ``pods`` (and when it started)."""
    phases = [(p.get("status") or {}).get("phase") for p in pods
              if not (p.get("metadata") or {}).get("deletionTimestamp")]
    succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
    active = len(phases) - succeeded - failed
    completions, parallelism = spec.get("completions"), int(spec.get("parallelism", 1))
    backoff_limit = int(spec.get("backoffLimit", 6))
    if parallelism < 0 or backoff_limit < 0 or (completions is not None and completions < 0):
        raise ValueError("parallelism, completions and backoffLimit must not be negative")
    counts = {"active": active, "succeeded": succeeded, "failed": failed}
    # failure first: a Job past its limits stops whatever still runs
    if failed > backoff_limit:
        return JobProgress(**counts, delete=active, finished="Failed", reason="BackoffLimitExceeded",
                           message="Job has reached the specified backoff limit")
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and started is not None and now - started >= int(deadline):
        return JobProgress(**counts, delete=active, finished="Failed", reason="DeadlineExceeded",
                           message="Job was active longer than specified deadline")
    if completions is None:
        # a work queue: done once one Pod succeeded and the rest have finished
        if succeeded > 0:
            done = active == 0
            return JobProgress(**counts, finished="Complete" if done else "")
        want = parallelism
    else:
        if succeeded >= completions:
            return JobProgress(**counts, delete=active, finished="Complete")
        want = min(parallelism, completions - succeeded)
    return JobProgress(**counts, create=max(want - active, 0), delete=max(active - want, 0))

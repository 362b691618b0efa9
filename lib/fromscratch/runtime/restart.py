"""Restart policy and the kubelet's crash-loop back-off.

A Pod's ``restartPolicy`` (``Always``, ``OnFailure``, ``Never``) applies to all
its containers.  When a container exits, the kubelet restarts it — or not —
and waits longer after each crash, as the Pod lifecycle page documents:
"an exponential back-off delay (10s, 20s, 40s, …), that is capped at five
minutes.  Once a container has executed for 10 minutes without any problems,
the kubelet resets the restart backoff timer for that container."
While it waits the container shows ``waiting: {reason: CrashLoopBackOff}``.

Simplified: the kubelet's implementation (``flowcontrol.Backoff`` keyed on the
container's finish time) restarts the very first crash at once; we follow the
documented sequence, so the first restart waits 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fromscratch.exercises import pluggable

RestartPolicy = Literal["Always", "OnFailure", "Never"]
POLICIES = ("Always", "OnFailure", "Never")
INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
RESET_AFTER = 600.0


def check_policy(policy: str) -> RestartPolicy:
    if policy not in POLICIES:
        raise ValueError(f"unsupported restartPolicy {policy!r}: expected one of {', '.join(POLICIES)}")
    return policy  # type: ignore[return-value]


def should_restart(policy: str, exit_code: int) -> bool:
    """Does ``restartPolicy`` restart a container that exited with ``exit_code``?"""
    check_policy(policy)
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


@pluggable("next_backoff")
def next_backoff(previous: float | None, ran_for: float) -> float:
    """The delay before the next restart of a container that just exited.

    ``previous``: the delay used before its last restart (None if it never crashed
    before); ``ran_for``: how long it ran, in seconds, before this exit.
    10 s the first time, then doubling, capped at 300 s; back to 10 s once it has
    run for 10 minutes (600 s) or more without problems.
    """
    if ran_for < 0:
        raise ValueError(f"ran_for cannot be negative, got {ran_for}")
    if previous is None or ran_for >= RESET_AFTER:
        return INITIAL_BACKOFF
    return min(previous * 2, MAX_BACKOFF)


@dataclass
class BackOff:
    """The back-off of each container of a pod, by container name."""

    delays: dict[str, float] = field(default_factory=dict)

    def on_exit(self, name: str, ran_for: float) -> float:
        """Record an exit; return how long to wait before restarting."""
        delay = next_backoff(self.delays.get(name), ran_for)
        self.delays[name] = delay
        return delay

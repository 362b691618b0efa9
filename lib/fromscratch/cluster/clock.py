"""One virtual clock for a whole simulated cluster: controllers, scheduler and kubelets agree on time.

The controllers and the scheduler wait on a
:class:`~fromscratch.controllers.clock.FakeClock`; the simulated container
runtime sleeps on a clock with ``now()`` and ``sleep()``
(:class:`~fromscratch.runtime.clock.FakeClock`).  :class:`VirtualClock` is both,
so one :meth:`~fromscratch.cluster.Cluster.advance` moves every component's
time together: a Lease renewed by a kubelet at virtual time *t* is judged by the
node lifecycle controller on the same time line.

It starts at the real wall-clock time, so the timestamps it puts into objects
(``renewTime``, ``lastHeartbeatTime`` …) look like today's, and then only moves
when told to.
"""

from __future__ import annotations

import time

from fromscratch.controllers.clock import FakeClock


class VirtualClock(FakeClock):
    """Virtual seconds since the epoch; :meth:`advance` (or a runtime's ``sleep``) moves it."""

    virtual = True

    def __init__(self, start: float | None = None) -> None:
        super().__init__(time.time() if start is None else start)

    def sleep(self, seconds: float) -> None:
        """What a simulated runtime calls to let time pass: it passes at once."""
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"<VirtualClock {time.strftime('%H:%M:%S', time.gmtime(self.now()))}>"

"""The background loop shared by metrics-server and the load generator."""

from __future__ import annotations

import threading
import time

import pytest

from fromscratch.autoscaling.periodic import Periodic


class Counter(Periodic):
    name = "counter"

    def __init__(self, interval: float, fail_first: int = 0) -> None:
        super().__init__(interval)
        self.ticks, self.fail_first = 0, fail_first

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks <= self.fail_first:
            raise OSError("the kubelet did not answer")


def test_a_failed_tick_is_retried_at_the_next_one():
    with Counter(0.01, fail_first=3) as counter:
        deadline = time.monotonic() + 5
        while counter.ticks < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert counter.running
    assert counter.ticks >= 6


def test_stop_ends_the_thread_and_can_be_called_twice():
    counter = Counter(0.01).start()
    counter.stop()
    counter.stop()
    assert not counter.running
    assert not any(t.name == "counter" for t in threading.enumerate())
    ticks = counter.ticks
    time.sleep(0.05)
    assert counter.ticks == ticks


@pytest.mark.parametrize("interval", [0, -1])
def test_the_interval_must_be_positive(interval):
    with pytest.raises(ValueError, match="interval must be positive"):
        Counter(interval)

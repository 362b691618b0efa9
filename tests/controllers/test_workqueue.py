"""The workqueue: dedup, one worker per key, delays and back-off on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    WorkQueue,
    default_controller_rate_limiter,
)


def test_adding_a_waiting_key_twice_queues_it_once():
    # the dirty set: a burst of events for one object is one reconcile
    queue = WorkQueue()
    for _ in range(5):
        queue.add("default/web")
    queue.add("default/db")
    assert len(queue) == 2
    assert queue.get(timeout=0) == ("default/web", False)
    assert queue.get(timeout=0) == ("default/db", False)


def test_a_key_being_processed_is_not_handed_out_again_until_done():
    # a key is never processed by two workers at once
    queue = WorkQueue()
    queue.add("k")
    key, _ = queue.get(timeout=0)
    queue.add("k")  # changed while a worker holds it
    assert len(queue) == 0
    assert queue.get(timeout=0) == (None, False)
    queue.done(key)
    assert queue.get(timeout=0) == ("k", False)


def test_done_without_a_new_add_does_not_requeue():
    queue = WorkQueue()
    queue.add("k")
    key, _ = queue.get(timeout=0)
    queue.done(key)
    assert len(queue) == 0


def test_two_workers_never_hold_the_same_key_concurrently():
    queue = WorkQueue()
    holding: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            key, shutdown = queue.get()
            if shutdown:
                return
            with lock:
                if key in holding:
                    overlaps.append(key)
                holding.add(key)
            time.sleep(0.001)
            with lock:
                holding.discard(key)
            queue.done(key)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(400):
        queue.add(f"key-{i % 3}")
    time.sleep(0.2)
    queue.shutdown()
    for thread in threads:
        thread.join(5)
    assert overlaps == []


def test_shutdown_wakes_a_blocked_get():
    queue = WorkQueue()
    result = []
    thread = threading.Thread(target=lambda: result.append(queue.get()))
    thread.start()
    time.sleep(0.05)
    queue.shutdown()
    thread.join(2)
    assert result == [(None, True)]


def test_add_after_releases_the_key_when_the_fake_clock_reaches_it():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    queue.add_after("k", 10)
    assert len(queue) == 0 and queue.waiting() == 1
    clock.advance(9.9)
    assert len(queue) == 0
    clock.advance(0.1)
    assert len(queue) == 1 and queue.waiting() == 0


def test_add_after_keeps_the_earlier_ready_time():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    queue.add_after("k", 10)
    queue.add_after("k", 3)
    queue.add_after("k", 20)
    clock.advance(3)
    assert queue.get(timeout=0) == ("k", False)
    queue.done("k")
    clock.advance(30)
    assert len(queue) == 0  # the stale heap entries do not fire again


def test_blocked_get_wakes_when_a_delayed_key_becomes_ready():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    result = []
    thread = threading.Thread(target=lambda: result.append(queue.get()))
    thread.start()
    queue.add_after("k", 5)
    time.sleep(0.05)
    assert result == []
    clock.advance(5)
    thread.join(2)
    assert result == [("k", False)]


def test_exponential_back_off_doubles_from_5ms_and_caps_at_1000s():
    # client-go's ItemExponentialFailureRateLimiter(5ms, 1000s)
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    delays = [limiter.when("k") for _ in range(6)]
    assert delays == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16]
    for _ in range(30):
        limiter.when("k")
    assert limiter.when("k") == 1000.0
    assert limiter.retries("k") == 37
    assert limiter.when("other") == 0.005  # per item


def test_forget_resets_the_back_off():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    assert queue.add_rate_limited("k") == pytest.approx(0.005)
    assert queue.add_rate_limited("k") == pytest.approx(0.01)
    assert queue.num_requeues("k") == 2
    queue.forget("k")
    assert queue.num_requeues("k") == 0
    assert queue.add_rate_limited("k") == pytest.approx(0.005)


def test_bucket_limiter_allows_a_burst_then_paces_at_qps():
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=3, clock=clock)
    assert [bucket.when(i) for i in range(3)] == [0, 0, 0]
    assert bucket.when(3) == pytest.approx(0.1)
    assert bucket.when(4) == pytest.approx(0.2)
    clock.advance(1.0)  # refills (and pays back the reservations)
    assert bucket.when(5) == 0


def test_default_limiter_is_the_larger_of_per_item_and_overall():
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock)
    # 100 distinct keys use the burst; the 101st waits for the 10 qps bucket
    assert all(limiter.when(f"k{i}") == 0.005 for i in range(100))
    assert limiter.when("k100") == pytest.approx(0.1)


def test_a_shut_down_queue_ignores_adds():
    queue = WorkQueue()
    queue.shutdown()
    queue.add("k")
    queue.add_after("k", 1)
    assert len(queue) == 0 and queue.get() == (None, True)

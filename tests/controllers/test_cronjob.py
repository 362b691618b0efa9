"""Cron schedules (robfig/cron semantics, the documentation's examples) and the CronJob controller."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from fromscratch.controllers.base import ControllerManager
from fromscratch.controllers.client import CRONJOBS, JOBS, ResourceClient
from fromscratch.controllers.clock import FakeClock
from fromscratch.controllers.cron import CronError, fire_times, next_after, parse_schedule, zone
from fromscratch.controllers.cronjob import CronJobController
from tests.controllers.helpers import wait_for

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def nexts(schedule: str, start: datetime, count: int) -> list[str]:
    parsed, times, when = parse_schedule(schedule), [], start
    for _ in range(count):
        when = next_after(parsed, when)
        times.append(when.strftime("%a %d %H:%M"))
    return times


def test_every_five_minutes():
    assert nexts("*/5 * * * *", JAN_1.replace(minute=3), 3) == ["Mon 01 00:05", "Mon 01 00:10",
                                                                  "Mon 01 00:15"]


def test_documentation_example_friday_and_the_13th():
    # docs: "0 0 13 * 5" runs every Friday at midnight, and also on the 13th of each month
    assert nexts("0 0 13 * 5", JAN_1, 4) == ["Fri 05 00:00", "Fri 12 00:00", "Sat 13 00:00",
                                            "Fri 19 00:00"]


def test_day_of_week_restricted_alone_must_match():
    assert nexts("30 2 * * mon-fri", JAN_1.replace(day=5, hour=3), 2) == ["Mon 08 02:30", "Tue 09 02:30"]


@pytest.mark.parametrize(("macro", "expected"), [
    ("@hourly", "Mon 01 01:00"), ("@daily", "Tue 02 00:00"), ("@midnight", "Tue 02 00:00"),
    ("@weekly", "Sun 07 00:00"), ("@monthly", "Thu 01 00:00"), ("@yearly", "Wed 01 00:00"),
])
def test_macros(macro, expected):
    assert nexts(macro, JAN_1, 1) == [expected]


def test_seven_is_sunday_and_names_are_case_insensitive():
    assert parse_schedule("0 0 * JAN 7").weekdays == frozenset({0})
    assert parse_schedule("0 0 * jan sun").months == frozenset({1})


def test_steps_ranges_and_lists():
    schedule = parse_schedule("0-10/5,30 9-17/4 1,15 */3 *")
    assert schedule.minutes == frozenset({0, 5, 10, 30})
    assert schedule.hours == frozenset({9, 13, 17})
    assert schedule.days == frozenset({1, 15})
    assert schedule.months == frozenset({1, 4, 7, 10})


@pytest.mark.parametrize(("text", "problem"), [
    ("* * * *", "5 fields"), ("60 * * * *", "minute: 60 is out of range"),
    ("* 24 * * *", "hour"), ("* * 0 * *", "day of month"), ("* * * 13 *", "month"),
    ("* * * * 8", "day of week"), ("*/0 * * * *", "bad step"), ("5-1 * * * *", "backwards"),
    ("@every 5m", "unknown macro"), ("CRON_TZ=UTC 0 * * * *", "spec.timeZone"), ("x * * * *", "number"),
])
def test_bad_schedules_name_the_problem(text, problem):
    with pytest.raises(CronError, match=problem):
        parse_schedule(text)


def test_time_zone_shifts_the_firing():
    tokyo = zone("Asia/Tokyo")
    evening = datetime(2023, 12, 31, 12, 0, tzinfo=UTC).astimezone(tokyo)  # 21:00 in Tokyo
    when = next_after(parse_schedule("0 9 * * *"), evening)
    assert when.astimezone(UTC).strftime("%d %H:%M") == "01 00:00"  # 09:00 in Tokyo
    with pytest.raises(CronError, match="time zone"):
        zone("Mars/Olympus")


def test_fire_times_lists_missed_runs_in_order():
    times = fire_times(parse_schedule("0 * * * *"), JAN_1, JAN_1.replace(hour=3))
    assert [t.hour for t in times] == [1, 2, 3]


def test_an_impossible_date_never_fires():
    with pytest.raises(CronError, match="never fires"):
        next_after(parse_schedule("0 0 30 2 *"), JAN_1)


# --- the controller, on a fake clock ----------------------------------------------------------------
def complete(api, ns: str, name: str) -> None:
    jobs = ResourceClient(api, JOBS)
    job = jobs.get(ns, name)
    job["status"] = {"succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True"}], "completionTime": job["metadata"]["creationTimestamp"]}
    jobs.update_status(job)


def test_cronjob_creates_one_job_per_firing_and_forbid_skips_while_one_runs(api, ns):
    boundary = (int(time.time()) // 60 + 1) * 60
    clock = FakeClock(start=boundary - 20)
    cronjobs, jobs = ResourceClient(api, CRONJOBS), ResourceClient(api, JOBS)
    with ControllerManager(api, controllers=[CronJobController], namespace=ns, clock=clock):
        cronjobs.create(ns, {"metadata": {"name": "report"}, "spec": {
            "schedule": "* * * * *", "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox"}]}}}}}})
        time.sleep(0.3)
        assert jobs.list(ns)["items"] == []  # not yet time
        clock.advance(20)
        first = f"report-{boundary // 60}"
        wait_for(lambda: [j["metadata"]["name"] for j in jobs.list(ns)["items"]] == [first],
                 message="the first Job")
        wait_for(lambda: cronjobs.get(ns, "report")["status"].get("active"), message="status.active")
        clock.advance(60)  # Forbid: the first Job still runs, this firing is skipped
        time.sleep(0.3)
        assert [j["metadata"]["name"] for j in jobs.list(ns)["items"]] == [first]
        # the Job finishes: the firing Forbid skipped is still the most recent one due, so it
        # runs now (upstream does not move lastScheduleTime when it skips)
        complete(api, ns, first)
        second = f"report-{boundary // 60 + 1}"
        wait_for(lambda: second in [j["metadata"]["name"] for j in jobs.list(ns)["items"]],
                 message="the skipped firing's Job")
        complete(api, ns, second)
        # successfulJobsHistoryLimit 1: the older finished Job goes
        wait_for(lambda: [j["metadata"]["name"] for j in jobs.list(ns)["items"]
                          if not j["metadata"].get("deletionTimestamp")] == [second],
                 message="history trimmed")
        status = wait_for(lambda: "active" not in (s := cronjobs.get(ns, "report")["status"]) and s,
                          message="no active Job in the status")
        assert status["lastSuccessfulTime"]

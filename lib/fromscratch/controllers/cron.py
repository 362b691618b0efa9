"""Cron schedules: parse ``"*/5 * * * *"`` and find the times it fires.

Models the standard parser of ``github.com/robfig/cron/v3``, which the CronJob
controller uses (``pkg/controller/cronjob/utils.go``), and the Kubernetes
documentation's "Schedule syntax":

- five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
  ``jan``-``dec``), day of week (0-6 or ``sun``-``sat``, 7 is Sunday too);
- each field: ``*``, ``?`` (as ``*``), a value, a range ``a-b``, a step ``*/n`` or
  ``a-b/n`` or ``a/n`` (from a to the end), and lists ``a,b,c``;
- macros ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``) and ``@hourly``;
- **day of month and day of week**: if either is ``*``, both must match; if both
  are restricted, *either* may match (``0 0 13 * 5``: every Friday *and* every 13th).

Times are in ``spec.timeZone`` (an IANA name) or UTC.  Bad schedules raise
:class:`CronError` naming the field.  Simplified: around a daylight-saving
change, local times that do not exist (or exist twice) are not special-cased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CronError(ValueError):
    """A schedule that does not parse."""


MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}
MONTHS = {name: i + 1 for i, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names)
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, DAYS))


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_star: bool
    weekdays_star: bool

    def matches(self, when: datetime) -> bool:
        weekday = (when.weekday() + 1) % 7  # Python: Monday = 0; cron: Sunday = 0
        day_ok, weekday_ok = when.day in self.days, weekday in self.weekdays
        # subtle: both restricted -> either may match; otherwise both must
        days = day_ok and weekday_ok if self.days_star or self.weekdays_star else day_ok or weekday_ok
        return (when.minute in self.minutes and when.hour in self.hours
                and when.month in self.months and days)


def _value(text: str, field: tuple) -> int:
    name, low, high, names = field
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number" + (f" or a name ({', '.join(names)})"
                                                                if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is out of range {low}-{high}")
    return value


def _field(text: str, field: tuple) -> tuple[frozenset[int], bool]:
    name, low, high, _ = field
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty list element in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: bad step {step_text!r}")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
            star = star or not step_text
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, field), _value(last, field)
            if start > end:
                raise CronError(f"{name}: range {base!r} goes backwards")
        else:
            start = _value(base, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def parse_schedule(text: str) -> Schedule:
    """Parse a five-field schedule or a macro."""
    text = MACROS.get(text.strip().lower(), text.strip())
    if text.startswith("@"):
        raise CronError(f"unknown macro {text!r} (known: {', '.join(MACROS)})")
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError("time zones go in spec.timeZone, not in the schedule")
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"a schedule has 5 fields (minute hour day-of-month month day-of-week), "
                        f"got {len(parts)} in {text!r}")
    parsed = [_field(part, field) for part, field in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in parsed[4][0])  # 7 is Sunday too
    return Schedule(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], weekdays,
                    days_star=parsed[2][1], weekdays_star=parsed[4][1])


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r}") from None


def next_after(schedule: Schedule, after: datetime) -> datetime:
    """The first time strictly after ``after`` (an aware datetime) that the schedule fires."""
    when = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = when + timedelta(days=366 * 5)
    while when < limit:
        if when.month not in schedule.months:
            # jump to the first day of the next month
            when = (when.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        if not _day_matches(schedule, when):
            when = when.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if when.hour not in schedule.hours:
            when = when.replace(minute=0) + timedelta(hours=1)
            continue
        if when.minute not in schedule.minutes:
            when += timedelta(minutes=1)
            continue
        return when
    raise CronError("the schedule never fires (e.g. February 30th)")


def _day_matches(schedule: Schedule, when: datetime) -> bool:
    probe = when.replace(hour=min(schedule.hours), minute=min(schedule.minutes))
    return schedule.matches(probe)


def fire_times(schedule: Schedule, since: datetime, until: datetime, limit: int = 100) -> list[datetime]:
    """Every firing in ``(since, until]``, at most ``limit`` (the controller's "too many missed")."""
    times: list[datetime] = []
    when = since
    while len(times) <= limit:
        when = next_after(schedule, when)
        if when > until:
            break
        times.append(when)
    return times

"""When a list's digest goes out: "daily 07:00" or "weekly mon 08:00" in a named time zone.

Schedules are wall-clock times in the list's zone, so 07:00 stays 07:00 across DST changes
(DESIGN principle 8). Two wall-clock times need a rule: one that does not exist (inside a
spring-forward gap) runs at the first valid instant after the gap, i.e. when the clocks
jump; an ambiguous one (inside a fall-back overlap) runs at its first occurrence only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import BadInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SYNTAX = re.compile(r"^(daily|weekly\s+(?P<day>[a-z]+))\s+(?P<h>\d{1,2}):(?P<m>\d{2})$")


@dataclass(frozen=True)
class Schedule:
    at: time
    weekday: int | None = None      # 0 = Monday; None: every day

    def __str__(self) -> str:
        clock = self.at.strftime("%H:%M")
        return f"daily {clock}" if self.weekday is None else f"weekly {WEEKDAYS[self.weekday]} {clock}"


def parse_schedule(text: str) -> Schedule:
    """Parse "daily HH:MM" or "weekly <mon..sun|monday..sunday> HH:MM" (any case)."""
    match = _SYNTAX.match(" ".join((text or "").lower().split()))
    if not match:
        raise BadInput(f"schedule: {text!r} is not like 'daily 07:00' or 'weekly mon 08:00'")
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise BadInput(f"schedule: {text!r} has no such time of day")
    weekday = None
    if match["day"] is not None:
        day = match["day"]
        if day in WEEKDAYS:
            weekday = WEEKDAYS.index(day)
        elif day in _FULL_DAYS:
            weekday = _FULL_DAYS.index(day)
        else:
            raise BadInput(f"schedule: {match['day']!r} is not a weekday (mon … sun)")
    return Schedule(at=time(hour, minute), weekday=weekday)


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"timezone: unknown time zone {tz!r}") from None


def next_run(schedule: Schedule, after: datetime, tz: str) -> datetime:
    """The first run strictly after `after` (an aware datetime), as an aware UTC datetime."""
    if after.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    place = zone(tz)
    day = after.astimezone(place).date()
    # Eight days always reach the next weekly slot; one more covers a run earlier
    # today (in local terms) that has already passed.
    for offset in range(-1, 9):
        candidate_day = day + timedelta(days=offset)
        if schedule.weekday is not None and candidate_day.weekday() != schedule.weekday:
            continue
        instant = local_instant(candidate_day, schedule.at, place)
        if instant > after:
            return instant
    raise AssertionError("unreachable: a daily or weekly slot exists within eight days")


def local_instant(day: date, at: time, place: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `place`, with the gap and overlap
    rules of this module."""
    wall = datetime.combine(day, at, tzinfo=place)        # fold=0: first occurrence
    instant = wall.astimezone(timezone.utc)
    if instant.astimezone(place).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _gap_end(wall, place)


def _gap_end(wall: datetime, place: ZoneInfo) -> datetime:
    """The instant the clocks jump past a wall time that does not exist.

    Read with the offsets before and after the jump, the wall time brackets the
    transition; bisect to the second between them where the zone's offset changes."""
    early = wall.replace(fold=1).astimezone(timezone.utc)   # read with the later offset
    late = wall.replace(fold=0).astimezone(timezone.utc)    # read with the earlier offset
    lo, hi = min(early, late), max(early, late)
    before = lo.astimezone(place).utcoffset()
    # Bisect whole seconds: zone transitions fall on whole seconds.
    low, high = 0, int((hi - lo).total_seconds())
    while high - low > 1:
        mid = (low + high) // 2
        if (lo + timedelta(seconds=mid)).astimezone(place).utcoffset() == before:
            low = mid
        else:
            high = mid
    return lo + timedelta(seconds=high)

"""When a share post may go out: an account's posting rules as pure arithmetic.

Rules: at most `max_per_hour` posts in any rolling hour, at least `min_gap` between two
posts, none inside quiet hours (local time of the account's zone, so a 22:00–07:00 quiet
night stays 22:00–07:00 across DST changes).

Each rule forbids intervals of time around the posts already taken: the gap forbids
(t - gap, t + gap) around each post t; the rate forbids, for every run of `max_per_hour`
consecutive posts spanning less than an hour, (last - 1 h, first + 1 h). A `Timeline`
keeps the taken times sorted, so asking about one instant looks only at the posts within
reach of it (bisect), and the search jumps from one forbidden interval's end to the next:
the cost is the number of posts between `earliest` and the answer, not the account's
whole history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from bot.errors import BadInput

HOUR = timedelta(hours=1)
# A time this far in the past is a typo or a stale form, not "now": refused, not posted at once.
PAST_GRACE = timedelta(minutes=1)
# Further ahead than this is a typo too (9999-12-31 made the slot arithmetic overflow).
MAX_AHEAD = timedelta(days=366)


def check_post_time(at: datetime, now: datetime) -> datetime:
    """An editor's chosen time for a post, as every way in (dashboard, API, CLI) checks it:
    with a time zone, not past, at most a year ahead. BadInput says which."""
    if at.tzinfo is None:
        raise BadInput("the time needs a time zone")
    if at < now - PAST_GRACE:
        raise BadInput(f"{at:%Y-%m-%d %H:%M %Z} has passed; pick a later time")
    if at > now + MAX_AHEAD:
        raise BadInput(f"{at:%Y-%m-%d %H:%M %Z} is more than a year ahead; pick an earlier time")
    return at


@dataclass(frozen=True)
class PostingRules:
    max_per_hour: int = 4
    min_gap: timedelta = timedelta(minutes=10)
    quiet_start: time | None = None
    quiet_end: time | None = None
    tz: str = "UTC"


def parse_clock(value: str | None, field: str) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{field}: {value!r} is not a time like 22:00") from None


def in_quiet_hours(when: datetime, rules: PostingRules) -> bool:
    if rules.quiet_start is None or rules.quiet_end is None:
        return False
    local = when.astimezone(ZoneInfo(rules.tz)).time()
    start, end = rules.quiet_start, rules.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # quiet across midnight


def _quiet_end_after(when: datetime, rules: PostingRules) -> datetime:
    """The first instant at or after `when` outside quiet hours."""
    zone = ZoneInfo(rules.tz)
    local = when.astimezone(zone)
    candidate = datetime.combine(local.date(), rules.quiet_end, tzinfo=zone)
    if candidate.astimezone(timezone.utc) <= when:
        candidate = datetime.combine(local.date() + timedelta(days=1), rules.quiet_end, tzinfo=zone)
    return candidate.astimezone(timezone.utc)


class Timeline:
    """One account's taken slots (sent or still to go), sorted, with its rules."""

    def __init__(self, rules: PostingRules, taken: Iterable[datetime] = ()) -> None:
        self.rules = rules
        self._times = sorted(taken)
        # Posts further than this from an instant cannot conflict with a post there.
        self._reach = max(HOUR, rules.min_gap)

    def __len__(self) -> int:
        return len(self._times)

    def add(self, when: datetime) -> None:
        insort(self._times, when)

    def remove(self, when: datetime) -> None:
        """Give a slot back (a post moved elsewhere); a time not taken is an error."""
        i = bisect_left(self._times, when)
        if i == len(self._times) or self._times[i] != when:
            raise ValueError(f"{when.isoformat()} is not a taken slot")
        del self._times[i]

    def next_slot(self, earliest: datetime) -> datetime:
        """The earliest time ≥ `earliest` that keeps every rule."""
        slot = earliest
        # Each round passes a quiet night or at least one taken post; the bound only
        # stops rules that leave no room at all (a quiet window of a whole day) looping.
        for _ in range(2 * len(self._times) + 10_000):
            if in_quiet_hours(slot, self.rules):
                slot = _quiet_end_after(slot, self.rules)
                continue
            blocked_until = self._blocked_until(slot)
            if blocked_until is None:
                return slot
            slot = blocked_until
        raise BadInput("posting rules leave no free slot (check max per hour and quiet hours)")

    def place(self, earliest: datetime) -> datetime:
        """next_slot, and take it."""
        slot = self.next_slot(earliest)
        self.add(slot)
        return slot

    def _blocked_until(self, slot: datetime) -> datetime | None:
        """None if `slot` breaks neither the gap nor the rate; else the end of the latest
        forbidden interval containing it (every instant up to there is forbidden too, so
        jumping there skips no free slot)."""
        times, rules = self._times, self.rules
        near = times[bisect_right(times, slot - self._reach):bisect_left(times, slot + self._reach)]
        end: datetime | None = None
        for t in near:
            if abs(t - slot) < rules.min_gap and (end is None or t + rules.min_gap > end):
                end = t + rules.min_gap
        limit = rules.max_per_hour
        if limit > 0:
            hour = [t for t in near if abs(t - slot) < HOUR]
            for first, last in zip(hour, hour[limit - 1:]):
                # `limit` posts plus one at `slot` inside one hour: one too many.
                if max(last, slot) - min(first, slot) < HOUR and (end is None or first + HOUR > end):
                    end = first + HOUR
        return end


def next_slot(earliest: datetime, taken: Iterable[datetime], rules: PostingRules) -> datetime:
    """The earliest time ≥ `earliest` that keeps every rule, given the account's other
    posts (`taken`, sent or scheduled, in any order). For many slots in a row on one
    account, keep a `Timeline` instead: this sorts `taken` on every call."""
    return Timeline(rules, taken).next_slot(earliest)

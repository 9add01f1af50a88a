"""The scheduler's next_slot as it was before issue 10 (super-linear: every pass scanned and
sorted all `taken`), kept only as the reference the property tests compare the new one
with (and bench/schedule.py times). Its rules, unchanged:

Rules: at most `max_per_hour` posts in any rolling hour, at least `min_gap` between two
posts, none inside quiet hours (local time of the account's zone, so a 22:00–07:00 quiet
night stays 22:00–07:00 across DST changes).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.posting import PostingRules, _quiet_end_after, in_quiet_hours
from bot.errors import BadInput


def next_slot(earliest: datetime, taken: list[datetime], rules: PostingRules) -> datetime:
    """The earliest time ≥ `earliest` that keeps every rule, given the account's other
    posts (`taken`, sent or scheduled)."""
    hour = timedelta(hours=1)
    slot = earliest
    # Each pass moves the slot forward past one conflict; a few hundred passes cover
    # any realistic backlog, and the bound keeps bad rules from looping forever.
    for _ in range(10_000):
        if in_quiet_hours(slot, rules):
            slot = _quiet_end_after(slot, rules)
            continue
        close = [t for t in taken if abs(t - slot) < rules.min_gap]
        if close:
            slot = max(close) + rules.min_gap
            continue
        window = sorted(t for t in taken if slot - hour < t <= slot + hour)
        if rules.max_per_hour > 0 and _over_rate(slot, window, rules.max_per_hour):
            slot = _after_rate(slot, window, rules.max_per_hour)
            continue
        return slot
    raise BadInput("posting rules leave no free slot (check max per hour and quiet hours)")


def _over_rate(slot: datetime, window: list[datetime], limit: int) -> bool:
    """Would a post at `slot` put more than `limit` posts in some hour containing it?"""
    hour = timedelta(hours=1)
    points = sorted(window + [slot])
    for start in points:
        if start <= slot < start + hour and sum(start <= t < start + hour for t in points) > limit:
            return True
    return False


def _after_rate(slot: datetime, window: list[datetime], limit: int) -> datetime:
    """Just after the oldest post whose hour is full, so the rolling window has room."""
    hour = timedelta(hours=1)
    earlier = sorted(t for t in window if t <= slot)
    if len(earlier) >= limit:
        return earlier[-limit] + hour
    return slot + timedelta(minutes=1)

"""Posting rules: rate per hour, minimum gap, quiet hours across DST."""

from datetime import datetime, time, timedelta, timezone

import pytest

from bot.domain.posting import PostingRules, Timeline, in_quiet_hours, next_slot, parse_clock
from bot.errors import BadInput

UTC = timezone.utc
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_free_account_posts_at_once():
    assert next_slot(T0, [], PostingRules()) == T0


def test_minimum_gap_pushes_the_slot():
    rules = PostingRules(min_gap=timedelta(minutes=15), max_per_hour=10)
    assert next_slot(T0, [T0 - timedelta(minutes=5)], rules) == T0 + timedelta(minutes=10)
    assert next_slot(T0, [T0 + timedelta(minutes=5)], rules) == T0 + timedelta(minutes=20)


def test_at_most_n_per_rolling_hour():
    rules = PostingRules(max_per_hour=2, min_gap=timedelta(minutes=1))
    taken = [T0 - timedelta(minutes=30), T0 - timedelta(minutes=20)]
    slot = next_slot(T0, taken, rules)
    assert slot == T0 + timedelta(minutes=30)
    # Whatever the slot, no rolling hour holds more than two posts.
    everything = sorted(taken + [slot])
    for start in everything:
        assert sum(start <= t < start + timedelta(hours=1) for t in everything) <= 2


def test_many_posts_spread_out_and_keep_every_rule():
    rules = PostingRules(max_per_hour=3, min_gap=timedelta(minutes=10))
    taken: list[datetime] = []
    for _ in range(12):
        taken.append(next_slot(T0, taken, rules))
    taken.sort()
    assert all(b - a >= timedelta(minutes=10) for a, b in zip(taken, taken[1:]))
    for start in taken:
        assert sum(start <= t < start + timedelta(hours=1) for t in taken) <= 3


def test_quiet_hours_across_midnight_in_local_time():
    rules = PostingRules(quiet_start=time(22), quiet_end=time(7), tz="Europe/Paris")
    late = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)  # 23:30 in Paris (UTC+1)
    assert in_quiet_hours(late, rules)
    assert next_slot(late, [], rules) == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # 07:00 Paris


def test_quiet_hours_follow_dst():
    rules = PostingRules(quiet_start=time(22), quiet_end=time(7), tz="Europe/Paris")
    # Night of the spring change (29 March 2026): 07:00 Paris is 05:00 UTC (UTC+2).
    night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert next_slot(night, [], rules) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # A day earlier (UTC+1) the same local 07:00 is 06:00 UTC.
    assert next_slot(night - timedelta(days=1), [], rules) == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)


def test_parse_clock_names_the_field():
    assert parse_clock("07:30", "quiet_end") == time(7, 30)
    assert parse_clock(None, "quiet_end") is None
    with pytest.raises(BadInput, match="quiet_start"):
        parse_clock("late", "quiet_start")


def test_an_hour_is_half_open_so_posts_an_hour_apart_leave_room_between():
    # Two per hour, posts at 12:00 and 13:00: 12:30 puts two in [12:00, 13:00) and two in
    # [12:30, 13:30), never three.
    rules = PostingRules(max_per_hour=2, min_gap=timedelta(minutes=10))
    taken = [T0, T0 + timedelta(hours=1)]
    assert next_slot(T0 + timedelta(minutes=30), taken, rules) == T0 + timedelta(minutes=30)


def test_a_long_backlog_is_walked_from_a_cursor_not_rescanned():
    # 2,000 posts in a row on one account: each search starts at the previous slot, so the
    # whole run looks at each post a bounded number of times (timings: bench/schedule.py).
    rules = PostingRules(max_per_hour=4, min_gap=timedelta(minutes=10))
    timeline, cursor = Timeline(rules), T0
    slots = [cursor := timeline.place(cursor) for _ in range(2000)]
    assert slots[:5] == [T0 + timedelta(minutes=m) for m in (0, 10, 20, 30)] + [T0 + timedelta(hours=1)]
    assert slots[-1] == T0 + timedelta(hours=499, minutes=30)
    assert len(timeline) == 2000

"""List schedules: parsing, and next runs that keep local time across DST changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from bot.domain.schedules import Schedule, next_run, parse_schedule
from bot.errors import BadInput

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("text, expected, canonical", [
    ("daily 07:00", Schedule(time(7, 0)), "daily 07:00"),
    ("Daily 7:05", Schedule(time(7, 5)), "daily 07:05"),
    ("weekly mon 08:00", Schedule(time(8, 0), 0), "weekly mon 08:00"),
    ("weekly Monday 08:00", Schedule(time(8, 0), 0), "weekly mon 08:00"),
    ("  WEEKLY   sun   23:59 ", Schedule(time(23, 59), 6), "weekly sun 23:59"),
])
def test_parse(text, expected, canonical):
    assert parse_schedule(text) == expected
    assert str(parse_schedule(text)) == canonical
    assert parse_schedule(canonical) == expected


@pytest.mark.parametrize("text, needle", [
    ("hourly", "not like"), ("daily", "not like"), ("daily 24:00", "no such time"),
    ("daily 07:60", "no such time"), ("weekly 08:00", "not like"), ("weekly someday 08:00", "weekday"),
    ("", "not like"), ("daily 7", "not like"),
])
def test_bad_schedules_say_what_is_wrong(text, needle):
    with pytest.raises(BadInput, match=needle):
        parse_schedule(text)


def test_daily_in_utc():
    s = parse_schedule("daily 07:00")
    assert next_run(s, utc(2026, 11, 28, 6, 59), "UTC") == utc(2026, 11, 28, 7, 0)
    assert next_run(s, utc(2026, 11, 28, 7, 0), "UTC") == utc(2026, 11, 29, 7, 0)   # strictly after
    assert next_run(s, utc(2026, 11, 28, 12, 0), "UTC") == utc(2026, 11, 29, 7, 0)


def test_daily_keeps_local_time_across_dst():
    s = parse_schedule("daily 07:00")
    # Paris: UTC+1 in winter, UTC+2 in summer; 07:00 local either way.
    assert next_run(s, utc(2026, 3, 28, 12), "Europe/Paris") == utc(2026, 3, 29, 5, 0)
    assert next_run(s, utc(2026, 3, 27, 12), "Europe/Paris") == utc(2026, 3, 28, 6, 0)
    assert next_run(s, utc(2026, 10, 24, 12), "Europe/Paris") == utc(2026, 10, 25, 6, 0)


def test_weekly():
    s = parse_schedule("weekly mon 08:00")
    # Saturday 28 Nov 2026 → Monday 30 Nov, 08:00 New York (UTC-5).
    assert next_run(s, utc(2026, 11, 28, 12), "America/New_York") == utc(2026, 11, 30, 13, 0)
    # Exactly at a run: the next one is a week later.
    assert next_run(s, utc(2026, 11, 30, 13), "America/New_York") == utc(2026, 12, 7, 13, 0)
    # Monday local but still Sunday in UTC terms is handled in local time.
    assert next_run(s, utc(2026, 11, 30, 3), "Asia/Tokyo") == utc(2026, 12, 6, 23, 0)


def test_a_time_in_the_spring_forward_gap_runs_when_the_clocks_jump():
    s = parse_schedule("daily 02:30")
    # Paris, 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 does not exist.
    run = next_run(s, utc(2026, 3, 28, 12), "Europe/Paris")
    assert run == utc(2026, 3, 29, 1, 0)
    # The day after is ordinary again: 02:30 CEST.
    assert next_run(s, run, "Europe/Paris") == utc(2026, 3, 30, 0, 30)


def test_gap_at_midnight():
    # Santiago springs forward at 24:00 on 5 September 2026: 00:30 on the 6th does not exist.
    s = parse_schedule("daily 00:30")
    assert next_run(s, utc(2026, 9, 5, 12), "America/Santiago") == utc(2026, 9, 6, 4, 0)


def test_an_ambiguous_time_runs_once_at_its_first_occurrence():
    s = parse_schedule("daily 02:30")
    # Paris, 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    first = next_run(s, utc(2026, 10, 24, 12), "Europe/Paris")
    assert first == utc(2026, 10, 25, 0, 30)
    assert next_run(s, first, "Europe/Paris") == utc(2026, 10, 26, 1, 30)


def test_runs_over_a_year_are_daily_and_local():
    s = parse_schedule("daily 07:00")
    when, runs = utc(2026, 1, 1), []
    for _ in range(365):
        when = next_run(s, when, "Europe/Paris")
        runs.append(when)
    from zoneinfo import ZoneInfo

    assert all(r.astimezone(ZoneInfo("Europe/Paris")).time() == time(7, 0) for r in runs)
    assert len({r.astimezone(ZoneInfo("Europe/Paris")).date() for r in runs}) == 365
    assert {b - a for a, b in zip(runs, runs[1:])} == {timedelta(hours=23), timedelta(hours=24),
                                                        timedelta(hours=25)}


def test_unknown_zone_and_naive_datetime():
    with pytest.raises(BadInput, match="Mars/Olympus"):
        next_run(parse_schedule("daily 07:00"), utc(2026, 1, 1), "Mars/Olympus")
    with pytest.raises(ValueError):
        next_run(parse_schedule("daily 07:00"), datetime(2026, 1, 1), "UTC")

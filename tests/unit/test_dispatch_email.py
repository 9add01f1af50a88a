"""Which slot of a list's schedule is due: the latest one, once (pure schedule arithmetic)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.services.dispatch_email import latest_slot

UTC = timezone.utc


def test_a_missed_run_is_due_once_the_latest_only():
    now = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    three_days_down = now - timedelta(days=3)
    assert latest_slot("daily 07:00", "UTC", three_days_down, now) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_nothing_is_due_before_the_first_run_after_the_last_edition():
    now = datetime(2026, 11, 30, 6, 59, tzinfo=UTC)
    last = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    assert latest_slot("daily 07:00", "UTC", last, now) is None
    assert latest_slot("daily 07:00", "UTC", last, now + timedelta(minutes=1)) == now + timedelta(minutes=1)


def test_weekly_and_local_time_across_the_spring_change():
    # Paris moved to summer time on 2026-03-29: 07:00 local is 05:00 UTC from then on.
    now = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    week_ago = now - timedelta(days=7)
    assert latest_slot("daily 07:00", "Europe/Paris", week_ago, now) == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)
    assert latest_slot("weekly fri 07:00", "Europe/Paris", week_ago, now) == datetime(2026, 3, 27, 6, 0, tzinfo=UTC)

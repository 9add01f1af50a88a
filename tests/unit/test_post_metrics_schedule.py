"""The decaying schedule of count fetches (bot.domain.post_metrics), pure arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.post_metrics import deferred_fetch_at, first_fetch_at, next_fetch_at

SENT = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def test_fetches_thin_out_1_6_24_72_hours_then_stop():
    assert first_fetch_at(SENT) == SENT + H
    at, seen = first_fetch_at(SENT), []
    while at is not None:
        seen.append(at - SENT)
        at = next_fetch_at(SENT, at)
    assert seen == [H, 6 * H, 24 * H, 72 * H]


def test_a_late_fetch_skips_the_steps_it_missed():
    # A backlog or a long 429 made the 6-hour fetch happen at 30 h: next is 72 h, not 24 h.
    assert next_fetch_at(SENT, SENT + 30 * H) == SENT + 72 * H
    assert next_fetch_at(SENT, SENT + 100 * H) is None
    # An old post (sent before counts existed) gets one fetch and no more.
    assert next_fetch_at(SENT, SENT + 365 * 24 * H) is None


def test_a_refused_fetch_waits_for_the_named_reset_or_the_fallback():
    now = SENT + H
    assert deferred_fetch_at(now, 600.0, timedelta(minutes=15)) == now + timedelta(seconds=600)
    assert deferred_fetch_at(now, None, timedelta(minutes=15)) == now + timedelta(minutes=15)
    assert deferred_fetch_at(now, 0.2, timedelta(minutes=15)) == now + timedelta(seconds=1)

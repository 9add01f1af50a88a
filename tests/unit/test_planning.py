"""The pure parts of planning: times as editors type them, run keys in URLs, a schedule's
runs in a range, days in the site's zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.errors import BadInput
from bot.services import planning
from bot.store.mailing import MailingList

UTC = timezone.utc


def paris_list(schedule: str | None = "daily 07:00") -> MailingList:
    return MailingList(name="morning", schedule=schedule, timezone="Europe/Paris")


def test_a_typed_time_is_read_in_the_site_zone():
    assert planning.parse_local("2026-12-01T08:00", "Europe/Paris") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert planning.parse_local("2026-07-01T08:00", "Europe/Paris") == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    # 02:30 does not exist on 2026-03-29 in Paris: it is when the clocks jump (01:00 UTC).
    assert planning.parse_local("2026-03-29T02:30", "Europe/Paris") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert planning.parse_local("2026-12-01T08:00+00:00", "Europe/Paris") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01T08:00", "08:00"])
def test_a_typed_time_that_is_not_one_says_what_is_expected(text):
    with pytest.raises(BadInput, match="is not a date and time like 2026-11-29T08:00"):
        planning.parse_local(text, "Europe/Paris")


def test_run_keys_round_trip_through_urls():
    slot = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert planning.slot_key(slot) == "2026-12-01T06:00Z"
    assert planning.parse_slot(planning.slot_key(slot)) == slot
    with pytest.raises(BadInput):
        planning.parse_slot("2026-12-01T06:00")   # no zone: ambiguous
    with pytest.raises(BadInput):
        planning.parse_slot("soon")


def test_runs_in_a_range_follow_the_list_zone_across_the_autumn_change():
    start = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    runs = planning.runs(paris_list(), start, start + timedelta(days=3))
    # 07:00 in Paris: 05:00 UTC in summer time, 06:00 UTC after 2026-10-25.
    assert runs == [datetime(2026, 10, 24, 5, 0, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC),
                    datetime(2026, 10, 26, 6, 0, tzinfo=UTC)]
    assert planning.runs(paris_list(), runs[0], runs[0] + timedelta(seconds=1)) == [runs[0]]  # start included
    assert planning.runs(paris_list(None), start, start + timedelta(days=3)) == []
    assert planning.runs(paris_list("every so often"), start, start + timedelta(days=3)) == []


def test_is_run():
    assert planning.is_run(paris_list(), datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert not planning.is_run(paris_list(), datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    assert planning.is_run(paris_list("weekly tue 07:00"), datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert not planning.is_run(paris_list("weekly wed 07:00"), datetime(2026, 12, 1, 6, 0, tzinfo=UTC))


def test_days_are_the_site_zone_days():
    late = {"when": datetime(2026, 11, 30, 23, 30, tzinfo=UTC)}     # already Dec 1 in Paris
    early = {"when": datetime(2026, 11, 30, 6, 0, tzinfo=UTC)}
    assert planning.by_local_day([early, late], "Europe/Paris") == [
        (date(2026, 11, 30), [early]), (date(2026, 12, 1), [late])]
    start, end = planning.day_range(date(2026, 10, 25), 1, "Europe/Paris")
    assert (start, end) == (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), datetime(2026, 10, 25, 23, 0, tzinfo=UTC))

"""Digests and backfill (issue 10): an article first seen in a list's window goes out only
if it was published within the window (one schedule period of grace); a feed of 2019
stories added today is archive, not news. An article of unknown date counts as new."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.services import digests, subscribers
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus
from tests.integration.test_share_scheduling import add_articles


def daily_list(settings) -> None:
    subscribers.add_list(settings, "morning", title="The Morning Gazette",
                         from_email="news@gazette.example.org", from_name="Gazette",
                         schedule="daily 07:00", timezone="UTC")
    subscribers.add_confirmed(settings, "reader@example.net", "morning")


def carried(settings, edition_id: int | None) -> list[int]:
    if edition_id is None:
        return []
    with session_scope(settings.effective_database_url) as s:
        return [a["id"] for a in s.get(Edition, edition_id).content["articles"]]


def test_a_first_edition_after_adding_a_feed_of_2019_stories_mails_none_of_them(settings):
    daily_list(settings)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    add_articles(settings, [datetime(2019, 6, 1, tzinfo=timezone.utc) + timedelta(days=i)
                            for i in range(50)], first_seen=now - timedelta(minutes=5))
    assert digests.build_edition(settings, "morning", scheduled_for=now, now=now) is None
    with session_scope(settings.effective_database_url) as s:
        [edition] = s.query(Edition).all()
        assert edition.status == EditionStatus.SKIPPED


def test_recent_late_and_undated_articles_go_out_backfill_does_not(settings):
    daily_list(settings)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    seen = now - timedelta(minutes=5)
    fresh, late, undated, backfill = add_articles(
        settings, [now - timedelta(hours=2),
                   now - timedelta(hours=30),   # published before the window, within its grace
                   None,                        # no date found: first seen now
                   now - timedelta(days=9)], first_seen=seen)
    edition_id = digests.build_edition(settings, "morning", scheduled_for=now, now=now)
    assert sorted(carried(settings, edition_id)) == sorted([fresh, late, undated])
    assert backfill not in carried(settings, edition_id)

"""The first run's examples and the recency window (issue 10): the files are dated 2024,
so the first run dates them as news to show posts and a digest; ingested any other way
they are backfill and nothing is shared."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.resources import examples_dir
from bot.services import shares
from bot.services.firstrun import first_run
from bot.services.ingest import ingest_targets
from bot.store.db import session_scope
from bot.store.models import Article, SharePost


def dates(settings) -> dict[str, datetime]:
    with session_scope(settings.effective_database_url) as s:
        return {a.guid or a.url: a.published_at for a in s.scalars(select(Article))}


def test_the_first_run_dates_the_examples_as_news_in_their_own_order(sqlite_settings):
    settings = sqlite_settings
    before = datetime.now(timezone.utc)
    seeded = first_run(settings)
    assert seeded is not None and seeded.edition is not None
    found = dates(settings)
    assert len(found) == 9
    assert all(before - timedelta(hours=4) <= when <= before for when in found.values())
    # The feed's items keep their order: 14 May's story is still newer than 10 May's.
    assert found["harbour-gazette-10421"] > found["harbour-gazette-10407"]
    now = datetime.now(timezone.utc)
    assert shares.schedule_new_articles(settings, now=now) == 9 * len(seeded.accounts)
    with session_scope(settings.effective_database_url) as s:
        first_slots = s.scalars(select(SharePost).where(SharePost.scheduled_at <= now)).all()
        assert len(first_slots) == len(seeded.accounts)   # one post per account right away


def test_the_examples_ingested_by_hand_are_backfill_and_not_shared(sqlite_settings):
    settings = sqlite_settings
    shares.add_account(settings, "gazette-x", "x")
    ingest_targets(settings, [str(examples_dir()), str(examples_dir() / "feed.xml")])
    # Only the .txt story has no date of its own: it counts from when it was first seen.
    assert shares.schedule_new_articles(settings) == 1
    with session_scope(settings.effective_database_url) as s:
        [post] = s.scalars(select(SharePost)).all()
        assert not s.get(Article, post.article_id).published_known

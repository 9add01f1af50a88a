"""A dispatch tick never stalls (issue 10): 20,000 new articles are scheduled in bounded,
committed chunks over several ticks, and a digest and a poll that are due meanwhile go out
in the very first tick. Real Redis broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.services import dispatch, share_scheduling, shares
from bot.store.db import session_scope
from bot.store.dispatch import DispatchTick
from bot.store.models import PostState, SharePost, SocialAccount, Source, SourceKind
from bot.tasks import enqueuer
from tests.integration.test_orchestration_email import daily_at, scheduled_list
from tests.integration.test_share_scheduling import add_articles
from tests.support.orchestration import queued  # noqa: F401  (fixture)

ARTICLES = 20_000


def test_twenty_thousand_new_articles_never_stall_a_tick(queued):
    settings = queued
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for platform in ("x", "mastodon"):
        account_id = shares.add_account(settings, f"gazette-{platform}", platform)
        # A year's window: every one of the 20,000 can be shared (at 4 an hour, 208 days),
        # so every one is scheduled. (With the default 48 h, ~190 can; the rest are not
        # even read.)
        share_scheduling.set_recency_hours(settings, account_id, 24 * 365)
    with session_scope(settings.effective_database_url) as s:
        for account in s.scalars(select(SocialAccount)):
            account.created_at = now - timedelta(days=1)
        s.add(Source(kind=SourceKind.FEED, url="https://feeds.example.org/rss", poll_interval=900,
                     failure_count=0, next_poll_at=now - timedelta(minutes=1)))
    # A pressbot ingest of a big folder: all first seen now, published over the last day.
    add_articles(settings, [now - timedelta(seconds=4 * i) for i in range(ARTICLES)], first_seen=now)
    list_id = scheduled_list(settings, daily_at(now - timedelta(minutes=2)), created_days_ago=1,
                             readers=1)
    enqueue = enqueuer(settings)

    first = dispatch.run_tick(settings, enqueue, now=now)
    # The tick did its bounded share of scheduling and then everything else that was due.
    assert first.acted and first.scheduling_left
    assert first.enqueued["edition"] == [list_id]
    assert len(first.enqueued["source"]) == 1
    assert len(first.enqueued["post"]) == 2   # the newest story, on each account, at once

    ticks = [first]
    while ticks[-1].scheduling_left:
        assert len(ticks) < 40, "scheduling does not come to an end"
        ticks.append(dispatch.run_tick(settings, enqueue, now=now + timedelta(minutes=len(ticks))))

    with session_scope(settings.effective_database_url) as s:
        recorded = list(s.scalars(select(DispatchTick).order_by(DispatchTick.id)))
        states = dict(s.execute(select(SharePost.state, func.count()).group_by(SharePost.state)).all())
    # Every tick finished, none failed, none redid another's work.
    assert len(recorded) == len(ticks)
    assert all(t.finished_at is not None and t.error is None for t in recorded)
    # Each of the 20,000 articles got one post per account, each scheduled once.
    assert states == {PostState.SCHEDULED: 2 * ARTICLES}
    assert sum(t.scheduled for t in recorded) == 2 * ARTICLES
    # Each tick took its budget of chunks (of share_chunk articles each) until none was
    # left: 2 accounts × 20,000 / 500 = 80 chunks.
    chunks = [t.scheduling_chunks for t in ticks]
    assert sum(chunks) == 2 * ARTICLES // settings.share_chunk
    assert set(chunks[:-1]) == {settings.share_chunks_per_tick}
    assert chunks[-1] <= settings.share_chunks_per_tick
    assert sum(t.scheduling_chunks for t in ticks) == 2 * ARTICLES // settings.share_chunk

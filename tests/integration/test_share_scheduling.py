"""Scheduling share posts (issue 10): the recency window, newest-first slotting, the reach
of an account's queue, and bounded committed chunks — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from bot.services import share_edits, share_scheduling, shares
from bot.services.share_scheduling import OUT_OF_REACH, schedule_pass
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, SocialAccount, Source, SourceKind

NOW = datetime(2026, 11, 28, 11, 15, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def add_account(settings, name="gazette-x", **rules) -> int:
    account_id = shares.add_account(settings, name, "x", **rules)
    with session_scope(settings.effective_database_url) as s:  # in place before the articles
        s.get(SocialAccount, account_id).created_at = NOW - timedelta(days=30)
    return account_id


def add_articles(settings, published: list[datetime | None], *, first_seen: datetime = NOW,
                 prefix: str = "a") -> list[int]:
    """Articles as ingest stores them (bulk, for volume): None is "date unknown", which
    ingest records as published_known false with the first-seen time as published_at."""
    with session_scope(settings.effective_database_url) as s:
        source = s.scalar(select(Source).where(Source.url == "test:feed"))
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        start = s.scalar(select(func.count(Article.id))) or 0
        rows = [{"source_id": source.id, "guid": f"{prefix}{start + i}", "url": f"https://news.example.org/{prefix}{start + i}",
                 "title": f"Story {start + i}", "summary": "", "body_html": "", "categories": [],
                 "published_at": when or first_seen, "published_known": when is not None,
                 "content_hash": f"{prefix}{start + i}", "revision": 0, "first_seen_at": first_seen}
                for i, when in enumerate(published)]
        s.execute(insert(Article), rows)
        return list(s.scalars(select(Article.id).where(Article.guid.in_([r["guid"] for r in rows]))
                              .order_by(Article.id)))


def posts(settings, account_id: int | None = None) -> dict[int, SharePost]:
    """article id → its post (detached copies of the rows)."""
    with session_scope(settings.effective_database_url) as s:
        query = select(SharePost)
        if account_id is not None:
            query = query.where(SharePost.account_id == account_id)
        found = {p.article_id: p for p in s.scalars(query)}
        s.expunge_all()
        return found


# -- Recency window ------------------------------------------------------------------------------


def test_only_articles_within_the_window_are_shared(settings):
    account = add_account(settings)
    fresh, day_old, backfilled, ancient = add_articles(
        settings, [NOW - HOUR, NOW - timedelta(hours=30), NOW - timedelta(hours=49),
                   datetime(2019, 3, 1, tzinfo=timezone.utc)])
    assert shares.schedule_new_articles(settings, now=NOW) == 2
    found = posts(settings, account)
    assert set(found) == {fresh, day_old}
    assert all(p.state == PostState.SCHEDULED for p in found.values())
    # Backfilled articles have no post at all: they stay in the archive, nothing to skip.
    assert shares.schedule_new_articles(settings, now=NOW + HOUR) == 0


def test_an_article_of_unknown_date_counts_from_when_it_was_first_seen(settings):
    account = add_account(settings)
    [seen_now] = add_articles(settings, [None], first_seen=NOW - HOUR)
    [seen_long_ago] = add_articles(settings, [None], first_seen=NOW - timedelta(days=5), prefix="b")
    assert shares.schedule_new_articles(settings, now=NOW) == 1
    assert set(posts(settings, account)) == {seen_now}
    assert seen_long_ago not in posts(settings)


def test_an_account_can_have_its_own_window(settings):
    default = add_account(settings, "gazette-x")
    weekly = add_account(settings, "gazette-weekly")
    share_scheduling.set_recency_hours(settings, weekly, 24 * 7)
    [three_days_old] = add_articles(settings, [NOW - timedelta(days=3)])
    shares.schedule_new_articles(settings, now=NOW)
    assert three_days_old in posts(settings, weekly)
    assert three_days_old not in posts(settings, default)
    listed = {a["name"]: a["recency_hours"] for a in shares.list_accounts(settings)}
    assert listed == {"gazette-x": 48, "gazette-weekly": 168}


def test_a_first_pass_on_a_feed_of_2019_stories_posts_nothing(settings):
    add_account(settings)
    add_articles(settings, [datetime(2019, 5, 1, tzinfo=timezone.utc) + timedelta(days=i)
                            for i in range(100)])
    assert shares.schedule_new_articles(settings, now=NOW) == 0
    assert posts(settings) == {}


# -- Newest first --------------------------------------------------------------------------------


def test_a_breaking_story_goes_first_and_the_backlog_moves_later(settings):
    account = add_account(settings, max_per_hour=4, min_gap_minutes=10)
    # A morning backlog: 30 stories published 08:00–10:54, scheduled at 10:00.
    morning = NOW.replace(hour=8, minute=0)
    backlog = add_articles(settings, [morning + timedelta(minutes=6 * i) for i in range(30)])
    ten = NOW.replace(hour=10, minute=0)
    assert shares.schedule_new_articles(settings, now=ten) == 30
    before = {a: p.scheduled_at for a, p in posts(settings, account).items()}
    # Newest first inside the backlog too: the 10:54 story has the 10:00 slot.
    assert before[backlog[-1]] == ten and before[backlog[0]] == max(before.values())
    # By 11:15 the 10:00–11:10 posts went out; an editor pinned one backlog post at 13:00.
    with session_scope(settings.effective_database_url) as s:
        for post in s.scalars(select(SharePost).where(SharePost.scheduled_at < NOW)):
            post.state, post.sent_at = PostState.SENT, post.scheduled_at
    pinned_article = backlog[5]
    share_edits.reschedule_share(settings, posts(settings)[pinned_article].id,
                                 NOW.replace(hour=13), now=NOW)

    [breaking] = add_articles(settings, [NOW], first_seen=NOW, prefix="breaking")
    assert shares.schedule_new_articles(settings, now=NOW) == 1
    after = posts(settings, account)
    # Sent posts took 10:00, 10:10, 10:20, 10:30, 11:00 and 11:10: the gap after 11:10 and
    # the hour from 10:20 both end at 11:20, so 11:20 it is (it was the backlog's next
    # slot), not a 21:14-style slot behind the whole backlog.
    assert after[breaking].scheduled_at == NOW.replace(minute=20)
    assert after[pinned_article].scheduled_at == NOW.replace(hour=13)
    waiting = sorted((p for a, p in after.items() if p.state == PostState.SCHEDULED
                      and not p.pinned and a != breaking), key=lambda p: p.scheduled_at)
    assert waiting and all(p.scheduled_at > after[breaking].scheduled_at for p in waiting)
    # The unsent backlog keeps newest first, and every post still keeps the rules.
    published = {a: morning + timedelta(minutes=6 * i) for i, a in enumerate(backlog)}
    assert [published[p.article_id] for p in waiting] == sorted(
        (published[p.article_id] for p in waiting), reverse=True)
    slots = sorted(p.scheduled_at for p in after.values() if p.state != PostState.SKIPPED)
    assert all(b - a >= timedelta(minutes=10) for a, b in zip(slots, slots[1:]))
    assert all(sum(s <= t < s + HOUR for t in slots) <= 4 for s in slots)


def test_an_article_older_than_the_queue_waits_behind_newer_ones(settings):
    account = add_account(settings, max_per_hour=4, min_gap_minutes=10)
    newer = add_articles(settings, [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4, 5)])
    shares.schedule_new_articles(settings, now=NOW)
    [late_arrival] = add_articles(settings, [NOW - timedelta(hours=20)], prefix="late")
    shares.schedule_new_articles(settings, now=NOW)
    found = posts(settings, account)
    assert found[late_arrival].scheduled_at > max(found[a].scheduled_at for a in newer)
    assert {found[a].scheduled_at for a in newer} == {NOW, NOW + timedelta(minutes=10),
                                                     NOW + timedelta(minutes=20),
                                                     NOW + timedelta(minutes=30), NOW + HOUR}


# -- Reach ---------------------------------------------------------------------------------------


def test_a_queue_never_reaches_past_an_articles_window(settings):
    account = add_account(settings, max_per_hour=4, min_gap_minutes=10)
    ids = add_articles(settings, [NOW - timedelta(minutes=i) for i in range(300)])
    scheduled = shares.schedule_new_articles(settings, now=NOW)
    found = posts(settings, account)
    assert 180 <= scheduled <= 4 * 48 and len(found) == scheduled
    published = dict(zip(ids, (NOW - timedelta(minutes=i) for i in range(300))))
    assert all(p.scheduled_at <= published[p.article_id] + timedelta(hours=48) for p in found.values())
    # The newest got the slots; the oldest could not have gone out within their window.
    assert set(found) == set(ids[:scheduled])
    assert shares.schedule_new_articles(settings, now=NOW + HOUR) == 0


def test_a_queued_post_pushed_past_its_window_by_newer_ones_is_skipped_saying_why(settings):
    account = add_account(settings, max_per_hour=1, min_gap_minutes=10)
    older, old = add_articles(settings, [NOW - timedelta(hours=46, minutes=30),
                                         NOW - timedelta(hours=46)])
    shares.schedule_new_articles(settings, now=NOW)
    assert posts(settings, account)[old].scheduled_at == NOW
    assert posts(settings, account)[older].scheduled_at == NOW + HOUR   # window ends at +1.5 h
    [breaking] = add_articles(settings, [NOW], prefix="breaking")
    shares.schedule_new_articles(settings, now=NOW)
    found = posts(settings, account)
    assert found[breaking].scheduled_at == NOW + HOUR
    assert found[older].state == PostState.SKIPPED
    assert found[older].last_error == OUT_OF_REACH.format(hours=48)


# -- Chunks --------------------------------------------------------------------------------------


def test_a_pass_does_a_bounded_number_of_committed_chunks_and_every_account_gets_a_turn(settings):
    accounts = [add_account(settings, f"acct-{i}", max_per_hour=60, min_gap_minutes=1)
                for i in range(3)]
    add_articles(settings, [NOW - timedelta(minutes=i) for i in range(45)])
    passes = []
    while True:
        report = schedule_pass(settings, NOW, chunk=10, max_chunks=4)
        passes.append(report)
        # Committed as it goes: what a pass reports is in the database already.
        assert sum(len(posts(settings, a)) for a in accounts) == sum(p.scheduled for p in passes)
        if not report.more:
            break
    assert passes[0].chunks == 4 and passes[0].scheduled == 40   # three accounts, one more
    assert all(p.chunks <= 4 for p in passes)
    assert [len(posts(settings, a)) for a in accounts] == [45, 45, 45]
    assert len(passes) == 4   # 15 chunks of work (5 per account) plus the empty last look


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_accounts_add_takes_a_recency_window_and_refuses_a_bad_one(tmp_path):
    from tests.integration.test_cli import run

    home = tmp_path / "data"
    added = run(home, "accounts", "add", "weekly", "--platform", "mastodon", "--recency-hours", "168")
    assert added.returncode == 0, added.stderr
    refused = run(home, "accounts", "add", "never", "--platform", "x", "--recency-hours", "0")
    assert refused.returncode == 2 and "--recency-hours" in refused.stderr
    listed = json.loads(run(home, "accounts", "list", "--json").stdout)
    assert [(a["name"], a["recency_hours"]) for a in listed] == [("weekly", 168)]

"""Share posts end to end through the outbox publisher: scheduling by rules, exactly once
per (article, account), concurrent publishers, re-share, and the CLI's compose."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

from bot.domain.articles import ArticleDraft
from bot.services import shares
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, Source, SourceKind

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def add_articles(settings, n: int, start: int = 0, summary: str = "The ferry runs again.") -> list[int]:
    with session_scope(settings.effective_database_url) as s:
        source = s.query(Source).filter_by(url="test:feed").one_or_none()
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        drafts = [ArticleDraft(title=f"Story {i} about the harbour", url=f"https://news.example.org/{i}",
                               guid=f"g{i}", summary=summary, categories=("City",),
                               published=NOW, language="en") for i in range(start, start + n)]
        return [r.article.id for r in store_drafts(s, source, drafts, now=NOW)]


def outbox_lines(settings, platform: str) -> list[dict]:
    path = settings.home / "outbox" / "social" / f"{platform}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_new_articles_are_scheduled_once_per_account_within_the_rules(settings):
    shares.add_account(settings, "gazette-x", "x", max_per_hour=2, min_gap_minutes=15)
    shares.add_account(settings, "gazette-masto", "mastodon", max_per_hour=10, min_gap_minutes=1)
    # add_account stamps created_at now; articles must be newer than the account to count.
    ids = add_articles(settings, 3)
    with session_scope(settings.effective_database_url) as s:
        s.query(Article).update({Article.first_seen_at: datetime.now(timezone.utc) + timedelta(seconds=1)})
    assert shares.schedule_new_articles(settings, now=NOW) == 6
    assert shares.schedule_new_articles(settings, now=NOW) == 0

    posts = shares.list_shares(settings)
    x_slots = sorted(datetime.fromisoformat(p["scheduled_at"]) for p in posts if p["platform"] == "x")
    assert x_slots[0] == NOW
    assert all(b - a >= timedelta(minutes=15) for a, b in zip(x_slots, x_slots[1:]))
    assert x_slots[2] - x_slots[0] >= timedelta(hours=1)  # at most two in any hour
    assert {p["article_id"] for p in posts} == set(ids)


def test_due_posts_publish_exactly_once_even_when_run_twice(settings):
    shares.add_account(settings, "gazette-x", "x")
    shares.add_account(settings, "gazette-bsky", "bluesky")
    [article] = add_articles(settings, 1)
    shares.schedule_share(settings, article, at=NOW)
    first = shares.publish_due(settings, now=NOW + timedelta(minutes=1))
    second = shares.publish_due(settings, now=NOW + timedelta(minutes=2))
    assert len(first.sent) == 2 and second.sent == []
    [x_post] = outbox_lines(settings, "x")
    [bsky_post] = outbox_lines(settings, "bluesky")
    assert x_post["url"].startswith("https://news.example.org/0?utm_source=x")
    assert bsky_post["facets"], "Bluesky posts carry link facets"
    assert x_post["key"] != bsky_post["key"]
    rows = shares.list_shares(settings)
    assert {r["state"] for r in rows} == {PostState.SENT}
    assert all(r["remote_id"] for r in rows)


def test_concurrent_publishers_post_each_once(settings):
    shares.add_account(settings, "gazette-tg", "telegram", max_per_hour=100, min_gap_minutes=0)
    articles = add_articles(settings, 20)
    for article in articles:
        shares.schedule_share(settings, article, at=NOW)
    barrier = threading.Barrier(3)
    reports = []

    def worker():
        barrier.wait()
        reports.append(shares.publish_due(settings, now=NOW + timedelta(minutes=1)))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.sent) for r in reports) == 20
    lines = outbox_lines(settings, "telegram")
    assert len(lines) == 20 and len({l["key"] for l in lines}) == 20


def test_expired_claim_is_retaken_with_the_same_key(settings):
    """A worker that died after claiming: the lease runs out and another publishes, with
    the same idempotency key (so the outbox, like Mastodon, does not post twice)."""
    shares.add_account(settings, "gazette-m", "mastodon")
    [article] = add_articles(settings, 1)
    [row] = shares.schedule_share(settings, article, at=NOW)
    with session_scope(settings.effective_database_url) as s:
        assert shares.claim(s, row["id"], NOW)          # the worker that will "die"
        assert not shares.claim(s, row["id"], NOW)      # nobody else while the lease holds
    later = NOW + shares.LEASE + timedelta(seconds=1)
    report = shares.publish_due(settings, now=later)
    assert report.sent == [row["id"]]
    with session_scope(settings.effective_database_url) as s:
        post = s.get(SharePost, row["id"])
        assert post.attempts == 2 and post.state == PostState.SENT
        assert post.idempotency_key == f"pressbot-post-{post.id}-0"


def test_reshare_is_explicit_and_gets_a_new_key(settings):
    shares.add_account(settings, "gazette-x", "x")
    [article] = add_articles(settings, 1)
    shares.schedule_share(settings, article, at=NOW)
    shares.publish_due(settings, now=NOW)
    # Updating the article does not post it again…
    with session_scope(settings.effective_database_url) as s:
        source = s.query(Source).one()
        draft = ArticleDraft(title="Story 0 about the harbour", url="https://news.example.org/0",
                             guid="g0", summary="Corrected: the ferry runs hourly.",
                             categories=("City",), published=NOW, language="en")
        assert store_drafts(s, source, [draft], now=NOW)[0].outcome == "updated"
    assert shares.schedule_new_articles(settings, now=NOW) == 0
    assert shares.publish_due(settings, now=NOW + timedelta(hours=1)).sent == []
    # …an editor's re-share does, under a new key.
    shares.schedule_share(settings, article, "gazette-x", at=NOW + timedelta(hours=2))
    assert len(shares.publish_due(settings, now=NOW + timedelta(hours=2)).sent) == 1
    keys = [line["key"] for line in outbox_lines(settings, "x")]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_credentials_are_stored_encrypted_and_never_listed(settings):
    shares.add_account(settings, "gazette-tg", "telegram",
                       credentials={"bot_token": "123:SECRET-TOKEN", "chat_id": "@gazette"})
    with session_scope(settings.effective_database_url) as s:
        raw = s.execute(__import__("sqlalchemy").text(
            "SELECT credentials_encrypted FROM social_accounts")).scalar_one()
    assert "SECRET-TOKEN" not in raw
    listed = json.dumps(shares.list_accounts(settings))
    assert "SECRET-TOKEN" not in listed and "stored (encrypted)" in listed


def test_skip_keeps_a_post_from_going_out(settings):
    shares.add_account(settings, "gazette-x", "x")
    [article] = add_articles(settings, 1)
    [row] = shares.schedule_share(settings, article, at=NOW)
    assert shares.skip_share(settings, row["id"])["state"] == PostState.SKIPPED
    assert shares.publish_due(settings, now=NOW + timedelta(hours=1)).sent == []
    assert outbox_lines(settings, "x") == []
    import pytest

    from bot.errors import BadInput

    with pytest.raises(BadInput, match="skipped"):
        shares.skip_share(settings, row["id"])
    with pytest.raises(BadInput, match="no share post"):
        shares.skip_share(settings, 999)

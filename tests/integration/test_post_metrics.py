"""Issue 14, social counts: a sent post's public counts come back from the local platform
servers through the real clients on a decaying schedule (1 h, 6 h, 24 h, 72 h), the
dispatcher enqueues due fetches once by id, a 429 moves the next fetch to the platform's
reset, and the counts show in `pressbot share list --json` and the API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from bot.services import dispatch, editors, post_metrics, shares
from bot.store.db import session_scope
from bot.store.models import SharePost
from bot.web.app import create_app
from tests.integration.test_cli import run
from tests.integration.test_shares_platforms import add_accounts, ingest_one_new_article, platforms  # noqa: F401
from tests.support.web import add_editor

H = timedelta(hours=1)


@pytest.fixture
def settings(settings):
    # A queue (so a dispatch lock) of its own: the PostgreSQL advisory lock is per
    # database, and other test runs tick on the same server.
    return settings.model_copy(update={"queue": f"metrics-{uuid.uuid4().hex[:8]}"})


def send_all(settings) -> tuple[datetime, dict[str, dict]]:
    """One article posted on the four accounts; (sent time, rows by platform)."""
    ingest_one_new_article(settings)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    assert shares.schedule_new_articles(settings, now=now) == 4
    assert len(shares.publish_due(settings, now=now).sent) == 4
    return now, {r["platform"]: r for r in shares.list_shares(settings)}


def row(settings, post_id: int) -> dict:
    return shares.get_share(settings, post_id)


def set_counts(p, rows, likes: int, reposts: int, replies: int) -> None:
    p["x"].set_metrics(rows["x"]["remote_id"], like_count=likes, retweet_count=reposts,
                       reply_count=replies, impression_count=likes * 40)
    p["mastodon"].set_counts(rows["mastodon"]["remote_id"], favourites_count=likes,
                             reblogs_count=reposts, replies_count=replies)
    p["bluesky"].counts[rows["bluesky"]["remote_id"]].update(
        likeCount=likes, repostCount=reposts, replyCount=replies)


def test_counts_land_on_a_decaying_schedule(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    ids = {platform: r["id"] for platform, r in rows.items()}
    assert all(r["metrics"]["next_at"] == (sent + H).isoformat() for r in rows.values())
    assert all(r["metrics"]["likes"] is None for r in rows.values())

    # Before the first hour nothing is asked of anyone.
    assert {post_metrics.fetch_one(settings, i, now=sent + 59 * timedelta(minutes=1))
            for i in ids.values()} == {"not due"}
    assert platforms["x"].to(f"/2/tweets/{rows['x']['remote_id']}") == []

    seen = []
    for step, (likes, reposts, replies) in zip((1, 6, 24, 72), ((2, 0, 1), (9, 3, 2), (15, 4, 2),
                                                                (16, 4, 3))):
        set_counts(platforms, rows, likes, reposts, replies)
        at = sent + step * H
        outcomes = {p: post_metrics.fetch_one(settings, i, now=at) for p, i in ids.items()}
        assert outcomes == {"x": "recorded", "mastodon": "recorded", "bluesky": "recorded",
                            "telegram": "not available" if step == 1 else "not due"}
        for platform in ("x", "mastodon", "bluesky"):
            m = row(settings, ids[platform])["metrics"]
            assert (m["likes"], m["reposts"], m["replies"]) == (likes, reposts, replies), platform
            assert m["at"] == at.isoformat() and m["note"] is None
            assert m["views"] == (likes * 40 if platform == "x" else None)
            seen.append(m["next_at"])
    # 1 h → 6 h → 24 h → 72 h → done, the same for each platform.
    expected = [(sent + s * H).isoformat() for s in (6, 24, 72)] + [None]
    assert seen == [n for n in expected for _ in range(3)]

    tg = row(settings, ids["telegram"])["metrics"]
    assert tg["likes"] is None and tg["views"] is None and tg["next_at"] is None
    assert tg["note"] == "not available: telegram gives pressbot no counts"
    # Four reads each, no more, however often one asks afterwards.
    assert post_metrics.fetch_one(settings, ids["x"], now=sent + 200 * H) == "not due"
    assert len(platforms["x"].to(f"/2/tweets/{rows['x']['remote_id']}")) == 4
    assert len(platforms["bluesky"].calls_to("app.bsky.feed.getPosts")) == 4


def test_a_fetch_runs_once_however_often_its_message_arrives(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    post_id = rows["mastodon"]["id"]
    assert post_metrics.fetch_one(settings, post_id, now=sent + H) == "recorded"
    assert post_metrics.fetch_one(settings, post_id, now=sent + H) == "not due"
    path = f"/api/v1/statuses/{rows['mastodon']['remote_id']}"
    assert len(platforms["mastodon"].requests_to(path, "GET")) == 1


def test_a_429_defers_the_fetch_to_the_platforms_reset(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    x_id, tweet = rows["x"]["id"], rows["x"]["remote_id"]
    reset = int(time.time()) + 600
    platforms["x"].rate_limit_next(reset, path=f"/2/tweets/{tweet}")
    at = sent + H

    assert post_metrics.fetch_one(settings, x_id, now=at) == "deferred"
    m = row(settings, x_id)["metrics"]
    assert m["likes"] is None and "HTTP 429" in m["note"]
    next_at = datetime.fromisoformat(m["next_at"])
    assert at + timedelta(seconds=590) <= next_at <= at + timedelta(seconds=601)
    # The dispatcher leaves it alone until then, and the other platforms are not held up.
    tick = dispatch.run_tick(settings, lambda task, args: None, now=at + timedelta(minutes=5))
    enqueued = tick.enqueued["metric"]
    assert tick.acted and x_id not in enqueued and rows["mastodon"]["id"] in enqueued
    assert post_metrics.fetch_one(settings, x_id, now=at + timedelta(minutes=5)) == "not due"

    platforms["x"].set_metrics(tweet, like_count=5)
    assert post_metrics.fetch_one(settings, x_id, now=next_at) == "recorded"
    m = row(settings, x_id)["metrics"]
    assert m["likes"] == 5 and m["note"] is None and m["next_at"] == (sent + 6 * H).isoformat()


def test_a_deleted_post_stops_its_fetches_with_the_reason(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    platforms["bluesky"].counts.clear()   # the post was deleted on Bluesky
    assert post_metrics.fetch_one(settings, rows["bluesky"]["id"], now=sent + H) == "stopped"
    m = row(settings, rows["bluesky"]["id"])["metrics"]
    assert m["next_at"] is None and "is gone" in m["note"]


def test_the_dispatcher_enqueues_due_fetches_once_by_id_bounded(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    sent_ids = sorted(r["id"] for r in rows.values())
    messages: list[tuple[str, list]] = []

    def enqueue(task: str, args: list) -> None:
        messages.append((task, args))

    early = dispatch.run_tick(settings, enqueue, now=sent + 30 * timedelta(minutes=1))
    assert early.acted and early.enqueued["metric"] == []
    report = dispatch.run_tick(settings, enqueue, now=sent + H)
    assert sorted(report.enqueued["metric"]) == sent_ids
    assert sorted(args for task, args in messages if task == "pressbot.fetch_post_metrics") == \
        [[i] for i in sent_ids]
    # Still queued: the next tick does not send them again.
    again = dispatch.run_tick(settings, enqueue, now=sent + H + timedelta(minutes=1))
    assert again.enqueued["metric"] == [] and again.already_queued >= 4
    # Bounded: the oldest due first, at most `limit`.
    assert [i for i, _ in post_metrics.due_posts(settings, sent + H, 2)] == sent_ids[:2]
    # Done: the worker ran them; nothing is due until the 6-hour fetch.
    for i in sent_ids:
        post_metrics.fetch_one(settings, i, now=sent + H + timedelta(minutes=2))
    assert post_metrics.due_posts(settings, sent + 5 * H, 1000) == []
    assert len(post_metrics.due_posts(settings, sent + 6 * H, 1000)) == 3   # not Telegram


def test_a_paused_account_waits(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    shares.set_account_active(settings, "gazette-x", False)
    due = [i for i, _ in post_metrics.due_posts(settings, sent + H, 1000)]
    assert rows["x"]["id"] not in due and rows["mastodon"]["id"] in due


def test_counts_show_in_share_list_json_and_the_api(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    platforms["mastodon"].set_counts(rows["mastodon"]["remote_id"], favourites_count=11,
                                     reblogs_count=2, replies_count=5)
    post_metrics.fetch_one(settings, rows["mastodon"]["id"], now=sent + H)
    post_metrics.fetch_one(settings, rows["telegram"]["id"], now=sent + H)

    result = run(settings.home, "share", "list", "--json",
                 DATABASE_URL=settings.effective_database_url)
    assert result.returncode == 0, result.stderr
    listed = {r["platform"]: r["metrics"] for r in json.loads(result.stdout)}
    assert listed["mastodon"] | {"at": None, "next_at": None} == {
        "likes": 11, "reposts": 2, "replies": 5, "views": None, "at": None, "next_at": None,
        "note": None}
    assert listed["telegram"]["note"].startswith("not available")

    token = editors.create_token(settings, add_editor(settings, "editor@example.com", "editor"), "cms")
    with TestClient(create_app(settings)) as client:
        answer = client.get(f"/api/shares/{rows['mastodon']['id']}",
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        metrics = answer.json()["metrics"]
        assert (metrics["likes"], metrics["reposts"], metrics["replies"]) == (11, 2, 5)
        assert datetime.fromisoformat(metrics["next_at"].replace("Z", "+00:00")) == sent + 6 * H
        page = client.get("/api/shares", headers={"Authorization": f"Bearer {token}"}).json()
        assert all("metrics" in item for item in page["items"])


def test_a_reshare_starts_the_counts_over(settings, platforms):
    add_accounts(settings, platforms)
    sent, rows = send_all(settings)
    post_id = rows["mastodon"]["id"]
    platforms["mastodon"].set_counts(rows["mastodon"]["remote_id"], favourites_count=3)
    post_metrics.fetch_one(settings, post_id, now=sent + H)
    with session_scope(settings.effective_database_url) as session:
        post = session.get(SharePost, post_id)
        post_metrics.start_schedule(post, sent + 2 * H)
    m = row(settings, post_id)["metrics"]
    assert m["likes"] is None and m["at"] is None and m["next_at"] == (sent + 3 * H).isoformat()

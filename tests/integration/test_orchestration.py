"""Issue 5 with real processes: a Celery worker subprocess on the test Redis (a queue of
its own) against the test database; dispatch ticks find due work in the database."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.services import dispatch, shares
from bot.services.ingest import get_or_add_source, ingest_targets
from bot.services.locks import lock_timeout
from bot.store.db import session_scope
from bot.store.models import Article, PostState, SharePost, SocialAccount, SourceKind
from bot.tasks import enqueuer
from tests.integration.test_cli import ROOT
from tests.support.celeryworker import Beat, Worker, environment, wait_for
from tests.support.fake_x import FakeX
from tests.support.httpserver import Route
from tests.support.orchestration import queued, rss  # noqa: F401  (fixture)

ARTICLE = ROOT / "examples" / "articles" / "harbour-ferry-resumes.html"


def ingest_as_news(settings, *paths) -> None:
    """Ingest examples (default: one article) and date them as just published: the examples
    are from 2024, and the recency window (issue 10) shares nothing that old, nor does a
    digest take such backfill."""
    ingest_targets(settings, [str(p) for p in paths or (ARTICLE,)])
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(Article).values(published_at=datetime.now(timezone.utc) - timedelta(minutes=5)))


def posts(settings) -> dict[int, SharePost]:
    with session_scope(settings.effective_database_url) as s:
        return {p.id: p for p in s.scalars(select(SharePost))}


def outbox(settings, platform: str) -> list[str]:
    path = settings.home / "outbox" / "social" / f"{platform}.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def test_a_worker_polls_a_due_source_and_publishes_its_share_posts(queued, http_server, tmp_path):
    settings = queued
    http_server.routes["/feed.xml"] = Route(body=rss([("Ferry back", "https://news.example.org/f")]))
    for platform in ("x", "mastodon"):
        shares.add_account(settings, f"gazette-{platform}", platform)  # no credentials: outbox
    get_or_add_source(settings, http_server.url("/feed.xml"), SourceKind.FEED)  # due now
    enqueue = enqueuer(settings)
    with Worker(settings, tmp_path / "worker.log") as worker:
        first = dispatch.run_tick(settings, enqueue)
        assert len(first.enqueued["source"]) == 1 and first.enqueued["post"] == []
        wait_for(lambda: http_server.requests_to("/feed.xml"), what="the worker to poll the feed")
        wait_for(lambda: _articles(settings) == 1, what="the article to be stored")
        # The next tick runs in the worker itself, as beat would send it.
        enqueue("pressbot.dispatch", [])
        wait_for(lambda: {p.state for p in posts(settings).values()} == {PostState.SENT},
                 what="both share posts to be sent", timeout=60)
        assert "post 1: sent" in worker.output() or "post 2: sent" in worker.output()
    assert len(outbox(settings, "x")) == 1 and len(outbox(settings, "mastodon")) == 1
    assert len(http_server.requests_to("/feed.xml")) == 1
    ticks = dispatch.last_ticks(settings)
    assert [t["posts"] for t in ticks] == [2, 0] and [t["sources"] for t in ticks] == [0, 1]


def _articles(settings) -> int:
    with session_scope(settings.effective_database_url) as s:
        return len(s.scalars(select(Article.id)).all())


def _accounts_and_article(settings, x: FakeX | None = None) -> None:
    if x is not None:
        ck, cs, at, ats = x.keys
        shares.add_account(settings, "gazette-x", "x", credentials={
            "consumer_key": ck, "consumer_secret": cs, "access_token": at,
            "access_token_secret": ats, "api_host": x.base})
    for platform in ("mastodon", "telegram"):
        shares.add_account(settings, f"gazette-{platform}", platform)
    ingest_as_news(settings)


@pytest.fixture
def fake_x():
    server = FakeX().start()
    yield server
    server.stop()


def test_a_429_is_retried_once_after_the_reset_and_the_other_platforms_post_meanwhile(
        queued, fake_x, tmp_path):
    settings = queued
    _accounts_and_article(settings, fake_x)
    reset_at = int(time.time()) + 3
    fake_x.rate_limit_next(reset_at, path="/2/tweets")
    enqueue = enqueuer(settings)
    # The test app only shortens shares.RETRY_BASE (a 2-minute floor) so the retry can come
    # at X's reset, seconds away, instead of two minutes later.
    with Worker(settings, tmp_path / "worker.log", app="tests.support.celery_app"):
        first = dispatch.run_tick(settings, enqueue)
        assert len(first.enqueued["post"]) == 3
        wait_for(lambda: _outcome(settings) == {"x": PostState.SCHEDULED, "mastodon": PostState.SENT,
                                                "telegram": PostState.SENT} and _x_error(settings),
                 what="mastodon and telegram sent, x back to scheduled after its 429")
        x_post = _x_post(settings)
        assert "429" in x_post.last_error
        assert x_post.scheduled_at >= datetime.fromtimestamp(reset_at, timezone.utc)
        assert len(fake_x.to("/2/tweets", "POST")) == 1 and fake_x.tweets == []
        retried_in = []

        def tick_until_sent() -> bool:
            report = dispatch.run_tick(settings, enqueue)
            if report.enqueued["post"]:
                retried_in.append(report.at)
            return _x_post(settings).state == PostState.SENT

        wait_for(tick_until_sent, interval=0.2, timeout=30, what="the x post to be retried")
    assert len(retried_in) == 1 and retried_in[0] >= datetime.fromtimestamp(reset_at, timezone.utc)
    assert len(fake_x.to("/2/tweets", "POST")) == 2 and len(fake_x.tweets) == 1
    assert _x_post(settings).attempts == 2
    assert len(outbox(settings, "mastodon")) == 1 and len(outbox(settings, "telegram")) == 1


def _x_post(settings) -> SharePost:
    with session_scope(settings.effective_database_url) as s:
        return s.scalars(select(SharePost).where(SharePost.account_id == 1)).one()


def _x_error(settings) -> bool:
    return bool(_x_post(settings).last_error)


def _outcome(settings) -> dict[str, str]:
    platform = {1: "x", 2: "mastodon", 3: "telegram"}
    return {platform[p.account_id]: p.state for p in posts(settings).values()}


# -- Dispatch without a worker: what gets enqueued ---------------------------------------------


class Recorder:
    """An Enqueue that records what it was given; the first call can be held open."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.sent: list[tuple[str, list]] = []
        self.hold = hold
        self.lock = threading.Lock()

    def __call__(self, task: str, args: list) -> None:
        if self.hold is not None:
            self.hold.wait(10)
        with self.lock:
            self.sent.append((task, args))


@pytest.fixture(params=["redis", "database"])
def locked(request, queued):
    """Settings whose dispatch lock is Redis's, or the database's own (PostgreSQL's advisory
    lock, or on SQLite a file lock in the data folder)."""
    return queued if request.param == "redis" else queued.model_copy(update={"redis_url": None})


def test_two_dispatchers_at_once_enqueue_each_due_post_once(locked):
    settings = locked
    _accounts_and_article(settings)
    hold = threading.Event()
    recorder = Recorder(hold)
    reports = []
    barrier = threading.Barrier(4)

    def dispatcher() -> None:
        barrier.wait()
        reports.append(dispatch.run_tick(settings, recorder))

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    # The one holding the lock waits in its first enqueue until the three others are done.
    wait_for(lambda: len(reports) == 3, what="three dispatchers to skip")
    hold.set()
    for t in threads:
        t.join(10)
    assert sorted(r.acted for r in reports) == [False, False, False, True]
    enqueued = [args[0] for task, args in recorder.sent if task == dispatch.PUBLISH_POST]
    assert sorted(enqueued) == sorted(posts(settings)) and len(enqueued) == 2
    # A later tick finds the same posts still due but already queued: nothing new.
    again = dispatch.run_tick(settings, recorder)
    assert again.acted and again.already_queued == 2 and len(recorder.sent) == 2


def test_an_editors_change_counts_at_the_next_tick_and_expired_claims_are_refound(settings):
    shares.add_account(settings, "gazette-m", "mastodon")
    ingest_as_news(settings)
    now = datetime.now(timezone.utc)
    recorder = Recorder()
    first = dispatch.run_tick(settings, recorder, now=now)
    [post_id] = first.enqueued["post"]
    # An editor moves the post an hour later: not due any more…
    shares.schedule_share(settings, 1, "gazette-m", at=now + timedelta(hours=1))
    assert dispatch.run_tick(settings, recorder, now=now + timedelta(seconds=1)).enqueued["post"] == []
    # …and due again at its new time, with no restart in between.
    at_new_time = dispatch.run_tick(settings, recorder, now=now + timedelta(hours=1))
    assert at_new_time.enqueued["post"] == [post_id]
    # A worker claimed it and died: once the lease runs out, the tick finds it again.
    with session_scope(settings.effective_database_url) as s:
        assert shares.claim(s, post_id, now + timedelta(hours=1))
    during_lease = now + timedelta(hours=1, minutes=1)
    assert dispatch.run_tick(settings, recorder, now=during_lease).enqueued["post"] == []
    after_lease = now + timedelta(hours=1) + shares.LEASE + timedelta(seconds=1)
    assert dispatch.run_tick(settings, recorder, now=after_lease).enqueued["post"] == [post_id]


def test_a_lost_message_is_enqueued_again_after_redispatch_after(settings):
    settings = settings.model_copy(update={"redispatch_after": 300.0})
    shares.add_account(settings, "gazette-m", "mastodon")
    ingest_as_news(settings)
    now = datetime.now(timezone.utc)
    recorder = Recorder()
    assert len(dispatch.run_tick(settings, recorder, now=now).enqueued["post"]) == 1
    assert dispatch.run_tick(settings, recorder, now=now + timedelta(seconds=299)).enqueued["post"] == []
    assert len(dispatch.run_tick(settings, recorder, now=now + timedelta(seconds=301)).enqueued["post"]) == 1


def test_a_broker_failure_unmarks_what_was_not_sent(settings):
    shares.add_account(settings, "gazette-m", "mastodon")
    shares.add_account(settings, "gazette-t", "telegram")
    ingest_as_news(settings)

    def broken(task, args):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        dispatch.run_tick(settings, broken)
    [tick] = dispatch.last_ticks(settings)
    assert "broker down" in tick["error"]
    recorder = Recorder()
    assert len(dispatch.run_tick(settings, recorder).enqueued["post"]) == 2  # not held back


def test_paused_accounts_posts_are_not_dispatched(settings):
    shares.add_account(settings, "gazette-m", "mastodon")
    ingest_as_news(settings)
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(SocialAccount).values(needs_attention="401 from the instance"))
    assert dispatch.run_tick(settings, Recorder()).enqueued["post"] == []


HOLD_LOCK = """
import sys
from bot.config import get_settings
from bot.services.locks import dispatch_lock
with dispatch_lock(get_settings()) as held:
    print("held" if held else "busy", flush=True)
    sys.stdin.read()  # until killed
"""


def test_the_dispatch_lock_is_freed_when_its_holder_is_killed(locked):
    settings = locked.model_copy(update={"tick_seconds": 2.0})  # a Redis lock of 1.6 s
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=environment(settings))
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not dispatch.run_tick(settings, Recorder()).acted
        holder.kill()
        holder.wait(10)
        killed = time.monotonic()
        wait_for(lambda: dispatch.run_tick(settings, Recorder()).acted, timeout=10,
                 interval=0.1, what="the lock of a dead holder to be free")
        assert time.monotonic() - killed < lock_timeout(settings) + 2
    finally:
        holder.kill()
        holder.wait(10)


def test_two_beats_dispatch_each_post_once(queued, tmp_path):
    """Issue 5's failure test 5, compressed: two beat processes tick every second while
    posts fall due one after another; a real worker runs the dispatches and publishes."""
    settings = queued.model_copy(update={"tick_seconds": 1.0})
    # Articles first, then the account: they are not "new" to it, so only the editor's
    # explicit schedule below decides when each post falls due.
    ingest_targets(settings, [str(ROOT / "examples"), str(ROOT / "examples" / "feed.xml")])
    shares.add_account(settings, "gazette-tg", "telegram", max_per_hour=100, min_gap_minutes=0)
    with session_scope(settings.effective_database_url) as s:
        article_ids = sorted(s.scalars(select(Article.id)))
    beats = [Beat(settings, tmp_path / f"beat-{n}.log") for n in "ab"]
    with Worker(settings, tmp_path / "worker.log"), beats[0], beats[1]:
        now = datetime.now(timezone.utc)
        for n, article_id in enumerate(article_ids):  # one falls due every 0.7 s
            shares.schedule_share(settings, article_id, "gazette-tg",
                                  at=now + timedelta(seconds=1 + 0.7 * n))
        wait_for(lambda: len(posts(settings)) == len(article_ids)
                 and {p.state for p in posts(settings).values()} == {PostState.SENT}
                 and all(b.output().count("Sending due task") >= 3 for b in beats),
                 timeout=60, interval=0.2, what="every post sent, both beats ticking")
    ticks = dispatch.last_ticks(settings, limit=1000)
    assert sum(t["posts"] for t in ticks) == len(article_ids)  # each enqueued once…
    assert len([t for t in ticks if t["posts"]]) >= 3            # …over several ticks
    keys = [json.loads(line)["key"] for line in outbox(settings, "telegram")]
    assert len(keys) == len(article_ids) == len(set(keys))
    assert all(p.attempts == 1 for p in posts(settings).values())

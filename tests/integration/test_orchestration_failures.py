"""Issue 5's failure tests 1, 3 and 5 through real processes: a Celery worker subprocess on
the test Redis, the test database, and a real SMTP server started by the test. Progress is
read from observable state (the SMTP server's count, database rows, log lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from bot.services import dispatch, shares, subscribers
from bot.store.db import session_scope
from bot.store.mailing import (Consent, DeliveryState, Edition, MailingList, Subscriber,
                               SubscriberStatus, Subscription)
from bot.store.models import Article, PostState, utcnow
from bot.tasks import enqueuer
from tests.integration.test_orchestration import ROOT, ingest_as_news, outbox, posts
from tests.integration.test_orchestration_email import daily_at, delivery_states
from tests.support.celeryworker import Beat, Worker, wait_for
from tests.support.orchestration import queued  # noqa: F401  (fixture)
from tests.conftest import REDIS_URL
from tests.support.smtpserver import SmtpServer

FAST_LEASE_APP = "tests.support.celery_app"  # digests.LEASE is 3 s there


def many_readers(settings, schedule: str, readers: int, name: str = "morning") -> int:
    """A scheduled list (created a day ago) with `readers` confirmed subscribers, inserted
    in bulk: 2,000 one-by-one `add_confirmed` calls would be most of the test's time."""
    list_id = subscribers.add_list(settings, name, title=f"The {name.title()} Gazette",
                                   from_email="news@gazette.example.org", from_name="Gazette",
                                   schedule=schedule, timezone="UTC")
    now = utcnow()
    with session_scope(settings.effective_database_url) as s:
        prefix = "reader" if name == "morning" else f"{name}-reader"
        people = [Subscriber(email=f"{prefix}{i}@example.net", status=SubscriberStatus.CONFIRMED,
                             confirmed_at=now) for i in range(readers)]
        s.add_all(people)
        s.flush()
        s.add_all([Subscription(subscriber_id=p.id, list_id=list_id, topics=[], active=True)
                   for p in people])
        s.add_all([Consent(subscriber_id=p.id, list_id=list_id, action="subscribe", method="cli")
                   for p in people])
        s.execute(update(MailingList).where(MailingList.id == list_id).values(created_at=datetime.now(timezone.utc)
                                             - timedelta(days=1)))
    return list_id


def tick_until(settings, condition, timeout: float, what: str):
    """Run dispatch ticks (as beat would, but from the test) until `condition()` holds."""
    def step():
        dispatch.run_tick(settings, enqueuer(settings))
        return condition()

    return wait_for(step, timeout=timeout, interval=0.5, what=what)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_worker_killed_mid_edition_loses_nothing_and_doubles_at_most_one(queued, tmp_path):
    """Failure test 1: SIGKILL the worker (its whole process group) while a 2,000-recipient
    edition is going out; start another. The killed sender's claims run out (a 3 s lease)
    and the tick re-finds them: every reader gets the digest, at most one twice (the
    message in flight at the kill: the killed worker runs one pool process), with the
    same Message-ID."""
    readers = 2000
    with SmtpServer(keep_content=False) as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 500,
                                             "redispatch_after": 1.0})
        ingest_as_news(settings)
        now = datetime.now(timezone.utc)
        many_readers(settings, daily_at(now - timedelta(minutes=1)), readers)
        first = Worker(settings, tmp_path / "first.log", app=FAST_LEASE_APP, concurrency=1)
        with first:
            report = dispatch.run_tick(settings, enqueuer(settings))
            assert len(report.enqueued["edition"]) == 1
            assert smtp.handler.wait_for(300, timeout=90), first.output()
            first.kill()
        at_kill = len(smtp.handler.messages)
        assert at_kill < readers, "the edition finished before the kill"
        with Worker(settings, tmp_path / "second.log", app=FAST_LEASE_APP) as second:
            tick_until(settings, lambda: delivery_states(settings) == {DeliveryState.SENT: readers},
                       timeout=120, what="every delivery sent after the kill")
            assert "deliveries in 4 batches" in first.output(), first.output()
            assert "batch:" in second.output()
        counts = smtp.handler.recipients()
    assert set(counts) == {f"reader{i}@example.net" for i in range(readers)}  # none lost
    twice = [address for address, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(n <= 2 for n in counts.values()), twice
    for address in twice:
        assert len({m.message_id for m in smtp.handler.by_recipient(address)}) == 1
    with session_scope(settings.effective_database_url) as s:
        assert len(s.scalars(select(Edition.id)).all()) == 1


def test_a_server_answering_421_for_a_while_delays_but_neither_loses_nor_doubles(queued, tmp_path):
    """Failure test 3: the SMTP server refuses service (421 at MAIL, connection closed)
    until the test sees the worker's batches refused, retried and refused again; then it
    recovers. The batches hand their rows back, retry with backoff (and the tick re-finds
    them): all delivered, none twice, nothing reached DATA while the server was down."""
    readers = 200
    with SmtpServer(keep_content=False) as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 50,
                                             "redispatch_after": 1.0})
        ingest_as_news(settings)
        now = datetime.now(timezone.utc)
        many_readers(settings, daily_at(now - timedelta(minutes=1)), readers)
        smtp.handler.refuse = "421 4.3.2 Service not available, closing transmission channel"
        with Worker(settings, tmp_path / "worker.log", app=FAST_LEASE_APP) as worker:
            dispatch.run_tick(settings, enqueuer(settings))
            # Down "for a while": every batch refused, and at least one retry refused again.
            wait_for(lambda: "retry 1 in" in worker.output() and smtp.handler.refused >= 10,
                     timeout=60, interval=0.1, what="batches refused and retried")
            tick_until(settings, lambda: "retry 2 in" in worker.output()
                       or smtp.handler.refused >= 16, timeout=60, what="refused after a retry")
            assert smtp.handler.attempts == [] and smtp.handler.messages == []
            assert delivery_states(settings) == {DeliveryState.PENDING: readers}
            smtp.handler.refuse = None  # recovered
            tick_until(settings, lambda: delivery_states(settings) == {DeliveryState.SENT: readers},
                       timeout=90, what="every delivery sent after the recovery")
        counts = smtp.handler.recipients()
    assert set(counts) == {f"reader{i}@example.net" for i in range(readers)}
    assert set(counts.values()) == {1}
    assert len(smtp.handler.attempts) == readers  # none retried after reaching DATA


def test_two_beats_for_a_longer_window_build_each_due_edition_and_send_each_post_once(
        queued, tmp_path):
    """Failure test 5. The issue asks for two beats over ten minutes: at the default 60 s
    interval that is ten dispatch rounds per beat. Here two beat processes tick every
    second and the test waits for at least twenty rounds from each (twice the ten minutes'
    worth, each contending for the dispatch lock) while two digest editions are due (one
    missed for three days) and share posts fall due one after another; a real worker runs
    what the ticks enqueue. What matters is the number of contending rounds, not the
    wall-clock time, so ~30 s stands in for ten minutes. Each edition is built once and each reader gets it once; each post is
    enqueued once and published once."""
    with SmtpServer(keep_content=False) as smtp:
        settings = queued.model_copy(update={"tick_seconds": 1.0, "smtp_url": smtp.url,
                                             "batch_size": 20})
        ingest_as_news(settings, ROOT / "examples", ROOT / "examples" / "feed.xml")
        shares.add_account(settings, "gazette-tg", "telegram", max_per_hour=100,
                           min_gap_minutes=0)
        with session_scope(settings.effective_database_url) as s:
            article_ids = sorted(s.scalars(select(Article.id)))
        now = datetime.now(timezone.utc)
        many_readers(settings, daily_at(now - timedelta(minutes=2)), 50, name="morning")
        many_readers(settings, daily_at(now - timedelta(minutes=1)), 30, name="evening")
        with session_scope(settings.effective_database_url) as s:  # down for three days
            s.execute(update(MailingList).where(MailingList.name == "evening")
                      .values(created_at=now - timedelta(days=3)))
        beats = [Beat(settings, tmp_path / f"beat-{n}.log") for n in "ab"]
        with Worker(settings, tmp_path / "worker.log"), beats[0], beats[1]:
            now = datetime.now(timezone.utc)
            spread = 20.0 / max(1, len(article_ids) - 1)  # posts fall due over ~20 s
            for n, article_id in enumerate(article_ids):
                shares.schedule_share(settings, article_id, "gazette-tg",
                                      at=now + timedelta(seconds=1 + spread * n))
            wait_for(lambda: {p.state for p in posts(settings).values()} == {PostState.SENT}
                     and len(posts(settings)) == len(article_ids)
                     and delivery_states(settings) == {DeliveryState.SENT: 80}
                     and all(b.output().count("Sending due task") >= 20 for b in beats),
                     timeout=60, interval=0.2, what="every post and delivery sent, both beats ticking")
        counts = smtp.handler.recipients()
    ticks = dispatch.last_ticks(settings, limit=1000)
    assert sum(t["editions"] for t in ticks) == 2                # each edition enqueued once
    with session_scope(settings.effective_database_url) as s:
        built = s.execute(select(Edition.list_id, Edition.scheduled_for)).all()
    assert len(built) == 2 and len({list_id for list_id, _ in built}) == 2  # built once each
    assert len(counts) == 80 and set(counts.values()) == {1}
    assert sum(t["posts"] for t in ticks) == len(article_ids)   # each post enqueued once…
    assert len([t for t in ticks if t["posts"]]) >= 5            # …over many ticks
    keys = [json.loads(line)["key"] for line in outbox(settings, "telegram")]
    assert len(keys) == len(article_ids) == len(set(keys))
    assert all(p.attempts == 1 for p in posts(settings).values())


SENDER = """
import sys
from bot.config import Settings
from bot.mail.transport import build_transport
home, smtp_url, redis_url, rate, shared, count, who = sys.argv[1:]
settings = Settings(home=home, smtp_url=smtp_url, redis_url=redis_url, send_rate=float(rate),
                    shared_send_rate=shared == "1")
with build_transport(settings) as transport:
    for i in range(int(count)):
        message = (f"Message-ID: <{who}-{i}@test>\\r\\nSubject: {i}\\r\\n\\r\\nhello\\r\\n").encode()
        transport.send("news@gazette.example.org", f"{who}{i}@example.net", message)
"""


def send_from_two_processes(smtp: SmtpServer, home, rate: float, shared: bool, count: int):
    procs = [subprocess.Popen([sys.executable, "-c", SENDER, str(home), smtp.url, REDIS_URL,
                               str(rate), "1" if shared else "0", str(count), who], cwd=ROOT)
             for who in ("a", "b")]
    for proc in procs:
        assert proc.wait(60) == 0
    assert len(smtp.handler.messages) == 2 * count
    return list(smtp.handler.accepted_at), [m.to[:1] for m in smtp.handler.messages]  # "a" or "b"


def most_in_a_window(times: list[float], window: float) -> int:
    """The most messages accepted in any `window` seconds (windows start at a message)."""
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def test_the_send_rate_is_shared_by_processes_through_a_token_bucket_in_redis(tmp_path):
    """Two processes, each with its own SMTP transport built from the same settings
    (PRESSBOT_SEND_RATE=20, REDIS_URL set), send 30 messages each: together they stay at
    20 a second, measured from the SMTP server's accept times. Without the shared bucket
    (shared_send_rate off: each its own in-process throttle) the same run goes at twice
    the rate, so the measurement can tell the two apart."""
    import redis as redis_lib

    rate, count = 20.0, 30
    with SmtpServer(keep_content=False) as smtp:
        key = f"pressbot:send-rate:smtp:127.0.0.1:{smtp.port}"
        try:
            times, senders = send_from_two_processes(smtp, tmp_path, rate, True, count)
        finally:
            client = redis_lib.Redis.from_url(REDIS_URL)
            client.delete(key)
            client.close()
    # Both processes were sending at once: their messages interleave.
    first_b, last_a = senders.index("b"), len(senders) - 1 - senders[::-1].index("a")
    first_a, last_b = senders.index("a"), len(senders) - 1 - senders[::-1].index("b")
    assert first_b < last_a and first_a < last_b, senders
    # At most rate × window (+1: the bucket's one token, +1: the server's own jitter).
    for window in (0.5, 1.0, 2.0):
        assert most_in_a_window(times, window) <= rate * window + 2, (window, times)
    assert (len(times) - 1) / (times[-1] - times[0]) <= rate * 1.05

    with SmtpServer(keep_content=False) as smtp:
        times, _ = send_from_two_processes(smtp, tmp_path, rate, False, count)
    assert most_in_a_window(times, 1.0) > rate + 2  # each process alone at the full rate

"""Digests through the orchestration: a list's schedule in the database makes the tick
enqueue the edition once; the worker builds it and fans the deliveries out in batch tasks
to a real SMTP server; email keeps flowing while a social platform rate-limits."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy import create_engine, func, select, text, update

from bot.services import dispatch, subscribers
from bot.services.ingest import ingest_targets
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList
from bot.tasks import enqueuer
from bot.broker import queue_depth
from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.integration.test_orchestration import (ROOT, Recorder, _accounts_and_article, ingest_as_news,
                                                  _outcome, _x_post, fake_x)  # noqa: F401
from tests.support.celeryworker import Worker, wait_for
from tests.support.orchestration import queued  # noqa: F401  (fixture)
from tests.support.smtpserver import SmtpServer


def scheduled_list(settings, schedule: str, created_days_ago: float, readers: int) -> int:
    list_id = subscribers.add_list(settings, "morning", title="The Morning Gazette",
                                   from_email="news@gazette.example.org", from_name="Gazette",
                                   schedule=schedule, timezone="UTC")
    for i in range(readers):
        subscribers.add_confirmed(settings, f"reader{i}@example.net", "morning")
    with session_scope(settings.effective_database_url) as s:  # the list existed already
        s.execute(update(MailingList).values(
            created_at=datetime.now(timezone.utc) - timedelta(days=created_days_ago)))
    return list_id


def daily_at(moment: datetime) -> str:
    return f"daily {moment:%H:%M}"


def editions(settings) -> list[Edition]:
    with session_scope(settings.effective_database_url) as s:
        return list(s.scalars(select(Edition).where(Edition.status != EditionStatus.PREVIEW)))


def delivery_states(settings) -> dict[str, int]:
    with session_scope(settings.effective_database_url) as s:
        return dict(s.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())


def test_a_due_digest_is_built_once_and_fanned_out_in_batches(queued, tmp_path):
    with SmtpServer() as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 10})
        ingest_targets(settings, [str(ROOT / "examples")])
        now = datetime.now(timezone.utc)
        # Down for three days: three daily runs were missed; one digest goes out.
        scheduled_list(settings, daily_at(now - timedelta(minutes=2)), created_days_ago=3, readers=25)
        enqueue = enqueuer(settings)
        with Worker(settings, tmp_path / "worker.log") as worker:
            first = dispatch.run_tick(settings, enqueue)
            assert len(first.enqueued["edition"]) == 1
            wait_for(lambda: delivery_states(settings) == {DeliveryState.SENT: 25}, timeout=60,
                     what="25 deliveries sent")
            assert "edition 1 built, 25 deliveries in 3 batches" in worker.output()
            again = dispatch.run_tick(settings, enqueue)
            assert again.enqueued == {k: [] for k in dispatch.KINDS}
        assert sorted(smtp.handler.recipients().values()) == [1] * 25  # each reader once
    [edition] = editions(settings)
    assert edition.status == EditionStatus.SENT
    assert sum(t["editions"] for t in dispatch.last_ticks(settings)) == 1


def test_a_list_schedule_edited_in_the_database_counts_at_the_next_tick(settings):
    ingest_as_news(settings)
    now = datetime.now(timezone.utc)
    list_id = scheduled_list(settings, daily_at(now + timedelta(hours=2)), created_days_ago=0.5,
                             readers=1)
    recorder = Recorder()
    assert dispatch.run_tick(settings, recorder, now=now).enqueued["edition"] == []
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(MailingList).values(schedule=daily_at(now - timedelta(minutes=1))))
    report = dispatch.run_tick(settings, recorder, now=now)
    assert report.enqueued["edition"] == [list_id]
    [(task, args)] = recorder.sent
    slot = datetime.fromisoformat(args[1])
    assert task == dispatch.BUILD_EDITION and args[0] == list_id
    assert timedelta(0) < now - slot <= timedelta(minutes=2)


def test_email_keeps_flowing_while_a_platform_waits_for_its_rate_limit_reset(queued, fake_x, tmp_path):
    with SmtpServer() as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 5})
        now = datetime.now(timezone.utc)
        scheduled_list(settings, daily_at(now - timedelta(minutes=1)), created_days_ago=1, readers=12)
        _accounts_and_article(settings, fake_x)
        reset_at = int(time.time()) + 4
        fake_x.rate_limit_next(reset_at, path="/2/tweets")
        enqueue = enqueuer(settings)
        with Worker(settings, tmp_path / "worker.log", app="tests.support.celery_app"):
            first = dispatch.run_tick(settings, enqueue)
            assert len(first.enqueued["post"]) == 3 and len(first.enqueued["edition"]) == 1
            wait_for(lambda: delivery_states(settings) == {DeliveryState.SENT: 12}
                     and _outcome(settings)["x"] == "scheduled" and _x_post(settings).last_error,
                     timeout=60, what="the digest delivered while x waits")
            assert fake_x.tweets == [] and len(smtp.handler.messages) == 12
            wait_for(lambda: dispatch.run_tick(settings, enqueue) and _x_post(settings).state == "sent",
                     interval=0.2, timeout=30, what="the x post after its reset")
        assert len(fake_x.to("/2/tweets", "POST")) == 2 and len(fake_x.tweets) == 1
        assert len(smtp.handler.messages) == 12


WORKER_APP_NAME = "pressbot-test-worker"


def terminate_worker_connections() -> int:
    """Drop every database connection of the worker, as a restarted or failed-over
    PostgreSQL would (the worker's URL names it in application_name)."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            return conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": WORKER_APP_NAME})
    finally:
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_batch_whose_database_connection_drops_retries_and_completes(queued, tmp_path):
    """Issue 5's failure test 6: the connections drop while a message is in flight; the
    task retries (backoff), the rows' lease runs out, the retry sends the rest. Only the
    message in flight can go twice, with the same Message-ID."""
    with SmtpServer() as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 100})
        ingest_as_news(settings)
        now = datetime.now(timezone.utc)
        scheduled_list(settings, daily_at(now - timedelta(minutes=1)), created_days_ago=1, readers=20)
        smtp.handler.hold_at = 5  # the 5th message stays unanswered until released
        named = settings.model_copy(update={
            "database_url": f"{settings.database_url}&application_name={WORKER_APP_NAME}"})
        with Worker(named, tmp_path / "worker.log", app="tests.support.celery_app") as worker:
            dispatch.run_tick(settings, enqueuer(settings))
            assert smtp.handler.held.wait(60), worker.output()
            assert terminate_worker_connections() >= 1
            smtp.handler.hold_at = None
            smtp.handler.release.set()
            wait_for(lambda: delivery_states(settings) == {DeliveryState.SENT: 20}, timeout=90,
                     interval=0.2, what="every delivery sent after the retry")
            assert "retry 1 in" in worker.output()
        counts = smtp.handler.recipients()
    assert set(counts) == {f"reader{i}@example.net" for i in range(20)}
    twice = [address for address, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(n <= 2 for n in counts.values())
    for address in twice:
        assert len({m.message_id for m in smtp.handler.by_recipient(address)}) == 1


def test_a_flushed_redis_loses_messages_not_work(queued, tmp_path):
    """Issue 5's failure test 2: Redis loses its data mid-edition (FLUSHDB on the test
    database). The batch running finishes; the queued batch messages are gone; the tick
    re-finds the unfinished deliveries; every reader gets exactly one message."""
    with SmtpServer() as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 20,
                                             "redispatch_after": 1.0})
        ingest_as_news(settings)
        now = datetime.now(timezone.utc)
        scheduled_list(settings, daily_at(now - timedelta(minutes=1)), created_days_ago=1, readers=100)
        smtp.handler.hold_at = 10  # the first batch is in flight when Redis is flushed
        enqueue = enqueuer(settings)
        with Worker(settings, tmp_path / "worker.log", concurrency=1) as worker:
            dispatch.run_tick(settings, enqueue)
            assert smtp.handler.held.wait(60), worker.output()
            assert queue_depth(settings) == 4  # five batches: one running, four waiting
            flush_redis()
            assert queue_depth(settings) == 0
            smtp.handler.hold_at = None
            smtp.handler.release.set()
            wait_for(lambda: delivery_states(settings).get(DeliveryState.SENT) == 20,
                     what="the running batch to finish")

            def tick_until_sent() -> bool:
                dispatch.run_tick(settings, enqueuer(settings))
                return delivery_states(settings) == {DeliveryState.SENT: 100}

            wait_for(tick_until_sent, timeout=90, interval=0.5, what="the rest re-found and sent")
    counts = smtp.handler.recipients()
    assert len(counts) == 100 and set(counts.values()) == {1}


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def test_an_edition_wider_than_one_fan_out_is_sent_without_waiting_for_another_tick(queued, tmp_path):
    """55 batches' worth of readers: the build enqueues the most one tick may (50); each
    batch that goes well hands on to one more while rows are due, so the last five
    batches go out now, not after PRESSBOT_REDISPATCH_AFTER."""
    from bot.services.dispatch_email import MAX_BATCH_MESSAGES

    readers = (MAX_BATCH_MESSAGES + 5) * 2
    with SmtpServer(keep_content=False) as smtp:
        settings = queued.model_copy(update={"smtp_url": smtp.url, "batch_size": 2})
        ingest_targets(settings, [str(ROOT / "examples")])
        now = datetime.now(timezone.utc)
        scheduled_list(settings, daily_at(now - timedelta(minutes=2)), created_days_ago=1, readers=readers)
        enqueue = enqueuer(settings)
        with Worker(settings, tmp_path / "worker.log") as worker:
            assert len(dispatch.run_tick(settings, enqueue).enqueued["edition"]) == 1
            wait_for(lambda: delivery_states(settings) == {DeliveryState.SENT: readers}, timeout=90,
                     what=f"{readers} deliveries sent with no second tick")
            assert f"{readers} deliveries in {MAX_BATCH_MESSAGES} batches" in worker.output()
        assert sorted(smtp.handler.recipients().values()) == [1] * readers

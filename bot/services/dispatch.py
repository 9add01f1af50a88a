"""The dispatcher: one tick finds due work in the database and enqueues its ids.

Beat calls it every `tick_seconds` (the `dispatch` task); `pressbot run --once` calls it
directly. The database is the source of truth (DESIGN principle 1): a tick re-finds
sources whose poll is due, share posts whose slot has come, and claims whose lease ran out
(their worker died), so a lost message or a killed worker delays work, never loses it.
Editors' schedules are rows, read afresh each tick: a change counts at the next tick.

A tick holds the dispatch lock (bot.services.locks) and enqueues each item once per due
time (DispatchMark), after the transaction that records it has committed.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.services import ab_tests, bounce_mailbox, engagement, post_metrics, shares
from bot.services.dispatch_email import find_email_work, unsettled_deliveries
from bot.services.ingest import due_source_ids
from bot.services.locks import dispatch_lock
from bot.services.share_scheduling import schedule_pass
from bot.store.db import session_scope
from bot.store.dispatch import DispatchMark, DispatchTick
from bot.store.models import PostState, SharePost, SocialAccount, Source, utcnow

log = logging.getLogger(__name__)

# Task names: the dispatcher sends by name, so bot/ never imports tasks/.
POLL_SOURCE = "pressbot.poll_source"
PUBLISH_POST = "pressbot.publish_post"
BUILD_EDITION = "pressbot.build_edition"
DELIVER_BATCH = "pressbot.deliver_batch"
FETCH_POST_METRICS = "pressbot.fetch_post_metrics"
# "metric": a sent post's counts to fetch back (issue 14); no DispatchTick column of its own.
KINDS = ("source", "post", "edition", "batch", "metric")
COUNT_COLUMN = {"source": "sources", "post": "posts", "edition": "editions", "batch": "batches"}

# At most this many items of one kind per tick: a backlog drains over a few ticks instead
# of one tick holding the lock while it writes tens of thousands of marks.
MAX_PER_KIND = 1000
# Ticks are kept this long for `pressbot status` and the dashboard.
KEEP_TICKS = timedelta(days=7)

Enqueue = Callable[[str, list], None]
"""(task name, args) → the message is on the broker (raises if it could not be sent)."""


@dataclass(frozen=True)
class Job:
    kind: str          # one of KINDS
    item_id: int
    due_at: datetime
    task: str
    args: list         # ids and ISO times only (JSON)
    copies: int = 1    # messages to send (a large edition fans out in several batches)


@dataclass
class TickReport:
    acted: bool                                   # False: another dispatcher held the lock
    at: datetime
    tick_id: int | None = None
    scheduled: int = 0
    scheduling_left: bool = False                 # new articles wait for the next tick
    scheduling_chunks: int = 0                    # committed chunks of new articles (≤ budget)
    enqueued: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    already_queued: int = 0
    jobs: list[Job] = field(default_factory=list)   # what this tick enqueued
    bounces: dict | None = None                     # the bounce mailbox's poll (bounce_mailbox)
    engagement: int = 0                             # click/open hits folded from Redis (issue 14)
    ab_decided: list[int] = field(default_factory=list)  # editions whose A/B test picked a winner

    def summary(self) -> str:
        if not self.acted:
            return "another dispatcher holds the lock; skipped"
        counts = ", ".join(_plural(len(ids), kind) for kind, ids in self.enqueued.items()
                           if ids) or "nothing"
        extra = f"; {self.already_queued} still queued" if self.already_queued else ""
        new = f"{self.scheduled} new share posts scheduled; " if self.scheduled else ""
        if self.scheduling_left:
            new += "more new articles next tick; "
        return f"{new}enqueued {counts}{extra}"


def _plural(n: int, kind: str) -> str:
    return f"{n} {kind}" if n == 1 else f"{n} {kind}{'es' if kind.endswith('h') else 's'}"


def run_tick(settings: Settings, enqueue: Enqueue, now: datetime | None = None) -> TickReport:
    """One dispatch: under the lock, schedule, find due work, record, then enqueue."""
    now = now or utcnow()
    with dispatch_lock(settings) as held:
        if not held:
            log.info("dispatch skipped: another dispatcher holds the lock")
            return TickReport(acted=False, at=now)
        return _tick(settings, enqueue, now)


def _tick(settings: Settings, enqueue: Enqueue, now: datetime) -> TickReport:
    report = TickReport(acted=True, at=now)
    # Bounded, committed chunks: a bulk arrival takes several ticks, and this tick still
    # goes on to the polls, posts and digests that are due (issue 10: it used to schedule
    # everything in one transaction, pass the task's time limit, roll back and start over).
    scheduling = schedule_pass(settings, now)
    report.scheduled, report.scheduling_left = scheduling.scheduled, scheduling.more
    report.scheduling_chunks = scheduling.chunks
    # Campaigns whose A/B subject test is due: the winner picked and the rest released now,
    # so this tick's find_due already enqueues their batches.
    report.ab_decided = _decide_ab_tests(settings, now)
    jobs = find_due(settings, now)
    with session_scope(settings.effective_database_url) as session:
        fresh = _mark(session, jobs, now, timedelta(seconds=settings.redispatch_after))
        tick = DispatchTick(started_at=now, holder=f"{socket.gethostname()}:{os.getpid()}",
                            scheduled=report.scheduled, already_queued=len(jobs) - len(fresh),
                            **{COUNT_COLUMN[k]: sum(j.copies for j in fresh if j.kind == k)
                               for k in COUNT_COLUMN})
        session.add(tick)
        session.flush()
        report.tick_id, report.already_queued = tick.id, tick.already_queued
    # Committed: only now do the ids go to the broker (enqueue after commit).
    _enqueue_all(settings, enqueue, fresh, report)
    # After the enqueueing, under the lock (one reader per mailbox); bounded and time-limited.
    report.bounces = bounce_mailbox.poll_on_tick(settings)
    report.engagement = _fold_engagement(settings)
    _finish(settings, report.tick_id, now, error=None)
    log.info("tick %s: %s", report.tick_id, report.summary())
    return report


def _decide_ab_tests(settings: Settings, now: datetime) -> list[int]:
    """A failure is logged and the decision tried again next tick: it must not stop the
    dispatcher (the held rows wait, nothing is lost)."""
    try:
        return ab_tests.decide_due(settings, now)
    except Exception:  # noqa: BLE001
        log.exception("A/B subject tests not decided this tick")
        return []


def _fold_engagement(settings: Settings) -> int:
    """Clicks and opens buffered in Redis into their tables (bounded). A failure here is
    logged and retried next tick: figures must not stop the dispatcher."""
    try:
        return engagement.fold(settings)
    except Exception:  # noqa: BLE001
        log.exception("engagement counts not folded this tick")
        return 0


def _enqueue_all(settings: Settings, enqueue: Enqueue, fresh: list[Job],
                 report: TickReport) -> None:
    sent: list[Job] = []
    try:
        for job in fresh:
            for _ in range(job.copies):
                enqueue(job.task, job.args)
                report.enqueued[job.kind].append(job.item_id)
            sent.append(job)
            report.jobs.append(job)
    except Exception as exc:
        # The broker is down: forget the marks of what did not go, so the next tick
        # enqueues it as soon as the broker is back (not after `redispatch_after`).
        _unmark(settings, fresh[len(sent):])
        _finish(settings, report.tick_id, report.at, error=f"{type(exc).__name__}: {exc}")
        raise


# -- Finding due work -----------------------------------------------------------------------


def find_due(settings: Settings, now: datetime) -> list[Job]:
    return (_due_sources(settings, now) + _due_posts(settings, now)
            + due_email_jobs(settings, now) + _due_metrics(settings, now))


def _due_sources(settings: Settings, now: datetime) -> list[Job]:
    ids = due_source_ids(settings, now)[:MAX_PER_KIND]
    if not ids:
        return []
    with session_scope(settings.effective_database_url) as session:
        due = dict(session.execute(select(Source.id, Source.next_poll_at)
                                   .where(Source.id.in_(ids))).all())
    return [Job("source", i, due[i], POLL_SOURCE, [i]) for i in ids if due.get(i)]


def _due_posts(settings: Settings, now: datetime) -> list[Job]:
    """Scheduled posts whose slot came, and claimed ones whose lease expired, on accounts
    that may post (a paused account's posts wait for `accounts check`)."""
    with session_scope(settings.effective_database_url) as session:
        rows = session.execute(
            select(SharePost.id, SharePost.state, SharePost.scheduled_at, SharePost.lease_until)
            .join(SocialAccount)
            .where(shares._due_clause(now), SocialAccount.active.is_(True),
                   SocialAccount.needs_attention.is_(None))
            .order_by(SharePost.scheduled_at).limit(MAX_PER_KIND)).all()
    return [Job("post", pid, lease if state == PostState.CLAIMED else scheduled, PUBLISH_POST, [pid])
            for pid, state, scheduled, lease in rows]


def _due_metrics(settings: Settings, now: datetime) -> list[Job]:
    """Sent posts whose counts are due to be fetched back (bot.services.post_metrics)."""
    return [Job("metric", pid, due, FETCH_POST_METRICS, [pid])
            for pid, due in post_metrics.due_posts(settings, now, MAX_PER_KIND)]


def due_email_jobs(settings: Settings, now: datetime) -> list[Job]:
    """Digests whose list schedule has come, and editions with deliveries due."""
    editions, batches = find_email_work(settings, now)
    return ([Job("edition", list_id, slot, BUILD_EDITION, [list_id, slot.isoformat()])
             for list_id, slot in editions[:MAX_PER_KIND]]
            + [Job("batch", edition_id, due_at, DELIVER_BATCH, [edition_id], copies=messages)
               for edition_id, due_at, messages in batches[:MAX_PER_KIND]])


# -- Marks: each item once per due time ------------------------------------------------------


def _mark(session: Session, jobs: list[Job], now: datetime, redispatch_after: timedelta) -> list[Job]:
    """The jobs not already enqueued for this due time recently; marks them enqueued."""
    if not jobs:
        return []
    keys = [(j.kind, j.item_id) for j in jobs]
    marks = {(m.kind, m.item_id): m for m in session.scalars(
        select(DispatchMark).where(tuple_(DispatchMark.kind, DispatchMark.item_id).in_(keys)))}
    fresh = []
    for job in jobs:
        mark = marks.get((job.kind, job.item_id))
        if mark and mark.due_at == job.due_at and mark.enqueued_at > now - redispatch_after:
            continue  # still in the queue (or being worked on): once is enough
        if mark is None:
            session.add(DispatchMark(kind=job.kind, item_id=job.item_id, due_at=job.due_at,
                                     enqueued_at=now))
        else:
            mark.due_at, mark.enqueued_at = job.due_at, now
        fresh.append(job)
    return fresh


def _unmark(settings: Settings, jobs: list[Job]) -> None:
    if not jobs:
        return
    with session_scope(settings.effective_database_url) as session:
        session.execute(delete(DispatchMark).where(
            tuple_(DispatchMark.kind, DispatchMark.item_id).in_([(j.kind, j.item_id) for j in jobs])))


def _finish(settings: Settings, tick_id: int | None, now: datetime, error: str | None) -> None:
    with session_scope(settings.effective_database_url) as session:
        tick = session.get(DispatchTick, tick_id)
        if tick is not None:
            tick.finished_at, tick.error = utcnow(), error
        # A mark older than redispatch_after no longer stops anything: drop it.
        session.execute(delete(DispatchMark).where(
            DispatchMark.enqueued_at <= now - timedelta(seconds=settings.redispatch_after)))
        session.execute(delete(DispatchTick).where(DispatchTick.started_at < now - KEEP_TICKS))


def last_ticks(settings: Settings, limit: int = 10) -> list[dict]:
    with session_scope(settings.effective_database_url) as session:
        ticks = session.scalars(select(DispatchTick).order_by(DispatchTick.id.desc()).limit(limit))
        return [{"id": t.id, "at": t.started_at.isoformat(), "holder": t.holder,
                 "finished_at": t.finished_at.isoformat() if t.finished_at else None,
                 "scheduled": t.scheduled, "sources": t.sources, "posts": t.posts,
                 "editions": t.editions, "batches": t.batches,
                 "already_queued": t.already_queued, "error": t.error} for t in ticks]


def unsettled(settings: Settings, report: TickReport) -> int:
    """How many of the items a tick enqueued are not yet done with: posts still due or
    claimed, sources not polled since the tick. `pressbot run --once` waits for 0."""
    posts, sources = report.enqueued["post"], report.enqueued["source"]
    with session_scope(settings.effective_database_url) as session:
        waiting = 0
        if posts:
            waiting += len(session.scalars(select(SharePost.id).where(
                SharePost.id.in_(posts),
                (SharePost.state == PostState.CLAIMED)
                | ((SharePost.state == PostState.SCHEDULED)
                   & (SharePost.scheduled_at <= report.at)))).all())
        if sources:
            waiting += len(session.scalars(select(Source.id).where(
                Source.id.in_(sources),
                Source.last_polled_at.is_(None) | (Source.last_polled_at < report.at))).all())
    return waiting + unsettled_email(settings, report)


def unsettled_email(settings: Settings, report: TickReport) -> int:
    builds = [(j.item_id, j.due_at) for j in report.jobs if j.kind == "edition"]
    return unsettled_deliveries(settings, sorted(set(report.enqueued["batch"])), builds)

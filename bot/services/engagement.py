"""Counting clicks and opens without slowing the redirect (issue 14).

The redirect only bumps an in-process `Buffer` (a dict, under a lock). The buffer is
drained at most every FLUSH_SECONDS (or at FLUSH_EVENTS events) off the request path:
with REDIS_URL into a Redis hash and list (one pipeline), shared by every web process;
without, straight into the aggregate tables. The dispatcher tick then folds what Redis
holds into the database (`fold`), a bounded amount a tick.

A Redis crash loses the counts of the last tick at most; a web process killed without a
drain loses up to FLUSH_SECONDS of counts. Counts are figures, not ledgers: that is the
price of a redirect that never waits on a database.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from time import monotonic

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import Settings
from bot.store.db import session_scope
from bot.store.engagement import EngagementCount, SubscriberClick
from bot.store.mailing import Edition, MailingList, Subscriber

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
FLUSH_EVENTS = 1000
# Redis keys, after the install's queue name (PRESSBOT_QUEUE): two installs sharing a Redis
# database keep their counts apart, as they keep their queues and dispatch locks.
COUNTS, FOLDING, CLICKS = "engagement:counts", "engagement:counts:folding", "engagement:clicks"


def redis_keys(settings: Settings) -> tuple[str, str, str]:
    """(counts hash, hash being folded, reader-click list) of this install."""
    return tuple(f"{settings.queue}:{name}" for name in (COUNTS, FOLDING, CLICKS))
FOLD_CLICKS = 5000     # reader-history rows a tick adds at most; the rest wait for the next

# (edition_id, kind, url, article_id, A/B subject letter or "")
CountKey = tuple[int, str, str, "int | None", str]


def count_key(raw: list) -> CountKey:
    """A key as Redis holds it; one pushed before the A/B subject test (four elements,
    still there after an upgrade) counts with no letter."""
    return tuple(raw) if len(raw) == 5 else (*raw, "")


@dataclass(frozen=True)
class ReaderClick:
    edition_id: int
    subscriber_id: int
    article_id: int | None
    url: str
    at: float   # Unix time


class Buffer:
    """What the redirect adds to: counts and reader clicks since the last drain."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._clicks: list[ReaderClick] = []
        self._events = 0
        self._since = monotonic()

    def count(self, key: CountKey) -> None:
        with self._lock:
            self._counts[key] += 1
            self._events += 1

    def click(self, click: ReaderClick) -> None:
        with self._lock:
            self._clicks.append(click)

    def pending(self) -> bool:
        return bool(self._events or self._clicks)

    def due(self) -> bool:
        return self._events >= FLUSH_EVENTS or (
            self._events > 0 and monotonic() - self._since >= FLUSH_SECONDS)

    def drain(self) -> tuple[Counter, list[ReaderClick]]:
        with self._lock:
            counts, clicks = self._counts, self._clicks
            self._counts, self._clicks, self._events = Counter(), [], 0
            self._since = monotonic()
        return counts, clicks


def drain(settings: Settings, buffer: Buffer) -> None:
    """Push what `buffer` holds now (the web layer's timer; tests; shutdown)."""
    push(settings, *buffer.drain())


def push(settings: Settings, counts: Counter, clicks: list[ReaderClick]) -> None:
    """A drained buffer to Redis (REDIS_URL) or, without, to the database."""
    if not counts and not clicks:
        return
    if not settings.redis_url:
        store(settings, counts, clicks)
        return
    from bot.broker import redis_client

    counts_key, _, clicks_key = redis_keys(settings)
    client = redis_client(settings)
    try:
        pipe = client.pipeline(transaction=False)
        for key, n in counts.items():
            pipe.hincrby(counts_key, json.dumps(list(key)), n)
        if clicks:
            pipe.rpush(clicks_key, *[json.dumps([c.edition_id, c.subscriber_id, c.article_id,
                                                 c.url, c.at]) for c in clicks])
        pipe.execute()
    finally:
        client.close()


def fold(settings: Settings) -> int:
    """The tick's part: move what Redis holds into the tables; the number of hits folded.
    The hash is renamed first, so hits arriving meanwhile go to a fresh one; a fold that
    died half-way left the folding hash behind, and it is folded again (counted at most twice,
    never lost)."""
    if not settings.redis_url:
        return 0
    from bot.broker import redis_client

    counts_key, folding_key, clicks_key = redis_keys(settings)
    client = redis_client(settings)
    try:
        if not client.exists(folding_key):
            try:
                client.rename(counts_key, folding_key)
            except Exception as exc:  # noqa: BLE001 - "no such key": nothing counted since
                if "no such key" not in str(exc).lower():
                    raise
        counts = Counter()
        for k, v in client.hgetall(folding_key).items():
            counts[count_key(json.loads(k))] += int(v)
        raw = client.lrange(clicks_key, 0, FOLD_CLICKS - 1)
        clicks = [ReaderClick(*json.loads(r)) for r in raw]
        store(settings, counts, clicks)
        client.delete(folding_key)
        if raw:
            client.ltrim(clicks_key, len(raw), -1)
        return sum(counts.values()) + len(clicks)
    finally:
        client.close()


def _insert(dialect: str):
    return pg_insert if dialect == "postgresql" else sqlite_insert


def store(settings: Settings, counts: Counter, clicks: list[ReaderClick]) -> None:
    """Add counts to the aggregates (an upsert per key) and keep the reader clicks of lists
    that still opt in, for subscribers that still exist. Hits on editions since deleted
    are dropped."""
    with session_scope(settings.effective_database_url) as session:
        dialect = session.get_bind().dialect.name
        wanted = {key[0] for key in counts} | {c.edition_id for c in clicks}
        rows = session.execute(select(Edition.id, MailingList.track_subscriber_clicks)
                               .join(MailingList, MailingList.id == Edition.list_id)
                               .where(Edition.id.in_(wanted))).all() if wanted else []
        editions = dict(rows)
        insert = _insert(dialect)
        for key, n in counts.items():
            edition_id, kind, url, article_id, variant = count_key(list(key))
            if edition_id not in editions:
                continue
            stmt = insert(EngagementCount).values(edition_id=edition_id, kind=kind, url=url,
                                                  article_id=article_id, variant=variant, count=n)
            session.execute(stmt.on_conflict_do_update(
                index_elements=["edition_id", "kind", "url", "variant"],
                set_={"count": EngagementCount.count + stmt.excluded.count}))
        kept = [c for c in clicks if editions.get(c.edition_id)]
        if kept:
            alive = set(session.scalars(select(Subscriber.id).where(
                Subscriber.id.in_({c.subscriber_id for c in kept}))))
            session.add_all(SubscriberClick(
                edition_id=c.edition_id, subscriber_id=c.subscriber_id, article_id=c.article_id,
                url=c.url, clicked_at=datetime.fromtimestamp(c.at, timezone.utc))
                for c in kept if c.subscriber_id in alive)

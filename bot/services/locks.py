""""Only one dispatch acts at a time", whatever runs it: two beat processes, a beat and a
`pressbot run --once`, or a tick that outlives its minute.

The lock comes from the shared system the deployment already has: Redis when configured
(a key with an expiry, so a dead holder frees it by itself), otherwise PostgreSQL (an
advisory lock tied to a transaction, freed when the holder's connection goes), otherwise,
on one machine with SQLite, a file lock in the data folder (freed when the holder exits).
Each is non-blocking: a dispatch that finds the lock taken skips its tick, the next one
re-finds whatever is still due.
"""

from __future__ import annotations

import fcntl
import logging
import zlib
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text

from bot import broker
from bot.config import Settings
from bot.store.db import get_engine

log = logging.getLogger(__name__)

# Below one tick, so a holder that died (SIGKILL, lost host) delays one tick at most.
LOCK_SHARE_OF_TICK = 0.8


def lock_name(settings: Settings) -> str:
    # Named after the queue: deployments (and tests) sharing a Redis or a database but not
    # a queue must not block each other.
    return f"pressbot:{settings.queue}:dispatch-lock"


def lock_kind(settings: Settings) -> str:
    if settings.redis_url:
        return "redis"
    if get_engine(settings.effective_database_url).dialect.name == "postgresql":
        return "postgresql"
    return "file"


def lock_timeout(settings: Settings) -> float:
    return max(1.0, settings.tick_seconds * LOCK_SHARE_OF_TICK)


@contextmanager
def dispatch_lock(settings: Settings) -> Iterator[bool]:
    """Yields True when this caller holds the lock, False when someone else does."""
    kind = lock_kind(settings)
    if kind == "redis":
        with _redis_lock(settings) as held:
            yield held
    elif kind == "postgresql":
        with _advisory_lock(settings) as held:
            yield held
    else:
        with _file_lock(settings) as held:
            yield held


@contextmanager
def _redis_lock(settings: Settings) -> Iterator[bool]:
    from redis.exceptions import LockError

    client = broker.redis_client(settings)
    lock = client.lock(lock_name(settings), timeout=lock_timeout(settings), blocking=False)
    held = lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            try:
                lock.release()
            except LockError:  # it expired while we worked: someone may hold it now
                log.warning("the dispatch lock expired before this tick ended")
        client.close()


def advisory_key(settings: Settings) -> int:
    return zlib.crc32(lock_name(settings).encode())  # fits PostgreSQL's bigint


@contextmanager
def _advisory_lock(settings: Settings) -> Iterator[bool]:
    # A connection of its own, outside the work's sessions: the lock lives as long as this
    # transaction, and the work commits (and enqueues after commit) while it is held.
    with get_engine(settings.effective_database_url).connect() as conn:
        with conn.begin():
            held = bool(conn.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                    {"key": advisory_key(settings)}))
            yield held


@contextmanager
def _file_lock(settings: Settings) -> Iterator[bool]:
    path = settings.ensure_home() / "dispatch.lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

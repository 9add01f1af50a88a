"""Fixed-window counters in the database: login guesses and subscribe-form posts.

`hit` counts one attempt and says whether it is within the limit; `clear` forgets a key
(after a successful login). In the database so every web worker shares the count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.store.db import session_scope
from bot.store.editors import Throttle


def hit(settings: Settings, key: str, *, limit: int, window: timedelta,
        now: datetime | None = None) -> tuple[bool, int]:
    """Count one hit. (allowed, seconds until the window resets)."""
    now = now or datetime.now(timezone.utc)
    for _ in range(2):  # a concurrent first hit may insert the row before us: then update it
        try:
            with session_scope(settings.effective_database_url) as session:
                row = session.get(Throttle, key, with_for_update=True)
                if row is None:
                    row = Throttle(key=key, window_start=now, hits=0)
                    session.add(row)
                elif now - row.window_start >= window:
                    row.window_start, row.hits = now, 0
                row.hits += 1
                left = int((row.window_start + window - now).total_seconds()) + 1
                return row.hits <= limit, left
        except IntegrityError:
            continue
    return False, int(window.total_seconds())


def blocked(settings: Settings, key: str, *, limit: int, window: timedelta,
            now: datetime | None = None) -> int:
    """Seconds until `key` may try again (0: it may now), without counting a hit."""
    now = now or datetime.now(timezone.utc)
    with session_scope(settings.effective_database_url) as session:
        row = session.get(Throttle, key)
        if row is None or row.hits < limit or now - row.window_start >= window:
            return 0
        return int((row.window_start + window - now).total_seconds()) + 1


def clear(settings: Settings, key: str) -> None:
    with session_scope(settings.effective_database_url) as session:
        row = session.get(Throttle, key)
        if row is not None:
            session.delete(row)

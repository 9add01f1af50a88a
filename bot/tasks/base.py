"""What every task shares: the error mapping and the retry backoff (DESIGN principle 4).

TransientError → retry later, after the wait the remote asked for or an exponential
backoff with jitter; a dropped database connection counts as transient too. PermanentError
→ the service has recorded it (or we log it); the task stops without retrying.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from typing import Callable, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.errors import PermanentError, TransientError
from bot.tasks.config import MAX_COUNTDOWN, MAX_RETRIES, RETRY_BASE

log = logging.getLogger("tasks")
T = TypeVar("T")


def backoff_seconds(retries: int, retry_after: float | None = None, *,
                    rand: Callable[[], float] = random.random) -> float | None:
    """The countdown before retry number `retries + 1`, or None when the wait is longer
    than a Celery countdown should hold (the dispatcher re-finds the work then).

    Exponential with "equal jitter": half the step fixed, half random, so workers that
    failed together do not retry together. A remote's requested wait is a floor, plus a
    little jitter (up to 10 %, at most 30 s) so a crowd does not arrive at the reset."""
    step = min(MAX_COUNTDOWN, RETRY_BASE * 2 ** retries)
    delay = step / 2 + rand() * step / 2
    if retry_after:
        if retry_after > MAX_COUNTDOWN:
            return None
        delay = max(delay, retry_after + rand() * min(retry_after * 0.1, 30))
    return min(delay, MAX_COUNTDOWN)


def is_transient_db_error(exc: BaseException) -> bool:
    """A lost or refused database connection, or SQLite's "database is locked": worth a
    retry (the pool reconnects). Raw driver errors count too: the delivery ledger records
    on the driver's own cursor."""
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError) or exc.connection_invalidated
    if isinstance(exc, sqlite3.OperationalError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError)


def call_service(task, fn: Callable[..., T], *args, **kwargs) -> T | None:
    """Run a service for a bound task and map its errors to Celery's retry or a stop."""
    try:
        return fn(*args, **kwargs)
    except TransientError as exc:
        _retry(task, exc, exc.retry_after)
    except PermanentError as exc:
        log.warning("%s%s failed for good: %s", task.name, list(args[1:]), exc)
        return None
    except Exception as exc:
        if not is_transient_db_error(exc):
            raise
        _retry(task, exc, None)
    return None


def _retry(task, exc: Exception, retry_after: float | None) -> None:
    countdown = backoff_seconds(task.request.retries, retry_after)
    if countdown is None:
        log.warning("%s: %s; the remote asks for %.0f s: left to the dispatcher",
                    task.name, exc, retry_after or 0)
        return
    log.info("%s: %s; retry %d in %.0f s", task.name, exc, task.request.retries + 1, countdown)
    raise task.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES)

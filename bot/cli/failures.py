"""Failures of the world around a command, as one line instead of a traceback: the
database or the broker cannot be reached (a wrong DATABASE_URL or REDIS_URL, a server
down). The URL is named with its password masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.masking import mask_url

if TYPE_CHECKING:
    from bot.config import Settings


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def unreachable(exc: BaseException, settings: Settings) -> str | None:
    """One line saying which server cannot be reached and why; None when `exc` is not
    that (a bug keeps its traceback)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    for link in _chain(exc):
        if isinstance(link, (OperationalError, InterfaceError)):
            return (f"cannot use the database {mask_url(settings.effective_database_url)}: "
                    f"{_first_line(link)}")
        if _is_broker_error(link):
            return f"cannot reach the broker {mask_url(settings.redis_url)}: {_first_line(link)}"
    return None


def _is_broker_error(exc: BaseException) -> bool:
    try:
        from kombu.exceptions import OperationalError as KombuError
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
    except ImportError:   # pragma: no cover - both come with celery[redis]
        return False
    return isinstance(exc, (KombuError, RedisConnectionError, RedisTimeout))

"""Which outside systems are failing now, with their last error and since when (DESIGN
principle 7): the SMTP server, each social account, each polled source, Redis.

The code that talks to a system records the outcome here: `failed` on an error that is the
system's (a refused connection, a 5xx, refused credentials), `recovered` on the next
success. Both are one small statement, so they run inline with the work. The dashboard's
failures page, the edition page, `pressbot status` and /healthz read `current`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.masking import mask_text, mask_url
from bot.store.db import session_scope
from bot.store.models import SocialAccount, Source, utcnow
from bot.store.outages import Outage

SMTP = "smtp"
REDIS = "redis"
# Errors are kept short: a page of HTML from a proxy says no more than its first lines.
MAX_ERROR = 1000


def account_key(account_id: int) -> str:
    return f"account:{account_id}"


def source_key(source_id: int) -> str:
    return f"source:{source_id}"


def mail_system(settings: Settings) -> str:
    """The outage key of the configured mail transport ("smtp", or the outbox folder)."""
    return SMTP if settings.smtp_url else "outbox"


def mark_failed(session: Session, system: str, error: str, now: datetime | None = None) -> None:
    """Record a failure of `system` in the caller's transaction: a new outage starts now,
    an ongoing one keeps its `since` and gets the newer error."""
    now, error = now or utcnow(), (error or "unknown error")[:MAX_ERROR]
    changed = session.execute(update(Outage).where(Outage.system == system).values(
        error=error, last_at=now, failures=Outage.failures + 1)).rowcount
    if changed:
        return
    try:
        with session.begin_nested():
            session.add(Outage(system=system, error=error, since=now, last_at=now, failures=1))
    except IntegrityError:   # another process recorded it first: add to theirs
        session.execute(update(Outage).where(Outage.system == system).values(
            error=error, last_at=now, failures=Outage.failures + 1))


def mark_recovered(session: Session, system: str) -> None:
    session.execute(delete(Outage).where(Outage.system == system))


def failed(settings: Settings, system: str, error: str, now: datetime | None = None) -> None:
    with session_scope(settings.effective_database_url) as session:
        mark_failed(session, system, error, now)


def recovered(settings: Settings, system: str) -> None:
    with session_scope(settings.effective_database_url) as session:
        mark_recovered(session, system)


def current(settings: Settings) -> list[dict]:
    """Every ongoing outage, oldest first: system key, kind, a name a person recognises
    (the account's name, the source's address), last error, since, last failure, count."""
    with session_scope(settings.effective_database_url) as session:
        rows = session.scalars(select(Outage).order_by(Outage.since, Outage.system)).all()
        ids = {"account": set(), "source": set()}
        for row in rows:
            kind, _, ident = row.system.partition(":")
            if kind in ids and ident.isdigit():
                ids[kind].add(int(ident))
        accounts = {a.id: f"{a.name} ({a.platform})" for a in session.scalars(
            select(SocialAccount).where(SocialAccount.id.in_(ids["account"])))} if ids["account"] else {}
        sources = {s.id: mask_url(s.url) for s in session.scalars(
            select(Source).where(Source.id.in_(ids["source"])))} if ids["source"] else {}
        result = []
        for row in rows:
            kind, _, ident = row.system.partition(":")
            names = {"account": accounts, "source": sources}.get(kind)
            if names is not None and ident.isdigit() and int(ident) not in names:
                continue   # the account or source was removed since
            name = names[int(ident)] if names is not None and ident.isdigit() else {
                SMTP: "SMTP server", REDIS: "Redis", "outbox": "email outbox"}.get(row.system, row.system)
            result.append({"system": row.system, "kind": kind, "name": name, "error": mask_text(row.error),
                           "since": row.since.isoformat(), "last_at": row.last_at.isoformat(),
                           "failures": row.failures})
        return result

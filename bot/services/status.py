"""`pressbot status`: is work flowing? Queue depth, due and overdue work, the last ticks,
recent failures with their reasons (DESIGN principle 7). Plain data for the CLI (--json)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from bot import broker
from bot.config import Settings
from bot.domain.masking import mask_text, mask_url
from bot.services import outages
from bot.services.dispatch import last_ticks
from bot.services.sending import due as delivery_due
from bot.services.shares import _due_clause
from bot.store.db import get_engine, session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, Subscriber
from bot.store.models import PostState, SharePost, SocialAccount, Source, utcnow

# Due for longer than this many ticks: the dispatcher or the workers are behind (or down).
OVERDUE_TICKS = 2
RECENT_FAILURES = 10


def status(settings: Settings, now: datetime | None = None) -> dict:
    now = now or utcnow()
    late = now - timedelta(seconds=settings.tick_seconds * OVERDUE_TICKS)
    result = {"at": now.isoformat(), "broker": _broker(settings), "database": check_database(settings)}
    if result["database"] != "ok":
        return result
    note_broker(settings, result["broker"]["check"])
    result["outages"] = outages.current(settings)
    with session_scope(settings.effective_database_url) as session:
        result["due"] = {"sources": _sources_due(session, now, late),
                         "share_posts": _posts_due(session, now, late),
                         "deliveries": _deliveries_due(session, now, late)}
        result["failures"] = _failures(session)
    result["ticks"] = last_ticks(settings, limit=5)
    return result


def _broker(settings: Settings) -> dict:
    info = {"kind": "filesystem" if broker.is_embedded(settings) else "redis",
            "queue": settings.queue, "check": broker.check(settings), "depth": None}
    if info["check"] == "ok":
        try:
            info["depth"] = broker.queue_depth(settings)
        except Exception as exc:  # status reports trouble; it does not fail on it
            info["check"] = f"error: {type(exc).__name__}: {exc}"
    return info


def note_broker(settings: Settings, check: str) -> None:
    """Keep a Redis that cannot be reached among the outages (with since when); the
    embedded broker is a folder of ours, not an outside system."""
    if broker.is_embedded(settings):
        return
    if check == "ok":
        outages.recovered(settings, outages.REDIS)
    else:
        outages.failed(settings, outages.REDIS, check)


def outside_systems(settings: Settings) -> list[dict]:
    """The failing outside systems (bot.services.outages), Redis checked now."""
    note_broker(settings, broker.check(settings))
    return outages.current(settings)


def health(settings: Settings) -> tuple[int, dict]:
    """/healthz: (HTTP status, body). 503 "failing" when the database or the broker cannot
    be reached (this instance cannot work); 200 "degraded" with the failing outside systems
    when only those fail (a container must not be restarted because the SMTP server is
    down); 200 "ok" otherwise."""
    checks = {"database": check_database(settings), "broker": broker.check(settings)}
    if checks["database"] != "ok":
        return 503, {"status": "failing", **checks}
    note_broker(settings, checks["broker"])
    failing = [{k: o[k] for k in ("system", "name", "error", "since")}
               for o in outages.current(settings) if o["system"] != outages.REDIS]
    if checks["broker"] != "ok":
        return 503, {"status": "failing", **checks, "failing": failing}
    return 200, {"status": "degraded" if failing else "ok", **checks, "failing": failing}


def check_database(settings: Settings) -> str:
    """"ok", or the kind of error (for /healthz and `pressbot status`)."""
    try:
        with get_engine(settings.effective_database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _count(session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _sources_due(session, now: datetime, late: datetime) -> dict:
    due = select(Source.id).where(Source.next_poll_at <= now)
    return {"due": _count(session, due),
            "overdue": _count(session, due.where(Source.next_poll_at <= late))}


def _posts_due(session, now: datetime, late: datetime) -> dict:
    due = select(SharePost.id).join(SocialAccount).where(
        _due_clause(now), SocialAccount.active.is_(True), SocialAccount.needs_attention.is_(None))
    overdue = due.where(((SharePost.state == PostState.SCHEDULED) & (SharePost.scheduled_at <= late))
                        | ((SharePost.state == PostState.CLAIMED) & (SharePost.lease_until <= late)))
    expired = due.where(SharePost.state == PostState.CLAIMED)
    paused = select(SharePost.id).join(SocialAccount).where(
        SharePost.state == PostState.SCHEDULED, SharePost.scheduled_at <= now,
        SocialAccount.needs_attention.is_not(None))
    return {"due": _count(session, due), "overdue": _count(session, overdue),
            "expired_claims": _count(session, expired), "waiting_on_paused_accounts": _count(session, paused)}


def _deliveries_due(session, now: datetime, late: datetime) -> dict:
    due = (select(Delivery.id).join(Edition, Edition.id == Delivery.edition_id)
           .where(Edition.status.in_((EditionStatus.PENDING, EditionStatus.SENDING)),
                  delivery_due(now)))
    overdue = due.where(
        ((Delivery.state == DeliveryState.PENDING)   # released by an A/B test: since then
         & (func.coalesce(Delivery.next_attempt_at, Edition.created_at) <= late))
        | ((Delivery.state == DeliveryState.DEFERRED) & (Delivery.next_attempt_at <= late))
        | ((Delivery.state == DeliveryState.CLAIMED) & (Delivery.lease_until <= late)))
    deferred = select(Delivery.id).where(Delivery.state == DeliveryState.DEFERRED)
    return {"due": _count(session, due), "overdue": _count(session, overdue),
            "deferred": _count(session, deferred)}


def _failures(session) -> list[dict]:
    posts = session.execute(
        select(SharePost.id, SocialAccount.name, SharePost.last_error, SharePost.scheduled_at)
        .join(SocialAccount).where(SharePost.state == PostState.FAILED)
        .order_by(SharePost.scheduled_at.desc()).limit(RECENT_FAILURES)).all()
    sources = session.execute(
        select(Source.id, Source.url, Source.last_error, Source.last_polled_at)
        .where(Source.failure_count > 0).order_by(Source.last_polled_at.desc())
        .limit(RECENT_FAILURES)).all()
    deliveries = session.execute(
        select(Delivery.id, Delivery.edition_id, Subscriber.email, Delivery.last_error,
               Edition.created_at)
        .join(Edition, Edition.id == Delivery.edition_id)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.state == DeliveryState.FAILED)
        .order_by(Delivery.id.desc()).limit(RECENT_FAILURES)).all()
    rows = ([{"kind": "share_post", "id": i, "what": name, "error": err,
              "at": at.isoformat() if at else None} for i, name, err, at in posts]
            + [{"kind": "source", "id": i, "what": mask_url(url), "error": mask_text(err),
                "at": at.isoformat() if at else None} for i, url, err, at in sources]
            + [{"kind": "delivery", "id": i, "what": f"edition {ed} → {to or '(erased)'}",
                "error": err, "at": at.isoformat()} for i, ed, to, err, at in deliveries])
    return sorted(rows, key=lambda r: r["at"] or "", reverse=True)[:RECENT_FAILURES]

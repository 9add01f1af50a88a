"""Trying failed work again, on an editor's word: failed deliveries of an edition, one
failed delivery, a failed share post.

Nothing is sent from here: the rows are made due *now*, and the next dispatch tick (within
a minute) enqueues them like any other due work. Deliveries go back as DEFERRED with
`next_attempt_at = now` rather than PENDING because the tick enqueues an edition again when
its newest due time moves; a pending row's due time is the edition's creation, long past
and already dispatched."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, update

from bot.config import Settings
from bot.services import share_edits
from bot.errors import BadInput
from bot.store.db import session_scope
from bot.store.mailing import (Delivery, DeliveryState, Edition, EditionStatus, MailingList,
                               Subscriber)
from bot.store.models import Article, PostState, SharePost, SocialAccount


def _now() -> datetime:
    return datetime.now(timezone.utc)


def resend_failed(settings: Settings, edition_id: int, delivery_ids: list[int] | None = None,
                  *, now: datetime | None = None) -> int:
    """Make the edition's failed deliveries (or only `delivery_ids` of them) due again.
    Returns how many. The same Message-ID is used, so a receiver that did take the first
    attempt can tell the copies apart."""
    now = now or _now()
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise BadInput(f"no edition with id {edition_id}")
        if edition.status not in (EditionStatus.SENDING, EditionStatus.SENT):
            raise BadInput(f"edition {edition_id} is {edition.status}: only a sent or sending "
                           "edition has deliveries to resend")
        query = (update(Delivery).where(Delivery.edition_id == edition_id,
                                        Delivery.state == DeliveryState.FAILED)
                 .values(state=DeliveryState.DEFERRED, next_attempt_at=now, lease_until=None))
        if delivery_ids is not None:
            query = query.where(Delivery.id.in_(delivery_ids))
        count = session.execute(query).rowcount
        if count and edition.status == EditionStatus.SENT:
            # Open again; the batch that sends the last of them marks it sent once more.
            edition.status = EditionStatus.SENDING
        return count


def retry_delivery(settings: Settings, delivery_id: int, *, now: datetime | None = None) -> int:
    """One failed delivery due again. Returns its edition's id."""
    with session_scope(settings.effective_database_url) as session:
        row = session.execute(select(Delivery.edition_id, Delivery.state)
                              .where(Delivery.id == delivery_id)).first()
    if row is None:
        raise BadInput(f"no delivery with id {delivery_id}")
    if row.state != DeliveryState.FAILED:
        raise BadInput(f"delivery {delivery_id} is {row.state}; only a failed delivery can be retried")
    resend_failed(settings, row.edition_id, [delivery_id], now=now)
    return row.edition_id


def retry_post(settings: Settings, post_id: int, *, now: datetime | None = None) -> dict:
    """A failed share post made due now, as "post now" does (share_edits.post_now, whose
    `waiting_for` says why it will still wait: credentials to check, an inactive account)."""
    with session_scope(settings.effective_database_url) as session:
        state = session.scalar(select(SharePost.state).where(SharePost.id == post_id))
    if state is None:
        raise BadInput(f"no share post with id {post_id}")
    if state != PostState.FAILED:
        raise BadInput(f"share post {post_id} is {state}; only a failed post can be retried")
    return share_edits.post_now(settings, post_id, now)


def list_failures(settings: Settings, *, limit: int = 50) -> dict:
    """What the failures page shows, newest first, at most `limit` of each kind with the
    total: failed deliveries (with the SMTP reply), failed share posts, accounts paused on
    their credentials, and editions that could not be rendered."""
    delivery_failed = Delivery.state == DeliveryState.FAILED
    post_failed = SharePost.state == PostState.FAILED
    edition_failed = Edition.status == EditionStatus.FAILED
    with session_scope(settings.effective_database_url) as session:
        deliveries = session.execute(
            select(Delivery, Edition, MailingList.name, Subscriber.email)
            .join(Edition, Edition.id == Delivery.edition_id)
            .join(MailingList, MailingList.id == Edition.list_id)
            .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(delivery_failed).order_by(Delivery.id.desc()).limit(limit)).all()
        posts = session.execute(
            select(SharePost, SocialAccount, Article.title)
            .join(SocialAccount, SocialAccount.id == SharePost.account_id)
            .join(Article, Article.id == SharePost.article_id)
            .where(post_failed).order_by(SharePost.scheduled_at.desc(), SharePost.id.desc())
            .limit(limit)).all()
        editions = session.execute(
            select(Edition, MailingList.name).join(MailingList, MailingList.id == Edition.list_id)
            .where(edition_failed).order_by(Edition.scheduled_for.desc()).limit(limit)).all()
        accounts = session.scalars(select(SocialAccount).where(
            SocialAccount.needs_attention.is_not(None)).order_by(SocialAccount.name)).all()
        return {
            "deliveries": [_failed_delivery(d, e, name, email) for d, e, name, email in deliveries],
            "deliveries_total": _count(session, Delivery.id, delivery_failed),
            "posts": [_failed_post(p, a, title) for p, a, title in posts],
            "posts_total": _count(session, SharePost.id, post_failed),
            "editions": [{"id": e.id, "list": name, "scheduled_for": e.scheduled_for.isoformat(),
                          "error": e.error} for e, name in editions],
            "editions_total": _count(session, Edition.id, edition_failed),
            "accounts": [{"id": a.id, "name": a.name, "platform": a.platform,
                          "reason": a.needs_attention} for a in accounts],
        }


def _count(session, column, condition) -> int:
    return session.scalar(select(func.count(column)).where(condition)) or 0


def _failed_delivery(delivery: Delivery, edition: Edition, list_name: str, email: str | None) -> dict:
    # No column records the moment a delivery failed; the edition's send time is when.
    when = edition.sent_at or edition.scheduled_for
    return {"id": delivery.id, "edition_id": edition.id, "list": list_name,
            "email": email, "at": when.isoformat(), "attempts": delivery.attempts,
            "smtp_reply": delivery.smtp_reply, "error": delivery.last_error}


def _failed_post(post: SharePost, account: SocialAccount, title: str) -> dict:
    return {"id": post.id, "article_id": post.article_id, "article": title,
            "account": account.name, "platform": account.platform,
            "at": post.scheduled_at.isoformat(), "attempts": post.attempts,
            "error": post.last_error, "waiting_for": account.needs_attention}

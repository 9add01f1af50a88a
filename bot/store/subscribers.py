"""Subscriber state in one session: lookups, consent records, the suppression list, and
the transitions every way in or out shares (web, CSV, CLI, bounces, the sender).

The state of a subscription is `Subscription.active` read together with the consent log:
inactive with "subscribe" as its latest consent for that list is *pending* (waiting for
its confirmation link); inactive after anything else has ended. Addresses are compared
case-insensitively, as the suppression hash is (no provider distinguishes `Alice@` and
`alice@`); the stored address keeps the case it was given in.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.addresses import email_hash
from bot.errors import BadInput
from bot.store.mailing import Consent, MailingList, Subscriber, SubscriberStatus, Subscription, Suppression
from bot.store.models import utcnow

S = SubscriberStatus
# Statuses nobody may be put back from by a sign-up form, an import or an operator.
ENDED = frozenset({S.UNSUBSCRIBED, S.BOUNCED, S.COMPLAINED})


def find_subscriber(session: Session, normalized: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == normalized.lower()))


def get_list_row(session: Session, name: str) -> MailingList:
    mlist = session.scalar(select(MailingList).where(MailingList.name == name))
    if mlist is None:
        raise BadInput(f"no list named {name!r} (see `pressbot lists list`)")
    return mlist


def is_suppressed(session: Session, normalized_email: str) -> bool:
    return session.scalar(select(Suppression.id).where(
        Suppression.email_hash == email_hash(normalized_email))) is not None


def add_suppression(session: Session, normalized: str, reason: str, detail: str | None = None) -> bool:
    """Put the address's hash on the suppression list; False when it was there already.
    INSERT … ON CONFLICT DO NOTHING, so two workers suppressing at once cannot collide."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Suppression).values(email_hash=email_hash(normalized), reason=reason,
                                      detail=detail, created_at=utcnow())
    return session.execute(stmt.on_conflict_do_nothing(index_elements=["email_hash"])).rowcount == 1


def record_consent(session: Session, subscriber_id: int, list_id: int | None, action: str,
                   method: str, origin: str | None) -> None:
    session.add(Consent(subscriber_id=subscriber_id, list_id=list_id, action=action,
                        method=method, origin=(origin or None) and origin[:200]))


def latest_action(session: Session, subscriber_id: int, list_id: int) -> str | None:
    return session.scalar(select(Consent.action).where(
        Consent.subscriber_id == subscriber_id, Consent.list_id == list_id,
    ).order_by(Consent.id.desc()).limit(1))


def is_pending(session: Session, subscription: Subscription) -> bool:
    return not subscription.active and latest_action(
        session, subscription.subscriber_id, subscription.list_id) == "subscribe"


def end_subscriptions(session: Session, subscriber: Subscriber, subscriptions: Iterable[Subscription],
                      *, method: str, origin: str | None) -> list[int]:
    """Deactivate the live (active or pending) ones, with a consent record each; returns
    their list ids."""
    ended = []
    for sub in subscriptions:
        if sub.active or is_pending(session, sub):
            sub.active = False
            record_consent(session, subscriber.id, sub.list_id, "unsubscribe", method, origin)
            ended.append(sub.list_id)
    return ended


def settle_after_unsubscribe(session: Session, subscriber: Subscriber) -> None:
    """With nothing live left, the subscriber has left: status unsubscribed, hash suppressed."""
    session.flush()
    for sub in session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id)):
        if sub.active or is_pending(session, sub):
            return
    if subscriber.status not in ENDED:
        subscriber.status = S.UNSUBSCRIBED
    add_suppression(session, subscriber.email, "unsubscribed")


def subscriptions_of(session: Session, subscriber_id: int, list_id: int | None = None) -> list[Subscription]:
    query = select(Subscription).where(Subscription.subscriber_id == subscriber_id)
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    return list(session.scalars(query.order_by(Subscription.list_id)))


def insert_ignore(session: Session, model, values: dict, keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two sign-ups at once both find the one row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(created_at=utcnow(), **values).on_conflict_do_nothing(
        index_elements=keys))


def record_hard_bounce(session: Session, normalized: str, *, detail: str | None,
                       origin: str | None) -> Subscriber | None:
    """Status bounced (unless the subscriber already left in a stronger way) and suppressed.
    Also for the sender on a 5xx that says the mailbox does not exist. Returns the
    subscriber, if the address is one."""
    subscriber = find_subscriber(session, normalized)
    if subscriber is not None:
        if subscriber.status not in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
            subscriber.status = SubscriberStatus.BOUNCED
            record_consent(session, subscriber.id, None, "bounced", "bounce", origin)
    add_suppression(session, normalized, "bounced", detail)
    return subscriber


def record_complaint(session: Session, normalized: str, *, origin: str | None) -> Subscriber | None:
    """Unsubscribed from every list, status complained, suppressed."""
    subscriber = find_subscriber(session, normalized)
    if subscriber is not None:
        subscriptions = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id))
        end_subscriptions(session, subscriber, subscriptions, method="complaint", origin=origin)
        if subscriber.status != SubscriberStatus.COMPLAINED:
            subscriber.status = SubscriberStatus.COMPLAINED
            record_consent(session, subscriber.id, None, "complained", "complaint", origin)
    add_suppression(session, normalized, "complained", "abuse report")
    return subscriber

"""Acting on bounces, complaints and `mailto:` unsubscribes, wherever they come from:
report files (`pressbot bounces import FILE...`), the bounce mailbox
(bot.services.bounce_mailbox) and the providers' webhooks (bot.web.bounce_hooks).

Hard bounce: the subscriber's status becomes bounced and the address is suppressed.
Complaint: unsubscribed from every list, status complained, suppressed. Soft bounces and
delays are only noted on the delivery: its own retry handles them.

Which subscriber an event is about, most reliable first: the delivery named by the VERP
Return-Path the bounce was sent to (bot.newsletter.verp); the delivery named by our
Message-ID quoted in the report; the signed token in the returned message's
List-Unsubscribe URL (it survives providers that redact addresses in complaints); the
address the report gives. Every step is idempotent: a report delivered twice suppresses
once, records the consent change once and notes the delivery once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput
from bot.newsletter import verp
from bot.newsletter.bounces import COMPLAINT, HARD, BounceEvent, parse_report
from bot.newsletter.inbound import BOUNCE, UNSUBSCRIBE, Inbound
from bot.newsletter.mime import parse_message_id
from bot.newsletter.tokens import BadToken, read_token
from bot.store.db import session_scope
from bot.store.mailing import Delivery, Edition, Subscriber
from bot.store.models import utcnow
from bot.store.subscribers import (end_subscriptions, find_subscriber, is_suppressed,
                                   record_complaint, record_hard_bounce,
                                   settle_after_unsubscribe, subscriptions_of)


@dataclass
class BounceReport:
    hard: list[dict] = field(default_factory=list)          # suppressed, status bounced
    complaints: list[dict] = field(default_factory=list)    # unsubscribed, status complained
    soft: list[dict] = field(default_factory=list)          # reported only (soft, delayed, other feedback)
    unmatched: list[dict] = field(default_factory=list)     # no usable recipient address
    unparseable: list[dict] = field(default_factory=list)   # {"file", "reason"}

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Resolver:
    """What it takes to tie an event to a delivery and an address."""

    secret: str
    bounce_address: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Resolver:
        return cls(settings.effective_secret_key(), settings.bounce_address)


def _delivery(session: Session, resolver: Resolver, event: BounceEvent,
              delivery_id: int | None) -> Delivery | None:
    if delivery_id is None and event.return_path and resolver.bounce_address:
        delivery_id = verp.read_token(resolver.secret, resolver.bounce_address, event.return_path)
    if delivery_id is not None:
        found = session.get(Delivery, delivery_id)
        if found is not None:
            return found
    ids = parse_message_id(event.original_message_id or "")
    if ids is None:
        return None
    edition_id, subscriber_id = ids
    return session.scalar(select(Delivery).where(Delivery.edition_id == edition_id,
                                                 Delivery.subscriber_id == subscriber_id))


def _recipient(session: Session, secret: str, event: BounceEvent) -> str | None:
    """The normalised address the event is about, from its own contents, or None."""
    for url in event.list_unsubscribe:
        _, _, token = url.rstrip("/").rpartition("/unsubscribe/")
        if not token:
            continue
        try:
            sid, _ = read_token(secret, "unsubscribe", token)
        except BadToken:
            continue
        subscriber = session.get(Subscriber, sid)
        if subscriber is not None:
            return subscriber.email
    try:
        return normalize_email(event.recipient) if event.recipient else None
    except BadInput:
        return None


def apply_event(session: Session, resolver: Resolver, event: BounceEvent, *, origin: str,
                delivery_id: int | None = None) -> dict:
    """Act on one event; returns what happened: {"kind", "email", "delivery_id",
    "outcome"} with outcome one of suppressed, already (suppressed before: nothing
    changed), noted (soft: only the delivery records it), unmatched."""
    delivery = _delivery(session, resolver, event, delivery_id)
    address = None
    if delivery is not None and delivery.subscriber_id is not None:
        subscriber = session.get(Subscriber, delivery.subscriber_id)
        address = subscriber.email if subscriber else None
    if address is None:
        address = _recipient(session, resolver.secret, event)
    entry = {"kind": event.kind, "email": address or event.recipient,
             "delivery_id": delivery.id if delivery else None, "detail": event.detail}
    if delivery is not None:
        # Set once: the first report is the one that counts, a repeat changes nothing.
        session.execute(update(Delivery).where(Delivery.id == delivery.id,
                                               Delivery.bounced_at.is_(None))
                        .values(bounced_at=utcnow(), bounce=f"{event.kind} {event.detail}"[:300]))
    if event.kind not in (HARD, COMPLAINT):
        return {**entry, "outcome": "noted"}
    if address is None:
        return {**entry, "outcome": "unmatched"}
    before = is_suppressed(session, address)
    if event.kind == HARD:
        known = record_hard_bounce(session, address, detail=event.detail, origin=origin)
    else:
        known = record_complaint(session, address, origin=origin)
    return {**entry, "email": known.email if known else address, "subscriber": bool(known),
            "outcome": "already" if before else "suppressed"}


def apply_events(settings: Settings, events: Iterable[BounceEvent], *, origin: str) -> list[dict]:
    """A provider's events, in one transaction (a provider re-posts the whole batch when
    we fail, and applying is idempotent)."""
    resolver = Resolver.from_settings(settings)
    with session_scope(settings.effective_database_url) as session:
        return [apply_event(session, resolver, event, origin=origin) for event in events]


def unsubscribe_by_mail(session: Session, resolver: Resolver, inbound: Inbound, *,
                        origin: str) -> dict:
    """A `mailto:` unsubscribe: the list of the digest it answers when it quotes our
    Message-ID (In-Reply-To, References), else every list of the sender's address."""
    subscriber, list_id = None, None
    for reference in inbound.references:
        ids = parse_message_id(reference)
        if ids is not None:
            subscriber = session.get(Subscriber, ids[1])
            list_id = session.scalar(select(Edition.list_id).where(Edition.id == ids[0]))
            break
    if subscriber is None and inbound.sender:
        try:
            subscriber = find_subscriber(session, normalize_email(inbound.sender))
        except BadInput:
            subscriber = None
    if subscriber is None:
        return {"kind": UNSUBSCRIBE, "email": inbound.sender, "outcome": "unmatched"}
    subscriptions = subscriptions_of(session, subscriber.id, list_id)
    ended = end_subscriptions(session, subscriber, subscriptions, method="mailto", origin=origin)
    if ended:
        settle_after_unsubscribe(session, subscriber)
    return {"kind": UNSUBSCRIBE, "email": subscriber.email, "lists": ended,
            "outcome": "unsubscribed" if ended else "already"}


def apply_inbound(session: Session, resolver: Resolver, inbound: Inbound, *,
                  origin: str) -> list[dict]:
    """Act on one classified mailbox message (auto-replies and others change nothing)."""
    if inbound.kind == UNSUBSCRIBE:
        return [unsubscribe_by_mail(session, resolver, inbound, origin=origin)]
    if inbound.kind != BOUNCE:
        return [{"kind": inbound.kind, "outcome": "ignored", "detail": inbound.reason}]
    # A VERP address names one delivery, i.e. one recipient: it speaks for a report's
    # single event, not for a report that lists several recipients.
    delivery_id = inbound.delivery_id if len(inbound.events) == 1 else None
    return [apply_event(session, resolver, event, origin=origin, delivery_id=delivery_id)
            for event in inbound.events]


def import_bounces(settings: Settings, paths: Iterable[str | Path]) -> BounceReport:
    """Apply every report in `paths` (one message per file). A file that is not a DSN or
    ARF report (an auto-reply, say) is named in the report and the rest go on."""
    report = BounceReport()
    resolver = Resolver.from_settings(settings)
    for path in map(Path, paths):
        try:
            events = parse_report(path.read_bytes())
        except OSError as exc:
            report.unparseable.append({"file": str(path), "reason": exc.strerror or str(exc)})
            continue
        except BadInput as exc:
            report.unparseable.append({"file": str(path), "reason": str(exc)})
            continue
        # One transaction per file: a failure later on loses nothing already applied.
        with session_scope(settings.effective_database_url) as session:
            for event in events:
                _file_entry(apply_event(session, resolver, event, origin=path.name), path, report)
    return report


def _file_entry(done: dict, path: Path, report: BounceReport) -> None:
    entry = {"file": str(path), **{k: done[k] for k in ("email", "kind", "detail")}}
    if done["outcome"] == "noted":
        report.soft.append(entry)
    elif done["outcome"] == "unmatched":
        report.unmatched.append(entry)
    elif done["kind"] == HARD:
        report.hard.append({**entry, "subscriber": done["subscriber"]})
    else:
        report.complaints.append({**entry, "subscriber": done["subscriber"]})

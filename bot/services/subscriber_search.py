"""Finding subscribers for the dashboard and the API, and one subscriber's history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput
from bot.services.subscriber_data import _iso, held_about
from bot.store.db import session_scope
from bot.store.mailing import Edition, MailingList, Subscriber, Subscription
from bot.store.subscribers import get_list_row

PAGE_SIZE = 50


@dataclass
class SearchResult:
    rows: list[dict]
    total: int
    page: int
    pages: int


def _matching(session: Session, text: str, list_name: str | None, status: str | None) -> Select:
    """Subscribers whose address or name contains `text` (any case), on a list (active or
    pending there), with a status."""
    query = select(Subscriber)
    needle = " ".join((text or "").split()).lower()
    if needle:
        query = query.where(func.lower(Subscriber.email).contains(needle, autoescape=True)
                            | func.lower(Subscriber.name).contains(needle, autoescape=True))
    if list_name:
        mlist = get_list_row(session, list_name)
        query = query.where(Subscriber.id.in_(select(Subscription.subscriber_id).where(
            Subscription.list_id == mlist.id)))
    if status:
        query = query.where(Subscriber.status == status)
    return query


def _row(subscriber: Subscriber, lists: dict[int, list[str]]) -> dict:
    return {"id": subscriber.id, "email": subscriber.email, "name": subscriber.name,
            "status": subscriber.status, "language": subscriber.language,
            "created_at": subscriber.created_at, "confirmed_at": subscriber.confirmed_at,
            "lists": lists.get(subscriber.id, [])}


def search_subscribers(settings: Settings, *, text: str = "", list_name: str | None = None,
                       status: str | None = None, page: int = 1, per_page: int = PAGE_SIZE) -> SearchResult:
    """The dashboard's search: newest first, a page at a time."""
    with session_scope(settings.effective_database_url) as session:
        query = _matching(session, text, list_name, status)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        found = list(session.scalars(query.order_by(Subscriber.id.desc())
                                     .offset((page - 1) * per_page).limit(per_page)))
        lists = _lists_of(session, [s.id for s in found])
        return SearchResult(rows=[_row(s, lists) for s in found], total=total, page=page, pages=pages)


def find_subscribers(settings: Settings, *, text: str = "", list_name: str | None = None,
                     status: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
    """The API's search, by offset, oldest first so a client walking the pages misses no
    one added meanwhile. Times as ISO strings."""
    with session_scope(settings.effective_database_url) as session:
        query = _matching(session, text, list_name, status)
        found = list(session.scalars(query.order_by(Subscriber.id).offset(offset).limit(limit)))
        lists = _lists_of(session, [s.id for s in found])
        return [_row(s, lists) | {"created_at": _iso(s.created_at), "confirmed_at": _iso(s.confirmed_at)}
                for s in found]


def _lists_of(session: Session, subscriber_ids: list[int]) -> dict[int, list[str]]:
    """Names of the lists each subscriber is active on."""
    found: dict[int, list[str]] = {}
    for sid, name in session.execute(
            select(Subscription.subscriber_id, MailingList.name)
            .join(MailingList, MailingList.id == Subscription.list_id)
            .where(Subscription.subscriber_id.in_(subscriber_ids), Subscription.active.is_(True))
            .order_by(MailingList.name)):
        found.setdefault(sid, []).append(name)
    return found


def subscriber_history(settings: Settings, subscriber_id: int) -> dict:
    """`export_subscriber` for the dashboard: found by id, each delivery with its
    edition's subject and slot."""
    with session_scope(settings.effective_database_url) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise BadInput(f"no subscriber with id {subscriber_id} (erased, or never added)")
        data = held_about(session, normalize_email(subscriber.email))
        edition_ids = {d["edition_id"] for d in data["deliveries"]}
        editions = {e.id: e for e in session.scalars(select(Edition).where(Edition.id.in_(edition_ids)))}
    for delivery in data["deliveries"]:
        edition = editions.get(delivery["edition_id"])
        delivery["subject"] = edition.subject if edition else None
        delivery["scheduled_for"] = _iso(edition.scheduled_for) if edition else None
    return data

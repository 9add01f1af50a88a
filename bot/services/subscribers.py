"""Lists and subscribers: double opt-in, confirmation, one-click unsubscribe, preferences,
and the suppression list.

Only the subscriber's own click activates a web sign-up, per list, so nobody can sign
someone else up (the pending/ended states are explained in bot.store.subscribers).
Recipients of an edition are confirmed subscribers with an active subscription whose
address is not suppressed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from babel import Locale, UnknownLocaleError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot import resources
from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.domain.schedules import parse_schedule, zone
from bot.errors import BadInput
from bot.newsletter.tokens import BadToken, confirm_url, read_token
from bot.services.list_look import check_look, look_json
from bot.store.db import session_scope
from bot.store.mailing import MailingList, Subscriber, SubscriberStatus, Subscription
from bot.store.models import utcnow
from bot.store.subscribers import (  # noqa: F401  (is_suppressed, add_suppression: public here too)
    ENDED,
    add_suppression,
    end_subscriptions,
    find_subscriber,
    get_list_row,
    insert_ignore,
    is_pending,
    is_suppressed,
    latest_action,
    record_complaint,
    record_hard_bounce,
    record_consent,
    settle_after_unsubscribe,
    subscriptions_of,
)

S = SubscriberStatus
_LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


# -- Small shared pieces --------------------------------------------------------------------------


def check_language(value: str, field: str = "language") -> str:
    """A language Babel knows, as a BCP 47 tag ("en", "fr", "pt-BR")."""
    try:
        return str(Locale.parse(value.strip().replace("-", "_"))).replace("_", "-")
    except (ValueError, UnknownLocaleError, TypeError, AttributeError):
        raise BadInput(f"{field}: {value!r} is not a language code like en, fr or pt-BR") from None


def clean_topics(topics: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for topic in topics:
        topic = " ".join(str(topic).split())
        if topic:
            seen.setdefault(topic, None)
    return list(seen)


# -- Lists ----------------------------------------------------------------------------------------


def add_list(settings: Settings, name: str, *, title: str, from_email: str, from_name: str,
             reply_to: str | None = None, language: str = "en", template: str = "digest",
             schedule: str | None = None, timezone: str = "UTC", max_articles: int = 10,
             categories: Iterable[str] = (), **look) -> int:
    """A new list. `look`: brand, languages and sections (bot.services.list_look)."""
    if not _LIST_NAME.match(name or ""):
        raise BadInput(f"list name {name!r}: use lower-case letters, digits, - and _ (it goes "
                       f"into the List-Id header)")
    row = MailingList(name=name, **_list_fields(
        settings, title=title, from_email=from_email, from_name=from_name, reply_to=reply_to,
        language=language, template=template, schedule=schedule, timezone=timezone,
        max_articles=max_articles, categories=categories), **check_look(look))
    with session_scope(settings.effective_database_url) as session:
        if session.scalar(select(MailingList.id).where(MailingList.name == name)):
            raise BadInput(f"a list named {name!r} exists already")
        session.add(row)
        session.flush()
        return row.id


def _list_fields(settings: Settings, *, title: str, from_email: str, from_name: str,
                 reply_to: str | None, language: str, template: str, schedule: str | None,
                 timezone: str, max_articles: int, categories: Iterable[str]) -> dict:
    """A list's settings, checked and in normal form; BadInput names the first bad one."""
    if not (title or "").strip() or not (from_name or "").strip():
        raise BadInput("--title and --from-name must not be empty")
    if max_articles < 1:
        raise BadInput(f"--max-articles: {max_articles} is not a positive number")
    if not _LIST_NAME.match(template or "") or template not in list_templates(settings):
        raise BadInput(f"--template: no template folder templates/email/{template}/")
    zone(timezone)
    return dict(
        title=title.strip(), from_name=from_name.strip(), from_email=normalize_email(from_email),
        reply_to=normalize_email(reply_to) if reply_to else None,
        language=check_language(language, "--language"), template=template,
        schedule=str(parse_schedule(schedule)) if schedule else None, timezone=timezone,
        max_articles=max_articles, categories=clean_topics(categories))


def update_list(settings: Settings, name: str, *, title: str, from_email: str, from_name: str,
                reply_to: str | None = None, language: str = "en", template: str = "digest",
                schedule: str | None = None, timezone: str = "UTC", max_articles: int = 10,
                categories: Iterable[str] = (), **look) -> dict:
    """Change every setting of a list but its name (the List-Id readers filter on); checked
    as `add_list` checks them. Editions already built keep what they were built with.
    Of `look` (brand, languages, sections: bot.services.list_look) only the fields given
    change; an empty value goes back to the default."""
    fields = _list_fields(
        settings, title=title, from_email=from_email, from_name=from_name, reply_to=reply_to,
        language=language, template=template, schedule=schedule, timezone=timezone,
        max_articles=max_articles, categories=categories)
    fields.update({key: None for key, value in look.items() if value is not None})
    fields.update(check_look(look))
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list_row(session, name)
        for key, value in fields.items():
            setattr(mlist, key, value)
        session.flush()
        return _list_json(session, mlist)


def list_templates(settings: Settings) -> list[str]:
    """The digest template folders a list may use (templates/email/<name>/, not partials),
    the newsroom's (PRESSBOT_TEMPLATES) and the defaults together."""
    return sorted(name for name in resources.names(settings.template_dirs, "email")
                  if _LIST_NAME.match(name) and name != "confirm")


def _list_json(session: Session, mlist: MailingList) -> dict:
    counts = dict(session.execute(
        select(Subscriber.status, func.count()).join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == mlist.id, Subscription.active.is_(True))
        .group_by(Subscriber.status)).all())
    return {"id": mlist.id, "name": mlist.name, "title": mlist.title, "from_name": mlist.from_name,
            "from_email": mlist.from_email, "reply_to": mlist.reply_to, "language": mlist.language,
            "template": mlist.template, "schedule": mlist.schedule, "timezone": mlist.timezone,
            "max_articles": mlist.max_articles, "categories": list(mlist.categories or []),
            **look_json(mlist), "subscribers": counts.get(S.CONFIRMED, 0)}


def list_lists(settings: Settings) -> list[dict]:
    with session_scope(settings.effective_database_url) as session:
        return [_list_json(session, m) for m in session.scalars(select(MailingList).order_by(MailingList.name))]


def get_list(settings: Settings, name: str) -> dict:
    with session_scope(settings.effective_database_url) as session:
        return _list_json(session, get_list_row(session, name))


class CannotResubscribe(BadInput):
    """A preferences form asked to add a list for an address that left or cannot be mailed."""


# -- Double opt-in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmationRequest:
    """What the confirmation email needs."""

    subscriber_id: int
    list_id: int
    email: str
    name: str | None
    language: str              # the subscriber's, else the list's
    list_name: str
    list_title: str
    from_name: str
    from_email: str
    reply_to: str | None
    confirm_url: str


def subscribe(settings: Settings, email: str, list_name: str, *, name: str | None = None,
              language: str | None = None, topics: Iterable[str] = (), method: str = "web",
              origin: str | None = None) -> ConfirmationRequest | None:
    """Record a sign-up, pending until its confirmation link is followed.

    Returns what the confirmation email needs, or None when nothing should be sent: the
    address is suppressed or has left (a public form must not reveal which), or it is
    already on the list. BadInput only for a malformed address, language or list name."""
    normalized = normalize_email(email)
    language = check_language(language) if language else None
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list_row(session, list_name)
        if is_suppressed(session, normalized):
            return None
        subscriber = _pending_subscriber(session, normalized, name, language)
        if subscriber.status in ENDED:
            return None
        subscription = _subscription(session, subscriber.id, mlist.id, topics=clean_topics(topics))
        if subscription.active:
            return None
        subscription.topics = clean_topics(topics)   # not live yet: the latest form wins
        if subscriber.status == S.PENDING:
            subscriber.name = name or subscriber.name
            subscriber.language = language or subscriber.language
        record_consent(session, subscriber.id, mlist.id, "subscribe", method, origin)
        session.flush()
        return _request(settings, subscriber, mlist)


def _pending_subscriber(session: Session, normalized: str, name: str | None,
                        language: str | None) -> Subscriber:
    subscriber = find_subscriber(session, normalized)
    if subscriber is None:
        insert_ignore(session, Subscriber, {"email": normalized, "name": name, "language": language,
                                             "status": S.PENDING}, ["email"])
        subscriber = find_subscriber(session, normalized)
    return subscriber


def _subscription(session: Session, subscriber_id: int, list_id: int, *, topics: list[str],
                  active: bool = False) -> Subscription:
    insert_ignore(session, Subscription, {"subscriber_id": subscriber_id, "list_id": list_id,
                                           "topics": topics, "active": active},
                   ["subscriber_id", "list_id"])
    return session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id))


def _request(settings: Settings, subscriber: Subscriber, mlist: MailingList) -> ConfirmationRequest:
    return ConfirmationRequest(
        subscriber_id=subscriber.id, list_id=mlist.id, email=subscriber.email, name=subscriber.name,
        language=subscriber.language or mlist.language, list_name=mlist.name, list_title=mlist.title,
        from_name=mlist.from_name, from_email=mlist.from_email, reply_to=mlist.reply_to,
        confirm_url=confirm_url(settings, subscriber.id, mlist.id))


def confirmation_request(settings: Settings, subscriber_id: int, list_id: int) -> ConfirmationRequest:
    with session_scope(settings.effective_database_url) as session:
        subscriber, mlist = session.get(Subscriber, subscriber_id), session.get(MailingList, list_id)
        if subscriber is None or mlist is None:
            raise BadInput(f"no subscriber {subscriber_id} or no list {list_id}")
        return _request(settings, subscriber, mlist)


def add_confirmed(settings: Settings, email: str, list_name: str, *, name: str | None = None,
                  language: str | None = None, topics: Iterable[str] = (), method: str = "cli",
                  origin: str | None = None) -> int | None:
    """An operator with consent on file adds someone directly. None (nothing changed) for
    an address that is suppressed or has left: an operator cannot override that either."""
    normalized = normalize_email(email)
    language = check_language(language) if language else None
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list_row(session, list_name)
        if is_suppressed(session, normalized):
            return None
        subscriber = _pending_subscriber(session, normalized, name, language)
        if subscriber.status in ENDED:
            return None
        subscription = _subscription(session, subscriber.id, mlist.id, topics=clean_topics(topics))
        if not subscription.active and latest_action(session, subscriber.id, mlist.id) not in (
                None, "subscribe"):
            return None  # left this list before
        if not subscription.active:
            subscription.active = True
            record_consent(session, subscriber.id, mlist.id, "subscribe", method, origin)
        _mark_confirmed(subscriber)
        return subscriber.id


def _mark_confirmed(subscriber: Subscriber) -> None:
    subscriber.status = S.CONFIRMED
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()


def claim_confirmation(settings: Settings, subscriber_id: int, *, now: datetime | None = None) -> bool:
    """Whether a round of confirmation emails may go to this address now: at most one per
    PRESSBOT_CONFIRM_RESEND_HOURS, however often a form is posted for it. Claimed in one
    UPDATE, so two concurrent posts cannot both win."""
    now = now or utcnow()
    since = now - timedelta(hours=settings.confirm_resend_hours)
    with session_scope(settings.effective_database_url) as session:
        claimed = session.execute(
            update(Subscriber).where(Subscriber.id == subscriber_id,
                                     or_(Subscriber.confirmation_sent_at.is_(None),
                                         Subscriber.confirmation_sent_at <= since))
            .values(confirmation_sent_at=now))
        return claimed.rowcount == 1


def send_confirmation(settings: Settings, subscriber_id: int, list_id: int) -> str:
    """Render the confirmation email in the subscriber's language and send it through the
    configured transport (SMTP, or the outbox). Returns the transport's reply; transport
    errors (bot.mail.transport) propagate. Imported here, not at module level, so the
    subscriber pages do not load Jinja, premailer and dkimpy until a message is sent.

    The name typed into the form is in neither the greeting nor the To: header: until the
    address's owner confirms, it is a stranger's text, and a confirmation email must not
    carry a stranger's message to someone's inbox."""
    from bot.mail.transport import build_transport
    from bot.newsletter.mime import DkimKey, Recipient, prepare
    from bot.newsletter.render import ListInfo, SiteInfo, render_confirmation

    request = confirmation_request(settings, subscriber_id, list_id)
    info = ListInfo(name=request.list_name, title=request.list_title, language=request.language,
                    from_name=request.from_name, from_email=request.from_email, reply_to=request.reply_to)
    rendered = render_confirmation(info, SiteInfo.from_settings(settings), request.confirm_url, None)
    domain = request.from_email.rpartition("@")[2]
    # Not derived from the ids like a digest's: asking again is a new message, not a retry.
    mid = f"<c{subscriber_id}.{list_id}.{secrets.token_hex(6)}@{domain}>"
    message = prepare(rendered, from_addr=(request.from_name, request.from_email), reply_to=request.reply_to,
                      dkim=DkimKey.from_settings(settings)).build(Recipient(request.email, None, mid))
    with build_transport(settings) as transport:
        return transport.send(request.from_email, request.email, message)


# -- Following a link -----------------------------------------------------------------------------


def _subscriber_from(session: Session, sid: int, purpose: str) -> Subscriber:
    subscriber = session.get(Subscriber, sid)
    if subscriber is None:
        raise BadToken(f"this {purpose} link no longer applies")
    return subscriber


def _outcome(session: Session, subscriber: Subscriber, list_ids: Iterable[int], changed: bool) -> dict:
    lists = [session.get(MailingList, lid) for lid in list_ids]
    return {"subscriber_id": subscriber.id, "email": subscriber.email, "status": subscriber.status,
            "changed": changed, "lists": [{"name": m.name, "title": m.title} for m in lists if m]}


def link_details(settings: Settings, purpose: str, token: str) -> dict:
    """What a page behind a signed link needs besides the change itself: the language to
    speak (the subscriber's, else the list's) and the list(s) the link is about (every list
    the subscriber is on, for a link without one), each with whether the subscriber gets it
    now (`active`). BadToken for a forged or expired token; for a subscriber erased since,
    the list is still named, so an old unsubscribe link keeps working."""
    sid, lid = read_token(settings.effective_secret_key(), purpose, token)
    with session_scope(settings.effective_database_url) as session:
        subscriber = session.get(Subscriber, sid)
        mine = subscriptions_of(session, sid) if subscriber is not None else []
        ids = [lid] if lid is not None else [s.list_id for s in mine]
        lists = [m for m in (session.get(MailingList, i) for i in ids) if m]
        language = (subscriber.language if subscriber else None) or (lists[0].language if lists else None)
        active = {s.list_id for s in mine if s.active}
        live = subscriber is not None and subscriber.status == S.CONFIRMED
        return {"subscriber_id": sid, "list_id": lid, "language": language,
                "lists": [{"name": m.name, "title": m.title, "active": live and m.id in active}
                          for m in lists]}


def confirm(settings: Settings, token: str, *, method: str = "web", origin: str | None = None) -> dict:
    """Activate the subscription a confirmation link was sent for. Idempotent; refuses
    (changed False, status unchanged) when the address has since left or the sign-up was
    withdrawn."""
    sid, lid = read_token(settings.effective_secret_key(), "confirm", token)
    with session_scope(settings.effective_database_url) as session:
        subscriber = _subscriber_from(session, sid, "confirmation")
        found = subscriptions_of(session, sid, lid) if lid is not None else []
        if not found:
            raise BadToken("this confirmation link no longer applies")
        subscription = found[0]
        if subscription.active and subscriber.status == S.CONFIRMED:
            return _outcome(session, subscriber, [lid], False)
        if (subscriber.status in ENDED or is_suppressed(session, subscriber.email)
                or not is_pending(session, subscription)):
            return _outcome(session, subscriber, [lid], False)
        subscription.active = True
        _mark_confirmed(subscriber)
        record_consent(session, sid, lid, "confirm", method, origin)
        return _outcome(session, subscriber, [lid], True)


def unsubscribe(settings: Settings, token: str, *, method: str = "one-click", origin: str | None = None) -> dict:
    """Leave the token's list (every list for a token without one). Idempotent: a second
    click changes nothing. An erased subscriber's link succeeds without effect."""
    sid, lid = read_token(settings.effective_secret_key(), "unsubscribe", token)
    with session_scope(settings.effective_database_url) as session:
        subscriber = session.get(Subscriber, sid)
        if subscriber is None:
            return {"subscriber_id": sid, "email": None, "status": None, "changed": False, "lists": []}
        subscriptions = subscriptions_of(session, sid, lid)
        ended = end_subscriptions(session, subscriber, subscriptions, method=method, origin=origin)
        if ended:
            settle_after_unsubscribe(session, subscriber)
        return _outcome(session, subscriber, [s.list_id for s in subscriptions], bool(ended))


def get_preferences(settings: Settings, token: str) -> dict:
    sid, lid = read_token(settings.effective_secret_key(), "preferences", token)
    with session_scope(settings.effective_database_url) as session:
        return _preferences(session, _subscriber_from(session, sid, "preferences"), lid)


def _preferences(session: Session, subscriber: Subscriber, token_list_id: int | None = None) -> dict:
    """`list`: the name of the list the link was sent for (the one `topics` apply to), None
    for a link without a list. `schedule`/`language` per list: there is no frequency
    setting, so a page offers the daily and the weekly list as the choice of rhythm."""
    mine = {s.list_id: s for s in subscriptions_of(session, subscriber.id)}
    rows = list(session.scalars(select(MailingList).order_by(MailingList.name)))
    return {"email": subscriber.email, "name": subscriber.name, "language": subscriber.language,
            "status": subscriber.status,
            "list": next((m.name for m in rows if m.id == token_list_id), None),
            "lists": [{"name": m.name, "title": m.title,
                       "subscribed": bool(mine.get(m.id) and mine[m.id].active),
                       "topics": list(mine[m.id].topics) if m.id in mine else [],
                       "categories": list(m.categories or []),
                       "schedule": m.schedule, "timezone": m.timezone, "language": m.language}
                      for m in rows]}


def update_preferences(settings: Settings, token: str, *, lists: Iterable[str] | None = None,
                       topics: Iterable[str] | None = None, language: str | None = None,
                       origin: str | None = None) -> dict:
    """Change what a subscriber gets. `lists`: the names to be on (None: unchanged); the
    link came by email, so adding a list here needs no further confirmation. `topics`:
    for the token's list (every list for a token without one). Returns the preferences."""
    sid, lid = read_token(settings.effective_secret_key(), "preferences", token)
    language = check_language(language) if language else None
    with session_scope(settings.effective_database_url) as session:
        subscriber = _subscriber_from(session, sid, "preferences")
        if lists is not None:
            _set_lists(session, subscriber, set(lists), origin)
        if topics is not None:
            for sub in subscriptions_of(session, sid, lid):
                sub.topics = clean_topics(topics)
        if language:
            subscriber.language = language
        session.flush()
        return _preferences(session, subscriber, lid)


def _set_lists(session: Session, subscriber: Subscriber, wanted: set[str], origin: str | None) -> None:
    rows = {m.name: m for m in session.scalars(select(MailingList).where(MailingList.name.in_(wanted)))}
    unknown = wanted - set(rows)
    if unknown:
        raise BadInput(f"no list named {', '.join(sorted(unknown))}")
    current = {s.list_id: s for s in subscriptions_of(session, subscriber.id)}
    wanted_ids = {m.id for m in rows.values()}
    to_add = [lid for lid in wanted_ids if not (current.get(lid) and current[lid].active)]
    if to_add and (subscriber.status in ENDED or is_suppressed(session, subscriber.email)):
        raise CannotResubscribe("this address has unsubscribed or cannot receive mail; it cannot be "
                                "re-subscribed here")
    for lid in to_add:
        _subscription(session, subscriber.id, lid, topics=[]).active = True
        record_consent(session, subscriber.id, lid, "subscribe", "preferences", origin)
    if to_add:
        _mark_confirmed(subscriber)
    leaving = [s for lid, s in current.items() if lid not in wanted_ids]
    if end_subscriptions(session, subscriber, leaving, method="preferences", origin=origin):
        settle_after_unsubscribe(session, subscriber)


def remove_from_list(settings: Settings, subscriber_id: int, list_name: str, *, method: str = "dashboard",
                     origin: str | None = None) -> bool:
    """An operator takes a subscriber off one list (at their request, say), recorded as an
    unsubscribe; with nothing live left they have left for good, as after a link click.
    False when they were not on the list."""
    with session_scope(settings.effective_database_url) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise BadInput(f"no subscriber with id {subscriber_id}")
        mlist = get_list_row(session, list_name)
        ended = end_subscriptions(session, subscriber, subscriptions_of(session, subscriber_id, mlist.id),
                                  method=method, origin=origin)
        if ended:
            settle_after_unsubscribe(session, subscriber)
        return bool(ended)


# -- Suppression ----------------------------------------------------------------------------------


def suppress(settings: Settings, email: str, reason: str, detail: str | None = None) -> bool:
    """Never mail this address again. A subscriber with the address also gets the matching
    status for "bounced" and "complained" (a complaint also ends every subscription).
    False when the address was suppressed already."""
    normalized = normalize_email(email)
    with session_scope(settings.effective_database_url) as session:
        if is_suppressed(session, normalized):
            return False
        if reason == "bounced":
            record_hard_bounce(session, normalized, detail=detail, origin="suppress")
        elif reason == "complained":
            record_complaint(session, normalized, origin="suppress")
        else:
            add_suppression(session, normalized, reason, detail)
        return True

"""The edition page's content: the exact email a subscriber will get (what was frozen for a
built edition, what would be frozen now for a coming run or a planned edition), a test of
it mailed to the editor, and the page's facts (status, counts, failure reasons, actions)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.errors import BadInput, PermanentError
from bot.mail.transport import MailDeferred, MailRejected, TransportDown, build_transport
from bot.newsletter.mime import DkimKey, Recipient, prepare
from bot.newsletter.render import (PREFERENCES_URL, UNSUBSCRIBE_URL, ListInfo, RenderedEmail,
                                   render_digest)
from bot.services import digests
from bot.services.archive import anonymous
from bot.services.planning import (CANCELLABLE, MOVABLE, Ref, _aware, _edition_item,
                                   _get_edition, _get_list, _now, _slot_row, _subscriber_counts,
                                   _virtual_item, is_run, slot_key)
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList

# Where a preview's personal links point: nowhere (the editor is not a subscriber).
PREVIEW_LINKS = {UNSUBSCRIBE_URL: "#unsubscribe", PREFERENCES_URL: "#preferences"}
_PREVIEW_TEXT_LINKS = {UNSUBSCRIBE_URL: "(unsubscribe link)", PREFERENCES_URL: "(preferences link)"}


def _planned_content(settings: Settings, session: Session, mlist: MailingList,
                     edition: Edition | None, when: datetime, now: datetime) -> dict:
    """The snapshot the dispatcher would freeze if it built this now."""
    plan = (edition.content if edition is not None else None) or {}
    _, content = digests.planned_content(settings, session, mlist, plan,
                                         edition.id if edition else None, when, now)
    if content["articles"]:
        return content
    if plan.get("campaign"):
        raise BadInput("none of this campaign's articles exist any more: it would be skipped")
    raise BadInput("no new articles since the list's last edition yet: if none arrive "
                   "before it goes out, this run will be skipped")


def _content(settings: Settings, session: Session, list_id: int, ref: Ref,
             now: datetime) -> tuple[MailingList, dict]:
    if isinstance(ref, datetime):
        mlist = _get_list(session, list_id)
        slot = _aware(ref, "run")
        existing = _slot_row(session, list_id, slot)
        if existing is not None:
            return _content(settings, session, list_id, existing, now)
        if not is_run(mlist, slot):
            raise BadInput(f"{slot_key(slot)} is not a run of {mlist.name}'s schedule")
        return mlist, _planned_content(settings, session, mlist, None, slot, now)
    edition = _get_edition(session, ref)
    if list_id is not None and edition.list_id != list_id:
        raise BadInput(f"edition {ref} is not of list {list_id}")
    mlist = _get_list(session, edition.list_id)
    if edition.status == EditionStatus.SCHEDULED:
        return mlist, _planned_content(settings, session, mlist, edition, edition.scheduled_for, now)
    if edition.status == EditionStatus.CANCELLED and not (edition.content or {}).get("articles"):
        raise BadInput("this run was cancelled before it was built: there is no email to show")
    if edition.status == EditionStatus.SKIPPED:
        raise BadInput("this edition was skipped: there was nothing new to send")
    return mlist, edition.content or {}


def _render(settings: Settings, mlist: MailingList, content: dict) -> RenderedEmail:
    try:
        return render_digest(content, ListInfo.from_model(mlist),
                             settings_view=digests.site_view(settings))
    except PermanentError as exc:
        raise BadInput(f"the email cannot be rendered: {exc}") from None


def preview(settings: Settings, list_id: int | None, ref: Ref, *,
            now: datetime | None = None) -> tuple[str, str, str]:
    """(subject, html, text) of the list's own variant: what was frozen for a built edition,
    what would be frozen now for a run or a scheduled edition. Rendered for a subscriber
    without a name, the personal links pointing nowhere ("#unsubscribe"). Nothing is
    written. BadInput says why there is no email (skipped, nothing new yet…)."""
    now = _now(now)
    with session_scope(settings.effective_database_url) as session:
        mlist, content = _content(settings, session, list_id, ref, now)
        session.expunge(mlist)
    rendered = _render(settings, mlist, content)
    return (rendered.subject, anonymous(rendered.html, PREVIEW_LINKS),
            anonymous(rendered.text, _PREVIEW_TEXT_LINKS))


def send_test(settings: Settings, list_id: int | None, ref: Ref, to: str, *,
              now: datetime | None = None) -> str:
    """Mail the preview to `to` (the editor) through the configured transport (SMTP, or the
    outbox without one), subject prefixed "[TEST] ". The personal links lead to the site's
    own unsubscribe and preferences pages without a token, so clicking them changes nothing.
    Returns the server's reply."""
    now = _now(now)
    if not to or "@" not in to:
        raise BadInput(f"test address {to!r} is not an email address")
    with session_scope(settings.effective_database_url) as session:
        mlist, content = _content(settings, session, list_id, ref, now)
        session.expunge(mlist)
    rendered = _render(settings, mlist, content)
    rendered = replace(rendered, subject="[TEST] " + rendered.subject)
    domain = mlist.from_email.rpartition("@")[2].lower()
    base = settings.base_url.rstrip("/")
    try:
        message = prepare(rendered, from_addr=(mlist.from_name, mlist.from_email),
                          reply_to=mlist.reply_to, list_id=f"{mlist.name}.{domain}",
                          dkim=DkimKey.from_settings(settings)).build(Recipient(
                              email=to, name=None, message_id=f"<test.{secrets.token_hex(8)}@{domain}>",
                              unsubscribe_url=f"{base}/unsubscribe", preferences_url=f"{base}/preferences"))
    except PermanentError as exc:
        raise BadInput(f"the test message cannot be built: {exc}") from None
    transport = build_transport(settings)
    try:
        return transport.send(mlist.from_email, to, message)
    except (MailRejected, MailDeferred, TransportDown) as exc:
        raise BadInput(f"the test to {to} was not sent: {exc}") from None
    finally:
        transport.close()


# -- The edition page ---------------------------------------------------------------------------


def describe(settings: Settings, list_id: int | None, ref: Ref, *,
             now: datetime | None = None) -> dict:
    """What the edition page shows besides the email: list, time, status, counts, the
    reasons of failed deliveries, and which actions apply."""
    now = _now(now)
    with session_scope(settings.effective_database_url) as session:
        if isinstance(ref, datetime):
            slot = _aware(ref, "run")
            mlist = _get_list(session, list_id)
            if not is_run(mlist, slot):
                raise BadInput(f"{slot_key(slot)} is not a run of {mlist.name}'s schedule")
            subscribers = _subscriber_counts(session, mlist.id).get(mlist.id, 0)
            item = _virtual_item(mlist, slot, subscribers)
            item.update(failed=0, reasons=[], articles=None, intro="", window_start=None,
                        can_move=slot > now, can_cancel=slot > now, can_resend=False,
                        schedule=mlist.schedule, timezone=mlist.timezone,
                        past=slot <= now,
                        # Its articles, intro and subject can be set (bot.services.run_edits).
                        can_edit=slot > now, plan={"article_ids": [], "intro": "", "subject": ""})
            return item
        edition = _get_edition(session, ref)
        mlist = _get_list(session, edition.list_id)
        counts = digests.delivery_counts(session, [edition.id])[edition.id]
        reason = func.coalesce(Delivery.last_error, Delivery.smtp_reply)  # no bound values:
        reasons = session.execute(                                        # PG groups by its text
            select(reason, func.count())
            .where(Delivery.edition_id == edition.id, Delivery.state == DeliveryState.FAILED)
            .group_by(reason).order_by(func.count().desc()).limit(5)).all()
        item = _edition_item(edition, mlist, counts)
        content = edition.content or {}
        if edition.status != EditionStatus.SCHEDULED:
            articles = len(content.get("articles") or [])
        elif item["campaign"]:
            articles = len(content.get("article_ids") or [])
        elif content.get("article_ids"):   # a run whose articles its editor picked
            articles = len(content["article_ids"])
        else:   # a planned run's articles are chosen when it goes out: the preview shows them
            articles = None
        item.update(
            failed=counts.get(DeliveryState.FAILED, 0),
            reasons=[{"reason": r or "no reason recorded", "count": n} for r, n in reasons],
            articles=articles, intro=content.get("intro") or "", window_start=edition.window_start,
            can_move=edition.status in MOVABLE, can_cancel=edition.status in CANCELLABLE,
            can_resend=bool(counts.get(DeliveryState.FAILED)) and edition.status in (
                EditionStatus.SENDING, EditionStatus.SENT),
            schedule=mlist.schedule, timezone=mlist.timezone, past=edition.scheduled_for <= now,
            sent_at=edition.sent_at,
            can_edit=edition.status == EditionStatus.SCHEDULED and not item["campaign"],
            plan={"article_ids": list(content.get("article_ids") or []),
                  "intro": content.get("intro") or "", "subject": content.get("subject") or ""})
        return item

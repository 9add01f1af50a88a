"""Looking at a digest before it goes out: `pressbot digest render` (one complete message)
and `pressbot digest preview` (the HTML in a browser).

Neither writes to the database: the list's edition waiting to go out is read as it is, and
with none waiting the next edition is put together in memory from the articles it would
carry now. So a preview leaves no hidden edition behind (whose web page would 404)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput, PermanentError
from bot.newsletter.mime import Recipient
from bot.newsletter.render import render_digest
from bot.services.archive import anonymous
from bot.services.digests import get_list, preview_articles, site_view, snapshot
from bot.services.edition_preview import PREVIEW_LINKS
from bot.services.sending import Variants
from bot.store.db import session_scope
from bot.store.mailing import Delivery, Edition, EditionStatus, Subscriber, Subscription
from bot.store.models import utcnow


@dataclass
class Rendered:
    message: bytes
    edition_id: int | None    # the edition waiting to go out; None: a preview of the next one
    subscriber: bool          # False: rendered for an address that is not on the list


def _variants(settings: Settings, list_name: str | None, now: datetime) -> tuple[Variants, int | None]:
    """The list's pending edition's variants, else those of the next edition as it would be
    built now (in memory). Raises BadInput when there is nothing to show."""
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list(session, list_name)
        pending = session.scalar(select(Edition).where(
            Edition.list_id == mlist.id,
            Edition.status.in_((EditionStatus.PENDING, EditionStatus.SENDING)))
            .order_by(Edition.id.desc()).limit(1))
        if pending is not None:
            content, edition_id = pending.content, pending.id
        else:
            content = snapshot(settings, mlist, None, now, preview_articles(session, mlist, now))
            edition_id = None
        return Variants.of_content(settings, mlist, content, edition_id or 0), edition_id


def _prepare(variants: Variants, language: str | None, topics: tuple[str, ...],
             letter: str = "") -> str:
    key = variants.key(language, topics, letter)
    try:
        variants.prepare({key: (language or variants.mlist.language, topics, letter)})
    except PermanentError as exc:
        raise PermanentError(f"the digest cannot be rendered: {exc}") from None
    return key


def render_for(settings: Settings, email: str, list_name: str | None = None, *,
               now: datetime | None = None) -> Rendered:
    """The complete message `email` would get from the list's pending edition (or from the
    next one, as it would be built now). For a subscriber of the list it is what would be
    sent: their variant, links and (for a pending edition) Message-ID. For anyone else it
    is what a test send is: the list's own variant, the personal links leading to the
    site's unsubscribe and preferences pages without a token (clicking them changes
    nothing)."""
    if "@" not in (email or ""):
        raise BadInput(f"--to: {email!r} is not an email address")
    normalized = normalize_email(email)
    variants, edition_id = _variants(settings, list_name, now or utcnow())
    with session_scope(settings.effective_database_url) as session:
        found = session.execute(
            select(Subscriber, Subscription)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(func.lower(Subscriber.email) == normalized.lower(),
                   Subscription.list_id == variants.list_id, Subscription.active.is_(True))).first()
    if found is not None:
        # Their own links; the Message-ID of the pending edition, or of "edition 0" for the
        # next one, which has no id yet.
        subscriber, subscription = found
        key = _prepare(variants, subscriber.language, tuple(subscription.topics or ()),
                       _letter(settings, variants, edition_id, subscriber.id))
        return Rendered(variants.build(key, subscriber.id, subscriber.email, subscriber.name),
                        edition_id, True)
    key = _prepare(variants, None, ())
    base = settings.base_url.rstrip("/")
    message = variants.build_for(key, Recipient(
        email=email, name=None, message_id=f"<preview.{secrets.token_hex(8)}@{variants.domain}>",
        unsubscribe_url=f"{base}/unsubscribe", preferences_url=f"{base}/preferences"))
    return Rendered(message, edition_id, False)


def _letter(settings: Settings, variants: Variants, edition_id: int | None,
            subscriber_id: int) -> str:
    """The A/B subject letter the subscriber's delivery has (their subject and link
    counting); "" without a test, or while their row waits for a winner not picked yet."""
    if variants.ab is None or not edition_id:
        return ""
    with session_scope(settings.effective_database_url) as session:
        letter = session.scalar(select(Delivery.subject_variant).where(
            Delivery.edition_id == edition_id, Delivery.subscriber_id == subscriber_id)) or ""
    return "" if letter == "w" and not variants.ab.get("winner") else letter


def preview_file(settings: Settings, list_name: str | None = None, *,
                 now: datetime | None = None) -> Path:
    """The list's own variant as an HTML file in the data folder, greeting without a name
    and personal links pointing nowhere. Returns its path."""
    variants, edition_id = _variants(settings, list_name, now or utcnow())
    try:
        rendered = render_digest(variants.content, variants.mlist, settings_view=site_view(settings))
    except PermanentError as exc:
        raise PermanentError(f"the digest cannot be rendered: {exc}") from None
    html = anonymous(rendered.html, PREVIEW_LINKS)
    name = f"edition-{edition_id}" if edition_id else "next-edition"
    path = settings.ensure_home() / "previews" / f"{variants.mlist.name}-{name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

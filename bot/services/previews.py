"""Looking at a digest before it goes out: `pressbot digest render` (one subscriber's
complete message) and `pressbot digest preview` (the HTML in a browser)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput, PermanentError
from bot.newsletter.render import render_digest
from bot.services.archive import anonymous
from bot.services.digests import build_edition, edition_info, get_list, site_view
from bot.services.edition_preview import PREVIEW_LINKS
from bot.services.sending import Variants
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus, Subscriber, Subscription
from bot.store.models import utcnow


def current_edition(settings: Settings, list_name: str | None, now: datetime) -> tuple[int, int]:
    """(list id, edition id): the list's edition waiting to go out, else a fresh preview of
    the current articles. Raises PermanentError when it cannot be rendered."""
    with session_scope(settings.effective_database_url) as session:
        mlist = get_list(session, list_name)
        list_id, name = mlist.id, mlist.name
        pending = session.scalar(select(Edition.id).where(
            Edition.list_id == list_id,
            Edition.status.in_((EditionStatus.PENDING, EditionStatus.SENDING)))
            .order_by(Edition.id.desc()).limit(1))
    if pending is None:
        pending = build_edition(settings, name, scheduled_for=now, now=now, preview=True)
    info = edition_info(settings, pending)
    if info["error"]:
        raise PermanentError(info["error"])
    return list_id, pending


def render_for(settings: Settings, email: str, list_name: str | None = None, *,
               now: datetime | None = None) -> tuple[bytes, int]:
    """The complete message `email` would get from the list's pending edition (or a
    preview), exactly as it would be sent: same variant, links, Message-ID. Raises BadInput
    when the address is not subscribed to that list (a message with placeholder links
    would pass the checks a real one has to pass)."""
    normalized = normalize_email(email)
    list_id, edition_id = current_edition(settings, list_name, now or utcnow())
    with session_scope(settings.effective_database_url) as session:
        found = session.execute(
            select(Subscriber, Subscription)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(func.lower(Subscriber.email) == normalized.lower(),
                   Subscription.list_id == list_id)).first()
    if found is None or not found[1].active:
        raise BadInput(f"--to: {email} is not subscribed to this list "
                       f"(see `pressbot subscribers show {email}`)")
    subscriber, subscription = found
    variants = Variants(settings, edition_id, previewing=True)
    variants.load()
    language = subscriber.language or variants.mlist.language
    topics = tuple(subscription.topics or ())
    key = variants.key(language, topics)
    variants.prepare({key: (language, topics)})
    return variants.build(key, subscriber.id, subscriber.email, subscriber.name), edition_id


def preview_file(settings: Settings, list_name: str | None = None, *,
                 now: datetime | None = None) -> Path:
    """The list's own variant as an HTML file in the data folder, greeting without a name
    and personal links pointing nowhere. Returns its path."""
    _, edition_id = current_edition(settings, list_name, now or utcnow())
    variants = Variants(settings, edition_id, previewing=True)
    variants.load()
    rendered = render_digest(variants.content, variants.mlist, settings_view=site_view(settings))
    html = anonymous(rendered.html, PREVIEW_LINKS)
    path = settings.ensure_home() / "previews" / f"{variants.mlist.name}-edition-{edition_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

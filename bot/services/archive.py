"""The public archive: the editions that went out, and each one's web version (the page a
digest's "View in browser" link opens, `{base_url}/editions/{id}`).

Only editions that were sent or are being sent are public: a preview, a planned or a
cancelled edition is the newsroom's draft. The web version is the email as subscribers got
it, rendered for an anonymous reader: the greeting without a name, and the personal
unsubscribe and preference links pointing to a page that explains where the reader's own
link is (the archive cannot know who is reading)."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from threading import Lock

from sqlalchemy import select

from bot.config import Settings
from bot.errors import BadInput
from bot.newsletter.render import (ELSE, END, IF_NAME, NAME, PREFERENCES_URL, UNSUBSCRIBE_URL,
                                   ListInfo, SiteInfo, render_digest)
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus, MailingList

PUBLIC_STATUSES = (EditionStatus.SENDING, EditionStatus.SENT)
# The pages the anonymous copy's personal links lead to (bot.web.public serves them).
ANONYMOUS_LINKS = {UNSUBSCRIBE_URL: "/unsubscribe", PREFERENCES_URL: "/preferences"}

_GREETING_CHOICE = re.compile(re.escape(IF_NAME) + ".*?" + re.escape(ELSE) + "(.*?)"
                              + re.escape(END), re.S)
# premailer takes a good part of a second on a long digest and a public page can be asked
# for by anyone, often: a sent edition's content is frozen, so its rendering is kept.
_CACHE_SIZE = 32
_cache: OrderedDict[tuple, WebVersion] = OrderedDict()
_cache_lock = Lock()


class NotPublished(BadInput):
    """No such edition, or it has not gone out (preview, planned, cancelled, failed…)."""


@dataclass(frozen=True)
class WebVersion:
    edition_id: int
    list_name: str
    list_title: str
    language: str
    subject: str
    html: str


def published_editions(settings: Settings, list_name: str | None = None, *,
                       limit: int = 200) -> list[dict]:
    """Sent (or sending) editions, newest first. NotPublished for an unknown list name."""
    query = (select(Edition, MailingList).join(MailingList, MailingList.id == Edition.list_id)
             .where(Edition.status.in_(PUBLIC_STATUSES))
             .order_by(Edition.scheduled_for.desc(), Edition.id.desc()).limit(limit))
    with session_scope(settings.effective_database_url) as session:
        if list_name is not None:
            if session.scalar(select(MailingList.id).where(MailingList.name == list_name)) is None:
                raise NotPublished(f"no list named {list_name!r}")
            query = query.where(MailingList.name == list_name)
        return [{"id": e.id, "list": m.name, "list_title": m.title, "language": m.language,
                 "subject": e.subject or m.title, "date": _edition_day(e),
                 "articles": len(e.content.get("articles") or [])}
                for e, m in session.execute(query).all()]


def _edition_day(edition: Edition) -> datetime:
    return edition.sent_at or edition.scheduled_for


def web_version(settings: Settings, edition_id: int, language: str | None = None) -> WebVersion:
    """The edition's HTML for anyone: in `language` (a subscriber may have had it in theirs)
    or the list's own. NotPublished unless the edition went out."""
    if not 0 < edition_id < 2**31:   # PostgreSQL would refuse to compare it with an integer
        raise NotPublished(f"no published edition {edition_id}")
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None or edition.status not in PUBLIC_STATUSES:
            raise NotPublished(f"no published edition {edition_id}")
        mlist = ListInfo.from_model(session.get(MailingList, edition.list_id))
        content = edition.content
    if language:
        mlist = replace(mlist, language=language)
    key = (settings.effective_database_url, str(settings.template_dirs), settings.base_url,
           settings.site_name, edition_id, mlist.language)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    rendered = render_digest(content, mlist, settings_view=SiteInfo.from_settings(settings))
    page = WebVersion(edition_id, mlist.name, mlist.title, mlist.language, rendered.subject,
                      anonymous(rendered.html))
    with _cache_lock:
        _cache[key] = page
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return page


def anonymous(text: str, links: dict[str, str] = ANONYMOUS_LINKS) -> str:
    """A variant's HTML or text with no recipient in it: the greeting without a name, and
    each personal link's placeholder replaced by `links[placeholder]`. Every copy of an
    edition for a reader we do not know goes through here (the archive, the editors'
    previews)."""
    text = _GREETING_CHOICE.sub(r"\1", text)
    for placeholder, target in links.items():
        text = text.replace(placeholder, target)
    return text.replace(NAME, "")

"""Editing an upcoming regular run of a list (issue 14): the editor picks and orders its
articles, writes an intro and sets a subject, as a campaign's editor can.

A run has no row until the dispatcher builds it (bot.services.planning). Editing one turns
it into a SCHEDULED edition at the run's own time with `replaces_slot` naming the run — the
row moving a run already makes — whose content carries the plan: {"article_ids": [...] in
order, "intro", "subject"}. When due, digests.build_edition fills it in with exactly those
(digests.planned_content). A run already moved (a SCHEDULED row) is edited in place; an
empty pick keeps the run's usual window of new articles.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.config import Settings
from bot.errors import BadInput
from bot.services import planning
from bot.store.db import session_scope
from bot.store.mailing import Edition, EditionStatus
from bot.store.models import Article

# Inbox clients show ~60-70 characters; a subject far longer is a mistake, not a choice.
MAX_SUBJECT = 200


def clean_plan(article_ids: list[int] | None, intro: str | None, subject: str | None) -> dict:
    """The plan as stored, checked: ids once each in the editor's order, intro and subject
    trimmed. Pure: the ids' existence is checked against the database by the caller."""
    try:
        ids = list(dict.fromkeys(int(i) for i in (article_ids or [])))
    except (TypeError, ValueError):
        raise BadInput("articles: article ids are whole numbers") from None
    intro, subject = (intro or "").strip(), (subject or "").strip()
    if len(ids) > planning.MAX_CAMPAIGN_ARTICLES:
        raise BadInput(f"articles: at most {planning.MAX_CAMPAIGN_ARTICLES} in one edition")
    if len(intro) > planning.MAX_INTRO:
        raise BadInput(f"intro: {len(intro)} characters; keep it under {planning.MAX_INTRO}")
    if "\n" in subject or "\r" in subject:
        raise BadInput("subject: one line, please (a subject cannot hold a line break)")
    if len(subject) > MAX_SUBJECT:
        raise BadInput(f"subject: {len(subject)} characters; keep it under {MAX_SUBJECT}")
    return {"article_ids": ids, "intro": intro, "subject": subject}


def parse_ids(text: str) -> list[int]:
    """Article ids as an editor types them in the form, in order: "12, 7 9"."""
    parts = [p for p in (text or "").replace(",", " ").split() if p]
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise BadInput(f"articles: {bad[0]!r} is not an article id (type ids like 12, 7, 9)")
    return [int(p) for p in parts]


def _check_articles(session, ids: list[int]) -> None:
    known = set(session.scalars(select(Article.id).where(Article.id.in_(ids)))) if ids else set()
    missing = [i for i in ids if i not in known]
    if missing:
        raise BadInput(f"articles: no article with id {', '.join(map(str, missing))}")


def _apply(session, edition: Edition, plan: dict) -> None:
    if (edition.content or {}).get("campaign"):
        raise BadInput(f"edition {edition.id} is a campaign: edit it as a campaign")
    if edition.status != EditionStatus.SCHEDULED:
        raise BadInput(f"edition {edition.id} is {edition.status}: only an edition not built "
                       "yet can be edited")
    # Guarded as planning.reschedule is: the dispatcher may be building it this moment.
    changed = session.execute(update(Edition).where(
        Edition.id == edition.id, Edition.status == EditionStatus.SCHEDULED)
        .values(content={**(edition.content or {}), **plan})).rowcount
    if not changed:
        raise BadInput(f"edition {edition.id} has just started going out: too late to edit it")


def edit_run(settings: Settings, list_id: int, slot: datetime, *, article_ids: list[int] | None,
             intro: str | None = "", subject: str | None = "", editor: str | None = None,
             now: datetime | None = None) -> int:
    """Plan the list's run at `slot`: a SCHEDULED row at the slot (or the row already
    standing for it, while not built). Returns the edition's id."""
    plan = clean_plan(article_ids, intro, subject)
    now, slot = planning._now(now), planning._aware(slot, "run")
    with session_scope(settings.effective_database_url) as session:
        mlist = planning._get_list(session, list_id)
        _check_articles(session, plan["article_ids"])
        existing = planning._slot_row(session, list_id, slot)
        if existing is not None:
            edition = session.get(Edition, existing)
            _apply(session, edition, plan)
            return edition.id
        planning._check_future_run(session, mlist, slot, now)
        edition = Edition(list_id=list_id, status=EditionStatus.SCHEDULED, scheduled_for=slot,
                          window_end=slot, content=plan, replaces_slot=slot, created_by=editor)
        session.add(edition)
        session.flush()
        return edition.id


def edit_edition(settings: Settings, edition_id: int, *, article_ids: list[int] | None,
                 intro: str | None = "", subject: str | None = "") -> int:
    """Change the plan of a SCHEDULED regular edition (an edited or moved run)."""
    plan = clean_plan(article_ids, intro, subject)
    with session_scope(settings.effective_database_url) as session:
        edition = planning._get_edition(session, edition_id)
        _check_articles(session, plan["article_ids"])
        _apply(session, edition, plan)
        return edition.id

"""The last step before storage: every draft leaves here with a title, a canonical URL or
none, a summary, a language where one can be told, and UTC times."""

from __future__ import annotations

from datetime import datetime

from bot.domain.articles import ArticleDraft, canonical_url, plain_text, summarize, to_utc
from bot.errors import BadInput
from bot.ingest.language import detect_language, normalize_language


def finalize_draft(draft: ArticleDraft, *, source_language: str | None, now: datetime,
                   where: str) -> ArticleDraft:
    # Parsers hand over plain text already; cleaning again would decode entities twice
    # ("Q&A on &lt;fares&gt;" must stay as written).
    title = draft.title.strip()
    if not title:
        raise BadInput(f"{where}: title is empty (after removing markup)")
    language = normalize_language(draft.language) or normalize_language(source_language)
    if language is None:
        language = detect_language(
            " ".join((title, draft.summary, plain_text(draft.body_html)[:2000])))
    return draft.with_(
        title=title,
        url=canonical_url(draft.url),
        summary=draft.summary or summarize(None, draft.body_html),
        language=language,
        # An item without a date is dated when we first saw it, and says so: recency rules
        # (social shares, digests) must not take the ingest time for a publication date.
        published=to_utc(draft.published) or now,
        published_known=draft.published is not None,
        updated=to_utc(draft.updated),
    )

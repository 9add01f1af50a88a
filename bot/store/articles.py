"""Storing ingested articles: dedup by guid, canonical URL and content hash; a changed
article is updated in place and keeps its id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.articles import ArticleDraft, content_hash
from bot.store.models import Article, Source, utcnow

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"


@dataclass(frozen=True)
class Stored:
    outcome: str       # ADDED | UPDATED | UNCHANGED
    article: Article


def find_existing(session: Session, source: Source, draft: ArticleDraft, digest: str) -> Article | None:
    """The article this draft is another version of, if any. The guid is asked first (within
    its source); a feed whose guids change between polls still matches by URL, and a
    syndicated copy with neither matches by content."""
    if draft.guid:
        found = session.scalar(
            select(Article).where(Article.source_id == source.id, Article.guid == draft.guid))
        if found:
            return found
    if draft.url:
        found = session.scalar(select(Article).where(Article.url == draft.url))
        if found:
            return found
    return session.scalar(select(Article).where(Article.content_hash == digest).limit(1))


def store_draft(session: Session, source: Source, draft: ArticleDraft, *,
                now: datetime | None = None) -> Stored:
    """Insert or update one article. `draft.published` must be set (see finalize_draft).
    Runs in a savepoint so a concurrent insert of the same article (two workers polling
    one source) turns into an update instead of an error."""
    digest = content_hash(draft)
    for _attempt in range(2):
        existing = find_existing(session, source, draft, digest)
        if existing is not None:
            return _update(existing, source, draft, digest, now or utcnow())
        try:
            with session.begin_nested():
                article = _new_article(source, draft, digest, now or utcnow())
                session.add(article)
            return Stored(ADDED, article)
        except IntegrityError:
            continue  # someone else stored it between our look and our insert: look again
    raise RuntimeError(f"could not store {draft.url or draft.guid}: conflicting concurrent writes")


def _new_article(source: Source, draft: ArticleDraft, digest: str, now: datetime) -> Article:
    return Article(
        source_id=source.id, guid=draft.guid, url=draft.url, title=draft.title,
        summary=draft.summary, body_html=draft.body_html, image=draft.image,
        author=draft.author, language=draft.language, categories=list(draft.categories),
        published_at=draft.published, updated_at=draft.updated, content_hash=digest,
        revision=0, first_seen_at=now,
    )


# Fields whose change makes an article "updated" beside its content hash.
_METADATA = ("summary", "author", "language", "categories")


def _update(article: Article, source: Source, draft: ArticleDraft, digest: str,
            now: datetime) -> Stored:
    fresh = {"summary": draft.summary, "author": draft.author,
             "language": draft.language or article.language, "categories": list(draft.categories)}
    changed = article.content_hash != digest or any(
        getattr(article, name) != fresh[name] for name in _METADATA)
    if not changed:
        return Stored(UNCHANGED, article)
    article.title = draft.title
    article.body_html = draft.body_html
    article.image = draft.image
    for name, value in fresh.items():
        setattr(article, name, value)
    article.content_hash = digest
    article.updated_at = draft.updated or now
    if draft.url and not article.url:
        article.url = draft.url
    if draft.guid and article.source_id == source.id and not article.guid:
        article.guid = draft.guid
    article.revision += 1
    article.changed_at = now
    return Stored(UPDATED, article)

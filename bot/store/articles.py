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


class ExistingIndex:
    """The stored articles a batch of drafts may be versions of, fetched in three queries
    for the whole batch instead of three per draft. The guid is asked first (within its
    source); a feed whose guids change between polls still matches by URL, and a
    syndicated copy with neither matches by content."""

    def __init__(self, session: Session, source: Source, drafts: list[ArticleDraft],
                 digests: list[str]) -> None:
        self.by_guid: dict[str, Article] = {}
        self.by_url: dict[str, Article] = {}
        self.by_hash: dict[str, Article] = {}
        guids = [d.guid for d in drafts if d.guid]
        urls = [d.url for d in drafts if d.url]
        for chunk in _chunks(guids):
            self._add_all(session.scalars(select(Article).where(
                Article.source_id == source.id, Article.guid.in_(chunk))), source)
        for chunk in _chunks(urls):
            self._add_all(session.scalars(select(Article).where(Article.url.in_(chunk))), source)
        for chunk in _chunks(digests):
            self._add_all(session.scalars(select(Article).where(Article.content_hash.in_(chunk))), source)

    def _add_all(self, articles, source: Source) -> None:
        for article in articles:
            self.add(article, source)

    def add(self, article: Article, source: Source) -> None:
        if article.guid and article.source_id == source.id:
            self.by_guid.setdefault(article.guid, article)
        if article.url:
            self.by_url.setdefault(article.url, article)
        self.by_hash.setdefault(article.content_hash, article)

    def match(self, draft: ArticleDraft, digest: str) -> Article | None:
        return ((draft.guid and self.by_guid.get(draft.guid))
                or (draft.url and self.by_url.get(draft.url))
                or self.by_hash.get(digest))


# Keeps IN (...) lists well under every database's bound-parameter limit.
_CHUNK = 500


def _chunks(values: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(values))
    return [unique[i:i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def store_drafts(session: Session, source: Source, drafts: list[ArticleDraft], *,
                 now: datetime | None = None) -> list[Stored]:
    """Insert or update a batch of articles (each `published` must be set; see
    finalize_draft). New ones are inserted in one flush inside a savepoint; if a concurrent
    writer (two workers polling one source) stored one of them first, the savepoint rolls
    back and the batch is stored one by one, the late ones becoming updates."""
    now = now or utcnow()
    digests = [content_hash(d) for d in drafts]
    index = ExistingIndex(session, source, drafts, digests)
    results: list[Stored] = []
    fresh: list[Article] = []
    fresh_drafts: list[ArticleDraft] = []
    for draft, digest in zip(drafts, digests):
        existing = index.match(draft, digest)
        if existing is not None:
            results.append(_update(existing, source, draft, digest, now))
            continue
        article = _new_article(source, draft, digest, now)
        index.add(article, source)  # a repeat inside the same batch matches this one
        fresh.append(article)
        fresh_drafts.append(draft)
        results.append(Stored(ADDED, article))
    if not fresh:
        return results
    try:
        with session.begin_nested():
            session.add_all(fresh)
    except IntegrityError:
        # The updates above stand; only the inserts are redone, one by one.
        return ([r for r in results if r.outcome != ADDED]
                + [store_draft(session, source, draft, now=now) for draft in fresh_drafts])
    return results


def store_draft(session: Session, source: Source, draft: ArticleDraft, *,
                now: datetime | None = None) -> Stored:
    """Insert or update one article, retrying once as an update when a concurrent insert
    of the same article wins the race."""
    digest = content_hash(draft)
    for _attempt in range(2):
        existing = ExistingIndex(session, source, [draft], [digest]).match(draft, digest)
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

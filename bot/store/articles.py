"""Storing ingested articles. Within a source a distinct guid is a distinct article, even
when several items share a link (a podcast's episodes all pointing at the show's page);
URL and content hash identify an article only across sources (a syndicated copy) or for an
item without a guid. A changed article is updated in place and keeps its id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
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
    source); a URL or content match counts only where guids cannot tell: an article of
    another source, or one side without a guid."""

    def __init__(self, session: Session, source: Source, drafts: list[ArticleDraft],
                 digests: list[str]) -> None:
        self.source_id = source.id
        self.by_guid: dict[str, Article] = {}
        self.by_url: dict[str, list[Article]] = {}
        self.by_hash: dict[str, list[Article]] = {}
        # Which guid of this batch took an article of another source, so two items with
        # distinct guids never both become that one article.
        self.claimed: dict[int, str] = {}
        guids = _chunks([d.guid for d in drafts if d.guid])
        urls = _chunks([d.url for d in drafts if d.url])
        hashes = _chunks(digests)
        # One query for a usual batch (each list under _CHUNK): a round trip per kind of
        # key was a third of storing a small feed.
        for n in range(max(len(guids), len(urls), len(hashes))):
            conditions = []
            if n < len(guids):
                conditions.append((Article.source_id == source.id) & Article.guid.in_(guids[n]))
            if n < len(urls):
                conditions.append(Article.url.in_(urls[n]))
            if n < len(hashes):
                conditions.append(Article.content_hash.in_(hashes[n]))
            self._add_all(session.scalars(select(Article).where(or_(*conditions))))

    def _add_all(self, articles) -> None:
        for article in articles:
            self.add(article)

    def add(self, article: Article) -> None:
        if article.guid and article.source_id == self.source_id:
            self.by_guid.setdefault(article.guid, article)
        if article.url:
            _add_once(self.by_url.setdefault(article.url, []), article)
        _add_once(self.by_hash.setdefault(article.content_hash, []), article)

    def match(self, draft: ArticleDraft, digest: str) -> Article | None:
        if draft.guid and draft.guid in self.by_guid:
            return self.by_guid[draft.guid]
        for candidates in (self.by_url.get(draft.url) if draft.url else None,
                           self.by_hash.get(digest)):
            for article in candidates or ():
                if self._may_be(draft, article):
                    if draft.guid and article.source_id != self.source_id:
                        self.claimed.setdefault(id(article), draft.guid)
                    return article
        return None

    def _may_be(self, draft: ArticleDraft, article: Article) -> bool:
        if article.source_id != self.source_id:
            return self.claimed.get(id(article), draft.guid) == draft.guid
        # Same source: two guids that differ are two articles, whatever else they share.
        return not (draft.guid and article.guid)


def _add_once(articles: list[Article], article: Article) -> None:
    if not any(a is article for a in articles):
        articles.append(article)


# Keeps IN (...) lists well under every database's bound-parameter limit.
_CHUNK = 500


def _chunks(values: list[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(values))
    return [unique[i:i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def store_drafts(session: Session, source: Source, drafts: list[ArticleDraft], *,
                 now: datetime | None = None) -> list[Stored]:
    """Insert or update a batch of articles (each `published` must be set; see
    finalize_draft); one result per draft, in the drafts' order. New ones are inserted in one flush inside a savepoint; if a concurrent
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
        index.add(article)  # a repeat inside the same batch matches this one
        fresh.append(article)
        fresh_drafts.append(draft)
        results.append(Stored(ADDED, article))
    if not fresh:
        return results
    try:
        with session.begin_nested():
            session.add_all(fresh)
    except IntegrityError:
        # The updates above stand; only the inserts are redone, one by one, in place (a
        # result stays at its draft's position: callers pair them up).
        redone = iter([store_draft(session, source, draft, now=now) for draft in fresh_drafts])
        return [next(redone) if r.outcome == ADDED else r for r in results]
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
        image_alt=draft.image_alt, author=draft.author, language=draft.language, categories=list(draft.categories),
        published_at=draft.published, published_known=draft.published_known,
        updated_at=draft.updated, content_hash=digest,
        revision=0, first_seen_at=now,
    )


# Fields whose change makes an article "updated" beside its content hash.
_METADATA = ("summary", "author", "language", "categories")


def _update(article: Article, source: Source, draft: ArticleDraft, digest: str,
            now: datetime) -> Stored:
    fresh = {"summary": draft.summary, "author": draft.author,
             "language": draft.language or article.language, "categories": list(draft.categories)}
    changed = article.content_hash != digest or any(
        getattr(article, name) != fresh[name] for name in _METADATA) or (
        draft.published_known and not article.published_known)
    if not changed:
        return Stored(UNCHANGED, article)
    article.title = draft.title
    article.body_html = draft.body_html
    article.image = draft.image
    article.image_alt = draft.image_alt
    for name, value in fresh.items():
        setattr(article, name, value)
    article.content_hash = digest
    article.updated_at = draft.updated or now
    if draft.url and not article.url:
        article.url = draft.url
    if draft.published_known and not article.published_known:
        # First dated at ingest time; the source has since said when it was published.
        article.published_at, article.published_known = draft.published, True
    if draft.guid and article.source_id == source.id and not article.guid:
        article.guid = draft.guid
    article.revision += 1
    article.changed_at = now
    return Stored(UPDATED, article)

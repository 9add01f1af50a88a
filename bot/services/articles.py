"""Reading articles for the CLI, the web app and the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, true

from bot.config import Settings
from bot.store.db import session_scope
from bot.store.models import Article


def article_dict(article: Article, *, full: bool = False) -> dict:
    data = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "published": article.published_at.isoformat(),
        "categories": list(article.categories or []),
        "language": article.language,
        "updated": article.revision > 0,
    }
    if full:
        data.update({
            "guid": article.guid, "summary": article.summary, "body_html": article.body_html,
            "image": article.image, "author": article.author, "source_id": article.source_id,
            "revision": article.revision,
            "modified": article.updated_at.isoformat() if article.updated_at else None,
            "first_seen": article.first_seen_at.isoformat(),
        })
    return data


def list_articles(settings: Settings, *, since: datetime | None = None, limit: int | None = None,
                  offset: int = 0) -> list[dict]:
    query = select(Article).order_by(Article.published_at.desc(), Article.id.desc())
    if since is not None:
        query = query.where(Article.published_at >= since)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with session_scope(settings.effective_database_url) as session:
        return [article_dict(a) for a in session.scalars(query)]


def get_article(settings: Settings, article_id: int) -> dict | None:
    with session_scope(settings.effective_database_url) as session:
        article = session.get(Article, article_id)
        return article_dict(article, full=True) if article else None


def search_articles(settings: Settings, query: str | None = None, *, offset: int = 0,
                    limit: int = 25) -> tuple[list[dict], int]:
    """A page of articles, newest first, whose title or URL contains `query` (any case),
    and how many match in all."""
    condition = true()
    if query and query.strip():
        needle = query.strip().lower()
        condition = or_(func.lower(Article.title).contains(needle, autoescape=True),
                        func.lower(Article.url).contains(needle, autoescape=True))
    with session_scope(settings.effective_database_url) as session:
        total = session.scalar(select(func.count(Article.id)).where(condition)) or 0
        rows = session.scalars(select(Article).where(condition)
                               .order_by(Article.published_at.desc(), Article.id.desc())
                               .offset(max(offset, 0)).limit(limit))
        return [article_dict(a) for a in rows], total

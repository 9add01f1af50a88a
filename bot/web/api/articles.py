"""GET /api/articles, /api/articles/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bot.services import articles
from bot.web.api.common import NOT_FOUND, ApiRoute, Page, Paging, ResourceId, UtcDatetime, not_found
from bot.web.api.models import Article, ArticleSummary
from bot.web.security import settings_of

router = APIRouter(route_class=ApiRoute, tags=["articles"])


@router.get("/articles", response_model=Page[ArticleSummary], summary="List articles, newest first")
def list_articles(settings=Depends(settings_of), paging: Paging = Depends(),
                  since: Annotated[UtcDatetime | None, Query(
                      description="Only articles published at or after this time (with a time zone)")] = None):
    return paging.page(lambda limit, offset: articles.list_articles(settings, since=since, limit=limit,
                                                                    offset=offset))


@router.get("/articles/{article_id}", response_model=Article, responses=NOT_FOUND, summary="One article")
def get_article(article_id: ResourceId, settings=Depends(settings_of)):
    return articles.get_article(settings, article_id) or _missing(article_id)


def _missing(article_id: int):
    raise not_found("article with id", article_id)

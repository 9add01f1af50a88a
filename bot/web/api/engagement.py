"""GET /api/editions/{id}/engagement and /api/articles/{id}/reach (issue 14): the figures
the edition and article pages show (bot.services.engagement_figures)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from bot.services import engagement_figures as figures
from bot.web.api.common import NOT_FOUND, ApiRoute, ResourceId, not_found
from bot.web.security import settings_of

router = APIRouter(route_class=ApiRoute, tags=["engagement"])


@router.get("/editions/{edition_id}/engagement", response_model=dict[str, Any], responses=NOT_FOUND,
            summary="An edition's figures: sent, delivered, bounced, unsubscribed, clicks, click "
                    "rate, top articles; opens are counted but unreliable (proxy opens apart)")
def edition_engagement(edition_id: ResourceId, settings=Depends(settings_of)):
    try:
        return figures.edition_figures(settings, edition_id)
    except figures.NotFound:
        raise not_found("edition with id", edition_id) from None


@router.get("/articles/{article_id}/reach", response_model=dict[str, Any], responses=NOT_FOUND,
            summary="An article's reach: its clicks in each edition and each account's post counts")
def article_reach(article_id: ResourceId, settings=Depends(settings_of)):
    try:
        return figures.article_reach(settings, article_id)
    except figures.NotFound:
        raise not_found("article with id", article_id) from None

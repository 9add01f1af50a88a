"""GET /api/editions, /api/editions/{id}: digests as built and delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bot.services import digests
from bot.web.api.common import NOT_FOUND, ApiRoute, Page, Paging, ResourceId, Text, not_found
from bot.web.api.models import Edition, EditionState
from bot.web.security import settings_of

router = APIRouter(route_class=ApiRoute, tags=["editions"])


@router.get("/editions", response_model=Page[Edition], summary="List editions, latest slot first")
def list_editions(settings=Depends(settings_of), paging: Paging = Depends(),
                  list_name: Annotated[Text(100) | None, Query(alias="list", description="A list's name")] = None,
                  status: Annotated[EditionState | None, Query()] = None):
    page = paging.page(lambda limit, offset: digests.list_editions(
        settings, list_name=list_name, status=status, limit=limit, offset=offset))
    page["items"] = [Edition.of(row) for row in page["items"]]
    return page


@router.get("/editions/{edition_id}", response_model=Edition, responses=NOT_FOUND,
            summary="One edition: subject, status, slot and delivery counts")
def get_edition(edition_id: ResourceId, settings=Depends(settings_of)):
    row = digests.get_edition(settings, edition_id)
    if row is None:
        raise not_found("edition with id", edition_id)
    return Edition.of(row)

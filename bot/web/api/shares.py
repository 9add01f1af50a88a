"""Share posts: list, read, change before they go out, skip."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bot.errors import BadInput
from bot.services import share_edits, shares
from bot.web.api.common import (CONFLICT, MAX_ID, NOT_FOUND, ApiRoute, Page, Paging, ResourceId, Text,
                                conflict, not_found)
from bot.web.api.models import PostStateName, SharePost, SharePostChange
from bot.web.security import settings_of

router = APIRouter(route_class=ApiRoute, tags=["share posts"])


@router.get("/shares", response_model=Page[SharePost], summary="List share posts by time")
def list_shares(settings=Depends(settings_of), paging: Paging = Depends(),
                state: Annotated[PostStateName | None, Query()] = None,
                account: Annotated[Text(100) | None, Query(description="An account's name")] = None,
                article_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None):
    return paging.page(lambda limit, offset: shares.list_shares(
        settings, state=state, account=account, article_id=article_id, limit=limit, offset=offset))


@router.get("/shares/{post_id}", response_model=SharePost, responses=NOT_FOUND, summary="One share post")
def get_share(post_id: ResourceId, settings=Depends(settings_of)):
    return _existing(settings, post_id)


@router.patch("/shares/{post_id}", response_model=SharePost, responses={**NOT_FOUND, **CONFLICT},
              summary="Change a post's text or time before it goes out")
def change_share(post_id: ResourceId, change: SharePostChange, settings=Depends(settings_of)):
    post = _existing(settings, post_id)
    if change.text is not None:
        share_edits.check_text(post["platform"], change.text)   # 422 before anything is written
    try:
        if change.scheduled_at is not None:
            post = share_edits.reschedule_share(settings, post_id, change.scheduled_at)
        if change.text is not None:
            post = share_edits.edit_share(settings, post_id, change.text)
    except BadInput as exc:
        _state_conflict(settings, post_id, exc)
    return post


@router.post("/shares/{post_id}/skip", response_model=SharePost, responses={**NOT_FOUND, **CONFLICT},
             summary="Keep a scheduled or failed post from going out")
def skip_share(post_id: ResourceId, settings=Depends(settings_of)):
    _existing(settings, post_id)
    try:
        return shares.skip_share(settings, post_id)
    except BadInput as exc:
        raise conflict(exc) from None


def _existing(settings, post_id: int) -> dict:
    post = shares.get_share(settings, post_id)
    if post is None:
        raise not_found("share post with id", post_id)
    return post


def _state_conflict(settings, post_id: int, exc: BadInput):
    """A post no longer editable is a conflict (409); anything else was bad input (422)."""
    if shares.get_share(settings, post_id)["state"] not in share_edits.EDITABLE:
        raise conflict(exc) from None
    raise exc

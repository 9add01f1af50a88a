"""Mailing lists: read by any editor, created by an admin (lists are settings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from bot.errors import BadInput
from bot.services import subscribers
from bot.web.api.common import FORBIDDEN, NOT_FOUND, ApiRoute, Page, Paging, Text, not_found
from bot.web.api.models import MailingList, NewList
from bot.web.security import api_admin, settings_of

router = APIRouter(route_class=ApiRoute, tags=["lists"])


@router.get("/lists", response_model=Page[MailingList], summary="List the mailing lists by name")
def list_lists(settings=Depends(settings_of), paging: Paging = Depends()):
    return paging.slice(subscribers.list_lists(settings))


@router.get("/lists/{name}", response_model=MailingList, responses=NOT_FOUND, summary="One list, by name")
def get_list(name: Text(100) = Path(description="The list's name"), settings=Depends(settings_of)):
    try:
        return subscribers.get_list(settings, name)
    except BadInput:
        raise not_found("list named", repr(name)) from None


@router.post("/lists", response_model=MailingList, status_code=201, dependencies=[Depends(api_admin)],
             responses=FORBIDDEN,
             summary="Create a list (admin tokens only)")
def create_list(new: NewList, settings=Depends(settings_of)):
    subscribers.add_list(settings, **new.model_dump())
    return subscribers.get_list(settings, new.name)

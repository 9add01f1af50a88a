"""Subscribers: search, read (with their history), add by double opt-in or as confirmed.

An add answers the same whether the address is new or known, except that it says when
nothing changed; the confirmation link goes only to the address itself, never into the
answer, so a token holder cannot confirm on someone's behalf."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from bot.errors import BadInput, PressbotError
from bot.services import subscriber_search, subscribers
from bot.services.editors import Editor
from bot.web.api.common import CONFLICT, NOT_FOUND, ApiRoute, Page, Paging, ResourceId, Text, not_found
from bot.web.api.models import NewSubscriber, SubscriberAdded, SubscriberDetail, SubscriberState
from bot.web.api.models import Subscriber as SubscriberOut
from bot.web.security import api_editor, settings_of

router = APIRouter(route_class=ApiRoute, tags=["subscribers"])


@router.get("/subscribers", response_model=Page[SubscriberOut], summary="List or search subscribers")
def list_subscribers(settings=Depends(settings_of), paging: Paging = Depends(),
                     q: Annotated[Text(320) | None, Query(description="Part of the address or name, any case")] = None,
                     list_name: Annotated[Text(100) | None, Query(alias="list", description="On this list (active or pending)")] = None,
                     status: Annotated[SubscriberState | None, Query()] = None):
    return paging.page(lambda limit, offset: subscriber_search.find_subscribers(
        settings, text=q or "", list_name=list_name, status=status, limit=limit, offset=offset))


@router.get("/subscribers/{subscriber_id}", response_model=SubscriberDetail, responses=NOT_FOUND,
            summary="One subscriber: lists, consent history, deliveries")
def get_subscriber(subscriber_id: ResourceId, settings=Depends(settings_of)):
    try:
        held = subscriber_search.subscriber_history(settings, subscriber_id)
    except BadInput:
        raise not_found("subscriber with id", subscriber_id) from None
    suppression = held["suppression"]
    return {**held["subscriber"], "subscriptions": held["subscriptions"], "consents": held["consents"],
            "deliveries": held["deliveries"], "suppressed": suppression and suppression["reason"]}


@router.post("/subscribers", response_model=SubscriberAdded, status_code=201,
             responses={202: {"model": SubscriberAdded, "description": "Pending: a confirmation email was sent"},
                        **CONFLICT, 502: {"description": "Pending, but the confirmation email could not be sent"}},
             summary="Add a subscriber: confirmed (201) or pending double opt-in (202)")
def add_subscriber(new: NewSubscriber, settings=Depends(settings_of), editor: Editor = Depends(api_editor)):
    options = dict(name=new.name, language=new.language, topics=new.topics, method="api",
                   origin=f"api:{editor.email}")
    if new.confirmed:
        subscriber_id = subscribers.add_confirmed(settings, new.email, new.list, **options)
        request = None
    else:
        request = subscribers.subscribe(settings, new.email, new.list, **options)
        subscriber_id = request and request.subscriber_id
    if subscriber_id is None:
        raise HTTPException(409, f"{new.email} was not added: it is already on {new.list}, or it "
                                 "unsubscribed, bounced or complained before")
    added = SubscriberAdded(subscriber_id=subscriber_id, email=new.email, list=new.list,
                            status="confirmed" if new.confirmed else "pending",
                            confirmation_sent=False)
    if request is None:
        return added
    try:
        subscribers.send_confirmation(settings, request.subscriber_id, request.list_id)
    except PressbotError as exc:
        raise HTTPException(502, f"subscriber {subscriber_id} is pending, but the confirmation "
                                 f"email could not be sent: {exc}") from None
    added.confirmation_sent = True
    return JSONResponse(added.model_dump(mode="json"), status_code=202)

"""Digest editions: as built and delivered, and planned ahead as editors do it in the
dashboard (bot.services.planning) — the calendar of coming runs and editions, moving and
cancelling them, one-off campaigns, and the exact email subscribers get."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from bot.domain import calendar as shape
from bot.errors import BadInput
from bot.services import ab_tests, digests, edition_preview, planning, run_edits, subscribers
from bot.services.editors import Editor
from bot.store.mailing import EditionStatus
from bot.store.models import utcnow
from bot.web.api.common import (CONFLICT, NOT_FOUND, ApiRoute, Page, Paging, ResourceId, Text,
                                UtcDatetime, conflict, not_found)
from bot.web.api.models import (Calendar, CalendarItem, CalendarPost, Edition, EditionCancelled, EditionChange,
                                EditionState, EmailPreview, NewCampaign, RunChange, RunEdit)
from bot.web.security import api_editor, settings_of

router = APIRouter(route_class=ApiRoute, tags=["editions"])

DEFAULT_SPAN = timedelta(days=14)
# Each list's runs are computed one by one: a range of centuries would take minutes.
MAX_SPAN = timedelta(days=93)
NO_EMAIL = {409: {"description": "There is no email to show; `detail` says why (skipped, "
                                 "cancelled before it was built, nothing new yet…)"}}

Start = Annotated[UtcDatetime | None, Query(description="From (with a time zone); default: now")]
End = Annotated[UtcDatetime | None, Query(description=f"Until, excluded (with a time zone); default: "
                                                      f"start + {DEFAULT_SPAN.days} days, at most "
                                                      f"{MAX_SPAN.days} days after start")]
ListName = Annotated[Text(100, min_length=1), Path(description="The list's name")]
Slot = Annotated[UtcDatetime, Path(description="A run of the list's schedule, with a time zone: "
                                               "2026-11-29T06:00Z (a calendar item's `slot_key`)")]


# -- Editions as built ----------------------------------------------------------------------------


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
    return Edition.of(_existing(settings, edition_id))


# -- The calendar ---------------------------------------------------------------------------------


@router.get("/calendar", response_model=Calendar,
            summary="Digests and share posts in a time range")
def calendar(settings=Depends(settings_of), start: Start = None, end: End = None,
             list_name: Annotated[Text(100) | None, Query(alias="list", description=
                 "Only this list's digests (and no posts, unless `account` is given too)")] = None,
             account: Annotated[Text(100) | None, Query(description=
                 "Only this account's posts (and no digests, unless `list` is given too)")] = None,
             status: Annotated[Literal[shape.STATES] | None, Query(  # type: ignore[valid-type]
                 description="Only digests and posts in this status")] = None):
    """Every digest edition in [start, end) by time, with its status and counts (`items`):
    edition rows (any status but previews; `counts` are its deliveries by state) and the runs
    the lists' schedules will still produce (`edition_id` null, status `scheduled`, `counts` =
    `{"subscribers": n}`). A run moved or cancelled by an editor shows as its row only.
    `posts`: the share posts due in the range, by time, one per article and account."""
    start = start or utcnow()
    end = end or start + DEFAULT_SPAN
    if end <= start:
        raise HTTPException(422, "query parameter end: must be after start")
    if end - start > MAX_SPAN:
        raise HTTPException(422, f"query parameter end: at most {MAX_SPAN.days} days after start")
    filters = shape.Filters.of(list_name, account, status)
    found = shape.filtered(planning.timeline(settings, start, end), filters)
    return Calendar(start=start, end=end, items=[
        CalendarItem.of(item, item["slot"] and planning.slot_key(item["slot"]))
        for item in found if item["kind"] == "edition"],
        posts=[CalendarPost.of(item) for item in found if item["kind"] == "post"])


# -- Moving and cancelling an edition row ---------------------------------------------------------


@router.patch("/editions/{edition_id}", response_model=Edition, responses={**NOT_FOUND, **CONFLICT},
              summary="Move a scheduled edition to another time")
def reschedule_edition(edition_id: ResourceId, change: EditionChange, settings=Depends(settings_of)):
    """Only a `scheduled` edition (a moved run or a campaign not built yet) moves: once built
    it goes out within the minute (409). A time that has passed, or one another edition of
    the list (or its regular schedule) already has, is 422."""
    _plannable(settings, edition_id)
    try:
        planning.reschedule(settings, edition_id, change.scheduled_for)
    except BadInput as exc:
        if _existing(settings, edition_id)["status"] not in planning.MOVABLE:
            raise conflict(exc) from None
        raise _named(exc, {"send at": "body field scheduled_for"}) from None
    return Edition.of(_existing(settings, edition_id))


@router.post("/editions/{edition_id}/cancel", response_model=EditionCancelled,
             responses={**NOT_FOUND, **CONFLICT}, summary="Cancel an edition that has not finished going out")
def cancel_edition(edition_id: ResourceId, settings=Depends(settings_of),
                   editor: Editor = Depends(api_editor)):
    """A scheduled edition never goes out. One going out (pending, sending) stops: its
    deliveries not sent yet are recorded `suppressed`; what went out stays sent. 409 when
    there is nothing left to cancel."""
    _plannable(settings, edition_id)
    try:
        result = planning.cancel(settings, edition_id, editor=editor.email)
    except BadInput as exc:
        raise conflict(exc) from None
    return EditionCancelled.of({**_existing(settings, edition_id), "stopped": result["stopped"],
                                "already_sent": result["sent"]})


@router.get("/editions/{edition_id}/preview", response_model=EmailPreview,
            responses={**NOT_FOUND, **NO_EMAIL}, summary="The email subscribers get (or will get)")
def preview_edition(edition_id: ResourceId, settings=Depends(settings_of)):
    """What was frozen for a built edition; for a scheduled one, what would be frozen now."""
    _plannable(settings, edition_id)
    return _preview(settings, None, edition_id)


# -- Runs of a list's schedule that have no row yet -----------------------------------------------


@router.post("/lists/{name}/runs/{slot}", response_model=Edition, status_code=201,
             responses={**NOT_FOUND, **CONFLICT}, summary="Move or cancel a run of a list's schedule")
def plan_run(name: ListName, slot: Slot, change: RunChange, settings=Depends(settings_of),
             editor: Editor = Depends(api_editor)):
    """A run the calendar shows without an `edition_id` is turned into an edition row:

    - `{"scheduled_for": "2026-11-29T08:00:00+01:00"}` moves it: a `scheduled` edition at
      that time (with a time zone, ahead of now, not a time the list already has);
    - `{"cancel": true}` cancels it: a `cancelled` edition at the slot.

    Either way the schedule no longer produces it at `slot`. Answers 201 with the new
    edition; change it afterwards with PATCH /api/editions/{id} or
    POST /api/editions/{id}/cancel. 409 when the run already has a row (it was built,
    moved or cancelled: its id is in `detail`); 422 when `slot` is not a coming run of the
    list's schedule."""
    list_id = _list_id(settings, name)
    try:
        edition_id = planning.plan_slot(settings, list_id, slot, send_at=change.scheduled_for,
                                        cancel=change.cancel, editor=editor.email)
    except BadInput as exc:
        if planning.slot_edition(settings, list_id, slot) is not None:
            raise conflict(exc) from None
        raise _named(exc, {"send at": "body field scheduled_for"}, "path parameter slot") from None
    return Edition.of(_existing(settings, edition_id))


@router.patch("/lists/{name}/runs/{slot}", response_model=Edition,
              responses={**NOT_FOUND, **CONFLICT}, summary="Pick the articles, intro and subject of a coming run")
def edit_run(name: ListName, slot: Slot, edit: RunEdit, settings=Depends(settings_of),
             editor: Editor = Depends(api_editor)):
    """The run goes out at its time with exactly `article_ids` (in that order), `intro` above
    them and `subject`. A run without a row gets one (a `scheduled` edition at the slot,
    answered with its id); a run already moved is edited in place. 409 once it is built."""
    list_id = _list_id(settings, name)
    try:
        edition_id = run_edits.edit_run(settings, list_id, slot, article_ids=edit.article_ids,
                                         intro=edit.intro, subject=edit.subject, editor=editor.email)
    except BadInput as exc:
        fields = {"articles": "body field article_ids", "intro": "body field intro",
                  "subject": "body field subject"}
        if str(exc).partition(": ")[0] not in fields and planning.slot_edition(settings, list_id, slot):
            raise conflict(exc) from None
        raise _named(exc, fields, "path parameter slot") from None
    return Edition.of(_existing(settings, edition_id))


@router.get("/lists/{name}/runs/{slot}/preview", response_model=EmailPreview,
            responses={**NOT_FOUND, **NO_EMAIL}, summary="The email a coming run of a list would send")
def preview_run(name: ListName, slot: Slot, settings=Depends(settings_of)):
    """What the run would carry if it were built now (the articles new since the list's
    last edition); a run that already has a row shows that edition's email."""
    return _preview(settings, _list_id(settings, name), slot)


# -- Campaigns ------------------------------------------------------------------------------------


@router.post("/campaigns", response_model=Edition, status_code=201,
             summary="A one-off edition of a list with chosen articles")
def create_campaign(new: NewCampaign, settings=Depends(settings_of), editor: Editor = Depends(api_editor)):
    """The articles go in the order given, under `intro` if there is one. It goes out at
    `send_at`, or within the minute without one; until then it can be moved
    (PATCH /api/editions/{id}), previewed and cancelled."""
    try:
        edition_id = planning.create_campaign(
            settings, new.list, article_ids=new.article_ids, intro=new.intro, send_at=new.send_at,
            editor=editor.email, subject=new.subject, subject_b=new.subject_b,
            sample_percent=new.sample_percent, decide_after_hours=new.decide_after_hours)
    except BadInput as exc:
        raise _named(exc, {"send at": "body field send_at", "articles": "body field article_ids",
                           "list": "body field list", "intro": "body field intro",
                           "subject": "body field subject", "subject b": "body field subject_b",
                           "sample": "body field sample_percent",
                           "decide after": "body field decide_after_hours"}) from None
    return Edition.of(_existing(settings, edition_id))


# -- Helpers --------------------------------------------------------------------------------------


def _existing(settings, edition_id: int) -> dict:
    row = digests.get_edition(settings, edition_id)
    if row is None:
        raise not_found("edition with id", edition_id)
    return {**row, "ab_test": ab_tests.summary(settings, edition_id)}


def _plannable(settings, edition_id: int) -> dict:
    """404 for no edition; 409 for a preview made by `digest render`, never sent."""
    row = _existing(settings, edition_id)
    if row["status"] == EditionStatus.PREVIEW:
        raise HTTPException(409, f"edition {edition_id} is a preview made by `digest render`: "
                                 "it is never sent, so it cannot be planned")
    return row


def _list_id(settings, name: str) -> int:
    try:
        return subscribers.get_list(settings, name)["id"]
    except BadInput:
        raise not_found("list named", repr(name)) from None


def _named(exc: BadInput, fields: dict[str, str], otherwise: str | None = None) -> BadInput:
    """The service names fields as the dashboard's forms do ("send at: …"); the API names
    them as its own schema does ("body field send_at: …")."""
    head, sep, rest = str(exc).partition(": ")
    if sep and head in fields:
        return BadInput(f"{fields[head]}: {rest}")
    return BadInput(f"{otherwise}: {exc}" if otherwise else str(exc))


def _preview(settings, list_id: int | None, ref: int | datetime) -> EmailPreview:
    try:
        subject, html, text = edition_preview.preview(settings, list_id, ref)
    except BadInput as exc:
        raise conflict(exc) from None
    return EmailPreview(subject=subject, html=html, text=text)

"""The edition page: the exact email (subject, HTML in a sandboxed frame, text part) and
what an editor can do to it — reschedule, cancel, send a test to themselves, resend
failures. It serves both edition rows (/admin/editions/{id}) and runs a list's schedule
will produce but that have no row yet (/admin/lists/{list_id}/runs/{2026-11-29T07:00Z}):
moving or cancelling such a run makes the row, and the page moves to it."""

from __future__ import annotations

import html
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.errors import BadInput
from bot.services import ab_tests, edition_preview, planning, retries, run_edits
from bot.services.editors import Editor
from bot.services.status import outside_systems
from bot.store.mailing import EditionStatus
from bot.web.admin import engagement
from bot.web.security import EMAIL_FRAME_CSP, require_editor, settings_of
from bot.web.templating import admin_translator, flash, local_time, render, zone_name

router = APIRouter()

FRAME_HEADERS = {"content-security-policy": EMAIL_FRAME_CSP, "x-frame-options": "SAMEORIGIN"}


class Target:
    """An edition row or a run of a list's schedule, and where its page lives."""

    def __init__(self, list_id: int | None, ref: int | datetime):
        self.list_id, self.ref = list_id, ref

    @property
    def path(self) -> str:
        if isinstance(self.ref, datetime):
            return f"/admin/lists/{self.list_id}/runs/{planning.slot_key(self.ref)}"
        return f"/admin/editions/{self.ref}"


def _run(list_id: int, slot: str) -> Target:
    return Target(list_id, planning.parse_slot(slot))


def _page(request: Request, target: Target, *, error: str | None = None, send_at: str = "",
          edit_form: dict | None = None):
    settings = settings_of(request)
    try:
        info = edition_preview.describe(settings, target.list_id, target.ref)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    try:
        subject, _, text = edition_preview.preview(settings, target.list_id, target.ref)
        empty = None
    except BadInput as exc:
        subject, text, empty = info.get("subject"), None, str(exc)
    default_at = send_at or local_time(info["when"], request, "%Y-%m-%dT%H:%M")
    return render(request, "admin/edition.html", {
        "info": info, "subject": subject, "text": text, "empty": empty, "path": target.path,
        "error": error, "send_at": default_at, "slot_key": planning.slot_key,
        "outages": _holding_back(settings, info),
        # A campaign's A/B subject test: both subjects, the sample's figures, the winner.
        "ab": ab_tests.summary(settings, target.ref) if isinstance(target.ref, int) else None,
        # The run's plan as saved, or as typed when it was refused (nothing typed is lost).
        "edit_form": edit_form or _plan_form(info.get("plan") or {}),
        # Figures once it went out (issue 14); a run without a row has none.
        **(engagement.edition_context(settings, target.ref, admin_translator(request))
           if isinstance(target.ref, int) and info["status"] in _SENT_OR_SENDING else {}),
    }, status_code=422 if error else 200)


_SENT_OR_SENDING = (EditionStatus.SENDING, EditionStatus.SENT)


# What a digest still going out needs from outside: the mail server (or outbox) and Redis.
_MAIL_SYSTEMS = ("smtp", "outbox", "redis")


def _holding_back(settings, info: dict) -> list[dict]:
    """The outages that hold an edition's deliveries back, while it still has some to send
    (a refused SMTP connection otherwise shows only as deliveries that never move)."""
    if info["status"] not in (EditionStatus.PENDING, EditionStatus.SENDING):
        return []
    return [o for o in outside_systems(settings) if o["kind"] in _MAIL_SYSTEMS]


def _plan_form(plan: dict) -> dict:
    return {"article_ids": ", ".join(map(str, plan.get("article_ids") or [])),
            "intro": plan.get("intro") or "", "subject": plan.get("subject") or ""}


def _edit(request: Request, target: Target, editor: Editor, article_ids: str, intro: str,
          subject: str):
    """Save a run's articles, intro and subject (bot.services.run_edits); the page moves to
    the row the run now has."""
    typed = {"article_ids": article_ids, "intro": intro, "subject": subject}
    settings = settings_of(request)
    try:
        ids = run_edits.parse_ids(article_ids)
        if isinstance(target.ref, datetime):
            edition_id = run_edits.edit_run(settings, target.list_id, target.ref, article_ids=ids,
                                            intro=intro, subject=subject, editor=editor.email)
        else:
            edition_id = run_edits.edit_edition(settings, target.ref, article_ids=ids,
                                                intro=intro, subject=subject)
    except BadInput as exc:
        return _page(request, target, error=str(exc), edit_form=typed)
    return _done(request, admin_translator(request)("a.ed_flash_saved"),
                 f"/admin/editions/{edition_id}")


def _frame(request: Request, target: Target) -> HTMLResponse:
    try:
        _, body, _ = edition_preview.preview(settings_of(request), target.list_id, target.ref)
    except BadInput as exc:
        body = (f'<!doctype html><meta charset="utf-8"><p style="font-family: sans-serif">'
                f"{html.escape(str(exc))}</p>")
    return HTMLResponse(body, headers=FRAME_HEADERS)


def _done(request: Request, message: str, path: str) -> RedirectResponse:
    flash(request, message)
    return RedirectResponse(path, status_code=303)


def _parse_send_at(request: Request, value: str) -> datetime:
    return planning.parse_local(value, zone_name(request))


def _when(request: Request, value: datetime) -> str:
    return local_time(value, request) + f" ({zone_name(request)})"


# -- Edition rows -------------------------------------------------------------------------------


@router.get("/editions/{edition_id}")
def edition_page(request: Request, edition_id: int):
    return _page(request, Target(None, edition_id))


@router.get("/editions/{edition_id}/frame")
def edition_frame(request: Request, edition_id: int):
    return _frame(request, Target(None, edition_id))


@router.post("/editions/{edition_id}/reschedule")
def edition_reschedule(request: Request, edition_id: int, send_at: str = Form("")):
    target = Target(None, edition_id)
    try:
        moved = planning.reschedule(settings_of(request), edition_id, _parse_send_at(request, send_at))
    except BadInput as exc:
        return _page(request, target, error=str(exc), send_at=send_at)
    return _done(request, admin_translator(request)("a.ed_flash_moved",
                                                    when=_when(request, moved["scheduled_for"])),
                 target.path)


@router.post("/editions/{edition_id}/edit")
def edition_edit(request: Request, edition_id: int, article_ids: str = Form(""), intro: str = Form(""),
                 subject: str = Form(""), editor: Editor = Depends(require_editor)):
    return _edit(request, Target(None, edition_id), editor, article_ids, intro, subject)


@router.post("/editions/{edition_id}/cancel")
def edition_cancel(request: Request, edition_id: int, editor: Editor = Depends(require_editor)):
    target = Target(None, edition_id)
    try:
        result = planning.cancel(settings_of(request), edition_id, editor=editor.email)
    except BadInput as exc:
        return _page(request, target, error=str(exc))
    t = admin_translator(request)
    message = t("a.ed_flash_cancelled")
    if result["sent"] or result["stopped"]:
        message = t("a.ed_flash_cancelled_sending", stopped=result["stopped"], sent=result["sent"])
    return _done(request, message, target.path)


@router.post("/editions/{edition_id}/test")
def edition_test(request: Request, edition_id: int, editor: Editor = Depends(require_editor)):
    return _send_test(request, Target(None, edition_id), editor)


@router.post("/editions/{edition_id}/resend")
def edition_resend(request: Request, edition_id: int):
    target = Target(None, edition_id)
    try:
        count = retries.resend_failed(settings_of(request), edition_id)
    except BadInput as exc:
        return _page(request, target, error=str(exc))
    t = admin_translator(request)
    message = (t(t.plural("a.ed_flash_resend", count), n=count) if count
               else t("a.ed_flash_nothing_to_resend"))
    return _done(request, message, target.path)


def _send_test(request: Request, target: Target, editor: Editor):
    try:
        edition_preview.send_test(settings_of(request), target.list_id, target.ref, editor.email)
    except BadInput as exc:
        return _page(request, target, error=str(exc))
    return _done(request, admin_translator(request)("a.ed_flash_test_sent", email=editor.email),
                 target.path)


# -- Runs of a list's schedule (no row yet) -----------------------------------------------------


def _existing(request: Request, target: Target) -> RedirectResponse | None:
    """A run already built, moved or cancelled has a page of its own: go there."""
    edition_id = planning.slot_edition(settings_of(request), target.list_id, target.ref)
    if edition_id is None:
        return None
    return RedirectResponse(f"/admin/editions/{edition_id}", status_code=303)


@router.get("/lists/{list_id}/runs/{slot}")
def run_page(request: Request, list_id: int, slot: str):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    return _existing(request, target) or _page(request, target)


@router.get("/lists/{list_id}/runs/{slot}/frame")
def run_frame(request: Request, list_id: int, slot: str):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return HTMLResponse(html.escape(str(exc)), status_code=404, headers=FRAME_HEADERS)
    return _frame(request, target)


@router.post("/lists/{list_id}/runs/{slot}/reschedule")
def run_reschedule(request: Request, list_id: int, slot: str, send_at: str = Form(""),
                   editor: Editor = Depends(require_editor)):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    try:
        when = _parse_send_at(request, send_at)
        edition_id = planning.plan_slot(settings_of(request), list_id, target.ref, send_at=when,
                                        editor=editor.email)
    except BadInput as exc:
        return _page(request, target, error=str(exc), send_at=send_at)
    return _done(request, admin_translator(request)("a.ed_flash_moved", when=_when(request, when)),
                 f"/admin/editions/{edition_id}")


@router.post("/lists/{list_id}/runs/{slot}/edit")
def run_edit(request: Request, list_id: int, slot: str, article_ids: str = Form(""),
             intro: str = Form(""), subject: str = Form(""), editor: Editor = Depends(require_editor)):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    return _edit(request, target, editor, article_ids, intro, subject)


@router.post("/lists/{list_id}/runs/{slot}/cancel")
def run_cancel(request: Request, list_id: int, slot: str, editor: Editor = Depends(require_editor)):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    try:
        edition_id = planning.plan_slot(settings_of(request), list_id, target.ref, cancel=True,
                                        editor=editor.email)
    except BadInput as exc:
        return _page(request, target, error=str(exc))
    return _done(request, admin_translator(request)("a.ed_flash_run_cancelled"),
                 f"/admin/editions/{edition_id}")


@router.post("/lists/{list_id}/runs/{slot}/test")
def run_test(request: Request, list_id: int, slot: str, editor: Editor = Depends(require_editor)):
    try:
        target = _run(list_id, slot)
    except BadInput as exc:
        return render(request, "admin/edition_missing.html", {"error": str(exc)}, status_code=404)
    return _send_test(request, target, editor)

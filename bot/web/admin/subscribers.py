"""Dashboard pages: subscribers. Search, add, import a CSV (upload → preview of every row,
bad ones with their line → commit), export a list, and one subscriber's history with
unsubscribe and erasure. Any editor may use them."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from bot.errors import BadInput, PressbotError
from bot.services import subscriber_data, subscriber_search, subscribers
from bot.services.editors import Editor
from bot.store.mailing import SubscriberStatus
from bot.web.security import require_editor, settings_of
from bot.web.templating import admin_translator, flash, render

router = APIRouter()

STATUSES = (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED, SubscriberStatus.UNSUBSCRIBED,
            SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)
METHOD = "dashboard"   # consent records: how the change was made; the origin is the editor


def _back(**query) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v}
    return RedirectResponse("/admin/subscribers" + (f"?{urlencode(query)}" if query else ""),
                            status_code=303)


@router.get("/subscribers")
def search_page(request: Request, q: str = "", list_name: str = Query("", alias="list"),
                status: str = "", page: int = 1):
    settings = settings_of(request)
    lists = subscribers.list_lists(settings)
    error, result = None, None
    try:
        result = subscriber_search.search_subscribers(
            settings, text=q, list_name=list_name or None,
            status=status if status in STATUSES else None, page=page)
    except BadInput as exc:
        error = str(exc)
    query = {"q": q, "list": list_name, "status": status}
    return render(request, "admin/subscribers.html", {
        "lists": lists, "statuses": STATUSES, "query": query, "result": result, "error": error,
        "page_link": lambda n: "/admin/subscribers?" + urlencode({**query, "page": n}),
    }, status_code=422 if error else 200)


@router.post("/subscribers/add")
def add(request: Request, email: str = Form(""), list_name: str = Form("", alias="list"),
        name: str = Form(""), language: str = Form(""), consent: str = Form(""),
        editor: Editor = Depends(require_editor)):
    settings = settings_of(request)
    t = admin_translator(request)
    options = dict(name=name.strip() or None, language=language.strip() or None, method=METHOD,
                   origin=editor.email)
    try:
        if consent:
            subscriber_id = subscribers.add_confirmed(settings, email, list_name, **options)
            pending = None
        else:
            pending = subscribers.subscribe(settings, email, list_name, **options)
            subscriber_id = pending and pending.subscriber_id
    except BadInput as exc:
        flash(request, t("a.sub_not_added", reason=str(exc)), "error")
        return _back()
    if subscriber_id is None:
        flash(request, t("a.sub_flash_not_added_again", email=email, list=list_name), "error")
        return _back()
    if pending is None:
        flash(request, t("a.sub_flash_added_confirmed", email=email, list=list_name))
    else:
        _send_confirmation(request, pending)
    return RedirectResponse(f"/admin/subscribers/{subscriber_id}", status_code=303)


def _send_confirmation(request: Request, pending: subscribers.ConfirmationRequest) -> None:
    t = admin_translator(request)
    try:
        subscribers.send_confirmation(settings_of(request), pending.subscriber_id, pending.list_id)
    except PressbotError as exc:
        flash(request, t("a.sub_flash_confirmation_failed", email=pending.email, reason=str(exc)),
              "error")
        return
    flash(request, t("a.sub_flash_confirmation_sent", email=pending.email, list=pending.list_name))


# -- CSV import: upload, preview, commit ----------------------------------------------------------


@router.post("/subscribers/import")
def upload(request: Request, file: UploadFile = File(...), list_name: str = Form("", alias="list")):
    settings = settings_of(request)
    # A sync route (FastAPI runs it in a thread): the staging and the database work block.
    data = file.file.read(subscriber_data.MAX_UPLOAD_BYTES + 1)
    filename = (file.filename or "upload.csv").rsplit("/", 1)[-1][:100]
    try:
        subscribers.get_list(settings, list_name)
        staged = subscriber_data.stage_upload(settings, data, filename)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.sub_not_imported", reason=str(exc)), "error")
        return _back()
    query = urlencode({"list": list_name, "filename": filename})
    return RedirectResponse(f"/admin/subscribers/import/{staged}?{query}", status_code=303)


@router.get("/subscribers/import/{staged}")
def preview(request: Request, staged: str, list_name: str = Query("", alias="list"),
            filename: str = "upload.csv",
            editor: Editor = Depends(require_editor)):
    settings = settings_of(request)
    try:
        report = subscriber_data.import_staged(settings, staged, list_name, filename=filename,
                                               origin=_origin(filename, editor), dry_run=True)
    except BadInput as exc:
        subscriber_data.discard_staged(settings, staged)
        flash(request, admin_translator(request)("a.sub_not_imported", reason=str(exc)), "error")
        return _back()
    return render(request, "admin/subscribers_import.html", {
        "report": report, "staged": staged, "list_name": list_name, "filename": filename,
        "problems": _problems(report)})


def _origin(filename: str, editor: Editor) -> str:
    return f"{filename} (uploaded by {editor.email})"


def _problems(report: subscriber_data.ImportReport) -> list[tuple[str, subscriber_data.RowProblem]]:
    rows = ([("invalid", p) for p in report.invalid] + [("duplicate", p) for p in report.duplicates]
            + [("skipped", p) for p in report.skipped])
    return sorted(rows, key=lambda item: item[1].line)


@router.post("/subscribers/import/{staged}/commit")
def commit(request: Request, staged: str, list_name: str = Form("", alias="list"),
           filename: str = Form("upload.csv"), editor: Editor = Depends(require_editor)):
    try:
        report = subscriber_data.import_staged(settings_of(request), staged, list_name, filename=filename,
                                               origin=_origin(filename, editor), dry_run=False)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.sub_not_imported", reason=str(exc)), "error")
        return _back()
    problems = len(report.invalid) + len(report.duplicates) + len(report.skipped)
    flash(request, admin_translator(request)("a.sub_flash_imported", filename=filename,
                                             imported=report.imported, list=list_name,
                                             already=report.already, problems=problems))
    return _back(list=list_name)


@router.post("/subscribers/import/{staged}/cancel")
def cancel(request: Request, staged: str):
    subscriber_data.discard_staged(settings_of(request), staged)
    flash(request, admin_translator(request)("a.sub_flash_import_cancelled"))
    return _back()


@router.get("/subscribers/export")
def export(request: Request, list_name: str = Query("", alias="list")):
    try:
        text = subscriber_data.export_csv(settings_of(request), list_name)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.sub_not_exported", reason=str(exc)), "error")
        return _back()
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{list_name}-subscribers.csv"'})


# -- One subscriber -------------------------------------------------------------------------------


@router.get("/subscribers/{subscriber_id}")
def detail(request: Request, subscriber_id: int):
    settings = settings_of(request)
    try:
        history = subscriber_search.subscriber_history(settings, subscriber_id)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.sub_not_found", reason=str(exc)), "error")
        return _back()
    return render(request, "admin/subscribers_detail.html", {
        "subscriber_id": subscriber_id, "data": history, "profile": history["subscriber"]})


@router.post("/subscribers/{subscriber_id}/unsubscribe")
def unsubscribe(request: Request, subscriber_id: int, list_name: str = Form("", alias="list"),
                editor: Editor = Depends(require_editor)):
    t = admin_translator(request)
    try:
        ended = subscribers.remove_from_list(settings_of(request), subscriber_id, list_name,
                                             method=METHOD, origin=editor.email)
    except BadInput as exc:
        flash(request, t("a.sub_not_unsubscribed", reason=str(exc)), "error")
    else:
        flash(request, t("a.sub_flash_unsubscribed" if ended else "a.sub_flash_was_not_on", list=list_name),
              "ok" if ended else "warn")
    return RedirectResponse(f"/admin/subscribers/{subscriber_id}", status_code=303)


@router.post("/subscribers/{subscriber_id}/erase")
def erase(request: Request, subscriber_id: int):
    settings = settings_of(request)
    t = admin_translator(request)
    try:
        email = subscriber_search.subscriber_history(settings, subscriber_id)["email"]
        result = subscriber_data.erase_subscriber(settings, email)
    except BadInput as exc:
        flash(request, t("a.sub_not_erased", reason=str(exc)), "error")
        return _back()
    flash(request, t("a.sub_flash_erased", id=subscriber_id, kept=result["deliveries_kept"]))
    return _back()

"""One-off campaigns: the chosen articles, an optional intro above them, one list, now or
at a time. The campaign is a scheduled edition; its page is the edition page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from bot.errors import BadInput
from bot.services import planning, subscribers
from bot.services.articles import list_articles
from bot.services.editors import Editor
from bot.web.security import require_editor, settings_of
from bot.web.templating import flash, local_time, render, zone_name

router = APIRouter()

RECENT_ARTICLES = 60


def _form(request: Request, values: dict, *, error: str | None = None):
    settings = settings_of(request)
    return render(request, "admin/campaign_new.html", {
        "lists": subscribers.list_lists(settings),
        "articles": list_articles(settings, limit=RECENT_ARTICLES),
        "values": values, "error": error,
    }, status_code=422 if error else 200)


@router.get("/campaigns/new")
def new_campaign(request: Request):
    return _form(request, {"article_ids": [], "intro": "", "list": "", "when": "now", "send_at": ""})


@router.post("/campaigns")
async def create_campaign(request: Request, editor: Editor = Depends(require_editor)):
    form = await request.form()
    values = {"article_ids": form.getlist("article_ids"), "intro": str(form.get("intro") or ""),
              "list": str(form.get("list") or ""), "when": str(form.get("when") or "now"),
              "send_at": str(form.get("send_at") or "")}
    settings = settings_of(request)
    try:
        try:
            ids = [int(i) for i in values["article_ids"]]
        except ValueError:
            raise BadInput("articles: not an article id") from None
        send_at = None
        if values["when"] == "at":
            send_at = planning.parse_local(values["send_at"], zone_name(request))
        edition_id = planning.create_campaign(settings, values["list"], article_ids=ids,
                                              intro=values["intro"], send_at=send_at,
                                              editor=editor.email)
    except BadInput as exc:
        return _form(request, values, error=str(exc))
    flash(request, "Campaign scheduled: it goes out at the next dispatch (within a minute)."
          if send_at is None else f"Campaign scheduled for {local_time(send_at, request)}.")
    return RedirectResponse(f"/admin/editions/{edition_id}", status_code=303)

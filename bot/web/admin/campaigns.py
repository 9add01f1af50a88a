"""One-off campaigns: the chosen articles, an optional intro above them, one list, now or
at a time. The campaign is a scheduled edition; its page is the edition page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from bot.domain import ab_test
from bot.errors import BadInput
from bot.services import planning, subscribers
from bot.services.articles import list_articles
from bot.services.editors import Editor
from bot.web.security import require_editor, settings_of
from bot.web.templating import admin_translator, flash, local_time, render, zone_name

router = APIRouter()

RECENT_ARTICLES = 60
# The subject fields and the A/B subject test's settings, as the empty form shows them.
_AB_DEFAULTS = {"subject": "", "subject_b": "",
                "sample_percent": str(ab_test.DEFAULT_SAMPLE_PERCENT),
                "decide_after_hours": str(ab_test.DEFAULT_DECIDE_AFTER_HOURS)}


def _form(request: Request, values: dict, *, error: str | None = None):
    settings = settings_of(request)
    return render(request, "admin/campaign_new.html", {
        "lists": subscribers.list_lists(settings),
        "articles": list_articles(settings, limit=RECENT_ARTICLES),
        "values": values, "error": error,
    }, status_code=422 if error else 200)


@router.get("/campaigns/new")
def new_campaign(request: Request):
    return _form(request, {"article_ids": [], "intro": "", "list": "", "when": "now", "send_at": "",
                           **_AB_DEFAULTS})


@router.post("/campaigns")
async def create_campaign(request: Request, editor: Editor = Depends(require_editor)):
    form = await request.form()
    values = {"article_ids": form.getlist("article_ids"), "intro": str(form.get("intro") or ""),
              "list": str(form.get("list") or ""), "when": str(form.get("when") or "now"),
              "send_at": str(form.get("send_at") or ""),
              # An optional subject, and a second one for an A/B subject test.
              **{name: str(form.get(name) or "") for name in _AB_DEFAULTS}}
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
                                              editor=editor.email, subject=values["subject"],
                                              subject_b=values["subject_b"],
                                              sample_percent=values["sample_percent"],
                                              decide_after_hours=values["decide_after_hours"])
    except BadInput as exc:
        return _form(request, values, error=str(exc))
    t = admin_translator(request)
    flash(request, t("a.camp_flash_now") if send_at is None
          else t("a.camp_flash_at", when=local_time(send_at, request)))
    if values["subject_b"].strip():
        percent = values["sample_percent"].strip() or ab_test.DEFAULT_SAMPLE_PERCENT
        hours = values["decide_after_hours"].strip() or ab_test.DEFAULT_DECIDE_AFTER_HOURS
        flash(request, admin_translator(request)("a.ab_flash_scheduled", percent=percent,
                                                 hours=hours))
    return RedirectResponse(f"/admin/editions/{edition_id}", status_code=303)

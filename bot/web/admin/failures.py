"""Dashboard page: what failed and why, each with a way to try again. Retrying makes the
work due now; the next dispatch tick (within a minute) does it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from bot.services import retries
from bot.services.status import outside_systems
from bot.web.security import settings_of
from bot.web.templating import admin_translator, flash, refused, render

router = APIRouter()

# Enough to see a bad morning at a glance; the totals say when there are more.
SHOWN = 100


@router.get("/failures")
def failures(request: Request):
    settings = settings_of(request)
    return render(request, "admin/failures.html",
                  {"failures": retries.list_failures(settings, limit=SHOWN),
                   "outages": outside_systems(settings)})


def _back() -> RedirectResponse:
    return RedirectResponse("/admin/failures", status_code=303)


@router.post("/failures/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, delivery_id: int):
    t = admin_translator(request)
    with refused(request, t("a.fail_not_retried")):
        edition_id = retries.retry_delivery(settings_of(request), delivery_id)
        flash(request, t("a.fail_flash_delivery", id=delivery_id, edition=edition_id))
    return _back()


@router.post("/failures/editions/{edition_id}/resend")
def resend_edition(request: Request, edition_id: int):
    t = admin_translator(request)
    with refused(request, t("a.fail_not_resent")):
        count = retries.resend_failed(settings_of(request), edition_id)
        flash(request, t(t.plural("a.fail_flash_resent", count), count=count, edition=edition_id))
    return _back()


@router.post("/failures/posts/{post_id}/retry")
def retry_post(request: Request, post_id: int):
    t = admin_translator(request)
    with refused(request, t("a.fail_not_retried")):
        post = retries.retry_post(settings_of(request), post_id)
        if post["waiting_for"]:
            flash(request, t("a.fail_flash_post_waits", account=post["account"],
                             reason=post["waiting_for"]), "warn")
        else:
            flash(request, t("a.fail_flash_post_again", account=post["account"]))
    return _back()

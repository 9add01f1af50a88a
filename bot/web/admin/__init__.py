"""The editors' dashboard under /admin. Every route here needs a logged-in editor (the
router's dependency) and a CSRF token on every unsafe request; settings pages add
`require_admin`. Each page family is a module of its own with a `router`."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse

from bot.web.admin import (account, articles, calendar, campaigns, editions, engagement, failures,
                           subscribers)
from bot.web.admin import settings as settings_pages
from bot.web.security import require_editor, verify_csrf

router = APIRouter(prefix="/admin", dependencies=[Depends(require_editor), Depends(verify_csrf)],
                   include_in_schema=False)
for module in (calendar, editions, campaigns, articles, engagement, failures, subscribers,
               settings_pages, account):
    router.include_router(module.router)


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/admin/calendar", status_code=303)

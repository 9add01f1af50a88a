"""The JSON API under /api: articles, editions (with the calendar, moving, cancelling, previews
and campaigns), share posts, subscribers and lists.

Every route needs a bearer token (`pressbot tokens create`); writes to settings (lists)
need an admin's. The schema is at /api/openapi.json, the docs at /api/docs. The CMS
webhook, also under /api, is bot.web.hooks (it is signed, not token-authenticated)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Security

from bot.web.api import articles, editions, engagement, lists, shares, subscribers
from bot.web.api.common import ERRORS, bearer
from bot.web.security import api_editor

router = APIRouter(prefix="/api", dependencies=[Security(bearer), Depends(api_editor)], responses=ERRORS)
for module in (articles, editions, engagement, shares, subscribers, lists):
    router.include_router(module.router)

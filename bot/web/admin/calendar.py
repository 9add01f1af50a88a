"""Dashboard pages: the calendar (to be built)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from bot.web.templating import render

router = APIRouter()


@router.get("/calendar")
def calendar(request: Request):
    return render(request, "admin/calendar.html")

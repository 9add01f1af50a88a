"""The calendar: digest editions (built, planned, and the runs lists' schedules will still
produce) and share posts on one timeline, grouped by day in the site's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request

from bot.domain.schedules import zone
from bot.services import planning
from bot.web.security import settings_of
from bot.web.templating import render

router = APIRouter()

# Shown by default: a week back, two weeks ahead; prev/next move by the whole span.
DAYS_BACK, SPAN = 7, 21


def _first_day(value: str | None, today: date) -> tuple[date, str | None]:
    if value:
        try:
            return date.fromisoformat(value), None
        except ValueError:
            return today - timedelta(days=DAYS_BACK), f"{value!r} is not a date like 2026-11-29"
    return today - timedelta(days=DAYS_BACK), None


@router.get("/calendar")
def calendar(request: Request, start: str | None = None):
    settings = settings_of(request)
    tz = settings.timezone or "UTC"
    today = datetime.now(zone(tz)).date()
    first, error = _first_day(start, today)
    begin, end = planning.day_range(first, SPAN, tz)
    items = planning.timeline(settings, begin, end)
    return render(request, "admin/calendar.html", {
        "days": planning.by_local_day(items, tz), "first": first,
        "last": first + timedelta(days=SPAN - 1), "today": today,
        "prev": (first - timedelta(days=SPAN)).isoformat(),
        "next": (first + timedelta(days=SPAN)).isoformat(),
        "slot_key": planning.slot_key, "error": error,
    }, status_code=400 if error else 200)

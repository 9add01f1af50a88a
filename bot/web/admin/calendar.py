"""The calendar: digest editions (built, planned, and the runs lists' schedules will still
produce) and share posts on one timeline, grouped by day in the site's time zone and, within
a day, one row per article with a chip per account (bot.domain.calendar).

Two views: the list (today first, then the days ahead, then the week before) and the week
(Monday to Sunday in seven columns, made to fit one screen). Filters narrow by list,
account and status; they ride along in every link so paging keeps them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from bot.domain import calendar as shape
from bot.domain.schedules import zone
from bot.errors import BadInput
from bot.services import planning
from bot.web.i18n import Translator
from bot.web.security import settings_of
from bot.web.templating import admin_translator, render, zone_name

router = APIRouter()

# The list view: a week back, two weeks ahead; prev/next move by the whole span.
DAYS_BACK, SPAN = 7, 21
VIEWS = ("list", "week")


def _first_day(value: str | None, today: date, t: Translator) -> tuple[date | None, str | None]:
    if not value:
        return None, None
    try:
        return date.fromisoformat(value), None
    except ValueError:
        return None, t("a.cal_bad_start", value=repr(value))


def _day_names(t: Translator):
    """The day headings of both views in the editor's language (strftime's names are
    English whatever the page's language): "Monday 30 November 2026" and "Mon 30"."""
    def heading(day: date) -> str:
        return t("a.cal_day_heading", weekday=t(f"a.cal_weekday_{day.weekday()}"),
                 day=f"{day:%d}", d=day.day, month=t(f"a.cal_month_{day.month}"), year=day.year)

    def short(day: date) -> str:
        return t("a.cal_week_heading", weekday=t(f"a.cal_wd_{day.weekday()}"), day=f"{day:%d}", d=day.day)

    return heading, short


def _span(view: str, start: date | None, today: date) -> tuple[date, int]:
    if view == "week":
        return shape.week_start(start or today), 7
    return (start or today - timedelta(days=DAYS_BACK)), SPAN


@router.get("/calendar")
def calendar(request: Request, start: str | None = None, view: str = "list",
             list: str | None = None, account: str | None = None, status: str | None = None):
    settings = settings_of(request)
    tz = zone_name(request)   # the editor's days, not the site's
    today = datetime.now(zone(tz)).date()
    t = admin_translator(request)
    errors = []
    first, error = _first_day(start, today, t)
    given = first is not None
    errors += [error] if error else []
    if view not in VIEWS:
        errors.append(t("a.cal_bad_view", value=repr(view), choices=", ".join(VIEWS)))
        view = "list"
    try:
        filters = shape.Filters.of(list, account, status)
    except BadInput as exc:
        errors.append(str(exc))
        filters = shape.Filters()
    first, span = _span(view, first, today)
    begin, end = planning.day_range(first, span, tz)
    items = shape.filtered(planning.timeline(settings, begin, end), filters)
    days = [(day, shape.article_rows(day_items))
            for day, day_items in planning.by_local_day(items, tz)]
    ahead, earlier = shape.today_first(days, today)
    day_heading, week_heading = _day_names(t)
    kept = {"view": view, "list": filters.list, "account": filters.account, "status": filters.status}

    def link(**change) -> str:
        query = {k: v for k, v in {**kept, **change}.items() if v and not (k == "view" and v == "list")}
        return "/admin/calendar" + ("?" + urlencode(query) if query else "")

    return render(request, "admin/calendar.html", {
        "view": view, "ahead": ahead, "earlier": earlier, "week": shape.week(days, first),
        "first": first, "last": first + timedelta(days=span - 1), "today": today,
        "prev": link(start=(first - timedelta(days=span)).isoformat()),
        "next": link(start=(first + timedelta(days=span)).isoformat()),
        "around_today": link(), "cleared": link(start=start if given else None, list=None, account=None, status=None), "list_view": link(view="list", start=None),
        "week_view": link(view="week", start=first.isoformat() if view == "week" else None),
        "filters": filters, "choices": planning.calendar_choices(settings),
        "states": shape.STATES, "slot_key": planning.slot_key, "error": "; ".join(errors),
        "day_heading": day_heading, "week_heading": week_heading,
    }, status_code=400 if errors else 200)

"""The calendar in Chromium (issue 14): a day of 14 articles on four accounts, plus the
list's daily digests, is 14 rows in the list view and fits one laptop screen (1366×768) in
the week view, without scrolling either way."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.schedules import local_instant
from bot.services import shares
from bot.web.app import create_app
from tests.browser.test_editions_browser import _log_in
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.integration.test_web_calendar import add_post
from tests.support.web import add_editor
from tests.support.webserver import AppServer

PARIS = ZoneInfo("Europe/Paris")
ACCOUNTS = [("gazette-x", "x"), ("gazette-masto", "mastodon"), ("gazette-bsky", "bluesky"),
            ("gazette-tg", "telegram")]


def test_a_busy_day_is_fourteen_rows_and_its_week_fits_one_screen(sqlite_settings, page):
    settings = sqlite_settings
    settings.timezone = "Europe/Paris"
    now = datetime.now(timezone.utc)
    make_list(settings, created=now - timedelta(days=3))
    add_readers(settings, 1)
    add_editor(settings, "ed@example.com")
    for name, platform in ACCOUNTS:
        shares.add_account(settings, name, platform)
    day = now.astimezone(PARIS).date() + timedelta(days=1)
    articles = add_articles(settings, [f"Harbour story number {n}: the ferry runs again after "
                                       "the storm" for n in range(14)], seen=now)
    for n, article in enumerate(articles):
        for k, (account, _) in enumerate(ACCOUNTS):
            add_post(settings, article, account, local_instant(day, time(7 + n, 5 * k), PARIS))
    page.set_viewport_size({"width": 1366, "height": 768})

    with AppServer(create_app(settings)) as server:
        _log_in(page, server.base)
        section = page.locator(f'section.calendar-day[aria-label="{day.isoformat()}"]')
        assert section.locator("tr.calendar-item.article").count() == 14
        assert section.locator("tr.calendar-item.article").first.locator("a.chip").count() == 4

        page.goto(server.base + f"/admin/calendar?view=week&start={day.isoformat()}")
        column = page.locator(f'section.week-day[aria-label="{day.isoformat()}"]')
        assert column.locator(".week-item.article").count() == 14
        size = page.evaluate("() => [document.documentElement.scrollWidth, "
                             "document.documentElement.scrollHeight, innerWidth, innerHeight]")
        assert size[0] <= size[2] and size[1] <= size[3], size

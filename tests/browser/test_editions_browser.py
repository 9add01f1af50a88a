"""An editor in Chromium: log in, open the next digest from the calendar and see the email
as subscribers will (sandboxed frame, text part), move it by an hour, cancel it; schedule a
one-off campaign."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from bot.services import planning
from bot.store.db import session_scope
from bot.store.mailing import MailingList
from bot.web.app import create_app
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer

PARIS = ZoneInfo("Europe/Paris")
TITLE = "Harbour reopens after the storm"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _local(moment: datetime, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    return moment.astimezone(PARIS).strftime(fmt)


def _site(settings) -> tuple[int, datetime]:
    settings.timezone = "Europe/Paris"
    list_id = make_list(settings, created=_now() - timedelta(days=3))
    add_readers(settings, 2)
    add_articles(settings, [TITLE], seen=_now() - timedelta(hours=1))
    add_editor(settings, "ed@example.com")
    with session_scope(settings.effective_database_url) as s:
        coming = planning.runs(s.get(MailingList, list_id), _now(), _now() + timedelta(days=2))[0]
    return list_id, coming


def _log_in(page, base: str) -> None:
    page.goto(base + "/admin/calendar")
    page.get_by_label("Email address").fill("ed@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + "/admin/calendar")


def test_preview_move_by_an_hour_and_cancel_the_next_digest(sqlite_settings, page):
    list_id, coming = _site(sqlite_settings)
    # The cancel button asks first (pressbot.js). Listening from the start: the listener
    # reaches the browser asynchronously, and a dialog nobody listens to is dismissed.
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with AppServer(create_app(sqlite_settings)) as server:
        _log_in(page, server.base)

        run_row = page.locator(f'[data-key="run-{list_id}-{planning.slot_key(coming)}"]')
        expect(run_row.locator("time")).to_have_text("07:00")
        run_row.get_by_role("link", name="Digest · The Morning Gazette").click()

        expect(page.get_by_role("heading", name="Digest · The Morning Gazette")).to_be_visible()
        email = page.frame_locator("iframe.email-preview")
        expect(email.get_by_role("link", name=TITLE).first).to_be_visible()
        expect(page.locator("pre.text-part")).to_contain_text(TITLE)

        page.get_by_label("Send at (Europe/Paris)").fill(_local(coming + timedelta(hours=1)))
        page.get_by_role("button", name="Reschedule").click()
        expect(page).to_have_url(re.compile(r"/admin/editions/\d+$"))
        expect(page.get_by_role("status").first).to_contain_text("Moved: it goes out")
        edition_id = page.url.rsplit("/", 1)[1]

        page.get_by_role("link", name="Calendar").first.click()
        moved_row = page.locator(f'[data-key="edition-{edition_id}"]')
        expect(moved_row.locator("time")).to_have_text("08:00")
        expect(moved_row).to_contain_text("moved from")
        expect(page.locator(f'[data-key="run-{list_id}-{planning.slot_key(coming)}"]')).to_have_count(0)

        moved_row.get_by_role("link").click()
        expect(page).to_have_url(f"{server.base}/admin/editions/{edition_id}")
        page.get_by_role("button", name="Cancel this edition").click()
        expect(page.locator("#edition-status")).to_have_text("cancelled")
        assert asked == ["Cancel this edition? It will not go out."]
        page.get_by_role("link", name="Calendar").first.click()
        expect(page.locator(f'[data-key="edition-{edition_id}"] .status')).to_have_text("cancelled")


def test_schedule_a_one_off_campaign(sqlite_settings, page):
    _site(sqlite_settings)
    at = (_now() + timedelta(days=1, hours=2)).replace(second=0, microsecond=0)
    if _local(at, "%H:%M") == "07:00":
        at += timedelta(minutes=5)
    with AppServer(create_app(sqlite_settings)) as server:
        _log_in(page, server.base)
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="New campaign").click()

        # The list's own field (the A/B subject fields' labels mention "the list" too).
        page.get_by_role("combobox", name=re.compile(r"^List\b")).select_option("morning")
        page.get_by_label("Introduction (optional, goes above the articles)").fill("Our harbour special.")
        page.get_by_role("checkbox", name=re.compile(TITLE)).check()
        page.get_by_label("Send at", exact=True).check()
        page.get_by_label("Date and time (Europe/Paris)").fill(_local(at))
        page.get_by_role("button", name="Schedule campaign").click()

        expect(page).to_have_url(re.compile(r"/admin/editions/\d+$"))
        expect(page.get_by_role("heading", name="Campaign · The Morning Gazette")).to_be_visible()
        expect(page.locator("#edition-status")).to_have_text("scheduled")
        expect(page.locator("#edition-when")).to_have_text(_local(at, "%Y-%m-%d %H:%M"))
        email = page.frame_locator("iframe.email-preview")
        expect(email.get_by_text("Our harbour special.")).to_be_visible()
        expect(email.get_by_role("link", name=TITLE).first).to_be_visible()

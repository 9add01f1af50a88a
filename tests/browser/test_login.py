"""Logging in to the dashboard in Chromium: the login page, a wrong password, the right one."""

from __future__ import annotations

from playwright.sync_api import expect

from bot.web.app import create_app
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer


def test_editor_logs_in_and_out(sqlite_settings, page):
    add_editor(sqlite_settings, "ed@example.com")
    with AppServer(create_app(sqlite_settings)) as server:
        page.goto(server.base + "/admin/calendar")
        expect(page).to_have_url(server.base + "/admin/login?next=/admin/calendar")

        page.get_by_label("Email address").fill("ed@example.com")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong email address or password.")

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(server.base + "/admin/calendar")
        expect(page.get_by_text("Ed (editor)")).to_be_visible()

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(server.base + "/admin/login")
        page.goto(server.base + "/admin/calendar")
        expect(page).to_have_url(server.base + "/admin/login?next=/admin/calendar")

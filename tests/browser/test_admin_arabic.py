"""Issue 14 in Chromium: an editor chooses Arabic and Tokyo time on "My account"; the
dashboard then lays out right to left (the site name at the right edge, the navigation to
its left) in Arabic. The screenshot is kept next to the test's temporary files."""

from __future__ import annotations

from playwright.sync_api import expect

from bot.web.app import create_app
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer


def test_an_editor_switches_the_dashboard_to_arabic(sqlite_settings, page, tmp_path):
    add_editor(sqlite_settings, "ed@example.com")
    with AppServer(create_app(sqlite_settings)) as server:
        page.goto(server.base + "/admin/login")
        page.get_by_label("Email address").fill("ed@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        page.get_by_role("link", name="My account").click()
        page.get_by_label("Language of the dashboard").select_option("ar")
        page.get_by_label("Time zone").fill("Asia/Tokyo")
        page.get_by_role("button", name="Save").click()

        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("status")).to_have_text("حُفظت إعداداتك.")
        expect(page.get_by_label("المنطقة الزمنية")).to_have_value("Asia/Tokyo")
        page.get_by_role("link", name="التقويم").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("التقويم")
        expect(page.get_by_text("Asia/Tokyo")).to_be_visible()

        brand = page.locator(".topbar .brand").bounding_box()
        nav = page.locator(".topbar nav").bounding_box()
        assert brand["x"] > nav["x"], "right to left: the site name is at the right, the menu after it"
        page.screenshot(path=str(tmp_path / "admin-calendar-ar.png"), full_page=True)

"""Importing subscribers in Chromium: choose a CSV, see its bad rows with their lines before
anything is imported, then commit and find the good rows on the list."""

from __future__ import annotations

from playwright.sync_api import expect

from bot.services import subscriber_data, subscribers
from bot.web.app import create_app
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer

CSV = """email,name,language,topics
ada@example.org,Ada Lovelace,en,City
not-an-address,Nobody,,
grace@example.org,Grace,xx-nonsense,
"""


def test_csv_import_preview_shows_bad_rows_before_committing(sqlite_settings, page, tmp_path):
    subscribers.add_list(sqlite_settings, "morning", title="The Morning Brief",
                         from_email="news@news.example.org", from_name="The Gazette")
    add_editor(sqlite_settings, "ed@example.com")
    upload = tmp_path / "readers.csv"
    upload.write_text(CSV, encoding="utf-8")
    with AppServer(create_app(sqlite_settings)) as server:
        page.goto(server.base + "/admin/subscribers")
        page.get_by_label("Email address").fill("ed@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(server.base + "/admin/subscribers")

        page.get_by_label("CSV file").set_input_files(str(upload))
        page.get_by_role("button", name="Preview import").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Import preview: readers.csv into morning")
        bad = page.get_by_role("table", name="Rows left out")
        expect(bad.get_by_role("row")).to_have_count(3)       # header + two bad rows
        expect(bad.get_by_role("row").nth(1)).to_contain_text("3")
        expect(bad.get_by_role("row").nth(1)).to_contain_text("not a valid email address")
        expect(bad.get_by_role("row").nth(2)).to_contain_text("grace@example.org")
        expect(bad.get_by_role("row").nth(2)).to_contain_text("language")
        expect(page.get_by_role("table", name="Rows to import")).to_contain_text("ada@example.org")
        assert subscriber_data.export_csv(sqlite_settings, "morning").splitlines() == ["email,name,language,topics"]

        page.get_by_role("button", name="Commit import of 1 row").click()
        expect(page).to_have_url(server.base + "/admin/subscribers?list=morning")
        expect(page.get_by_role("status")).to_contain_text("1 imported into morning")
        expect(page.get_by_role("link", name="ada@example.org")).to_be_visible()
        assert subscriber_data.export_csv(sqlite_settings, "morning").splitlines()[1:] == [
            "ada@example.org,Ada Lovelace,en,City"]

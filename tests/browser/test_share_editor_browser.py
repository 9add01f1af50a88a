"""Editing a share post in Chromium: the live counter follows the typing (the server's
count, X's weighting), turns red past the limit; the fixed text is saved, the post moved,
and a reload shows both."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from bot.services import shares
from bot.store.db import session_scope
from bot.store.models import SharePost
from bot.web.app import create_app
from tests.integration.test_web_articles import LONG_URL, add_articles
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer


def test_editor_edits_a_post_watching_the_counter_then_saves_and_reschedules(sqlite_settings, page):
    settings = sqlite_settings.model_copy(update={"timezone": "Europe/Paris"})
    add_editor(settings, "ed@example.com")
    shares.add_account(settings, "gazette-x", "x")
    [article] = add_articles(settings)
    [post] = shares.schedule_share(settings, article, "gazette-x",
                                   at=datetime.now(timezone.utc) + timedelta(days=1))
    next_year = datetime.now(timezone.utc).year + 1

    with AppServer(create_app(settings)) as server:
        page.goto(f"{server.base}/admin/articles/{article}")
        page.get_by_label("Email address").fill("ed@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/admin/articles/{article}")

        card = page.locator("section", has=page.get_by_role("heading", name="X · gazette-x"))
        text = card.get_by_label("Text for gazette-x")
        count = card.locator("output.counter")
        expect(count).to_have_text(f"{shares.compose_share(settings, article, 'x', 'gazette-x').length} / 280")

        text.fill(f"Ferry back {LONG_URL}")
        expect(count).to_have_text(f"{len('Ferry back ') + 23} / 280")  # the URL counts 23
        expect(count).not_to_have_class("counter over")

        text.press_sequentially(" 漢" * 124)  # CJK weighs 2: 34 + 124 * 3 = 406
        expect(count).to_have_text("406 / 280")
        expect(count).to_have_class("counter over")

        fixed = f"Ferry back after the storm {LONG_URL} #harbour"
        text.fill(fixed)
        expect(count).to_have_text(f"{len('Ferry back after the storm ') + 23 + len(' #harbour')} / 280")
        expect(count).to_have_class("counter")
        card.get_by_role("button", name="Save text").click()
        expect(page.get_by_role("status").first).to_contain_text("Saved the text for gazette-x (59 / 280)")

        card = page.locator("section", has=page.get_by_role("heading", name="X · gazette-x"))
        card.get_by_label("Reschedule to (Europe/Paris)").fill(f"{next_year}-03-02T08:15")
        card.get_by_role("button", name="Reschedule").click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"scheduled for {next_year}-03-02 08:15 (Europe/Paris)")

        page.reload()
        card = page.locator("section", has=page.get_by_role("heading", name="X · gazette-x"))
        expect(card.get_by_label("Text for gazette-x")).to_have_value(fixed)
        expect(card.get_by_label("Reschedule to (Europe/Paris)")).to_have_value(f"{next_year}-03-02T08:15")
        expect(card.get_by_text(f"Scheduled for {next_year}-03-02 08:15 (Europe/Paris)")).to_be_visible()

    with session_scope(settings.effective_database_url) as s:
        row = s.get(SharePost, post["id"])
        assert row.text == fixed
        assert row.scheduled_at == datetime(next_year, 3, 2, 7, 15, tzinfo=timezone.utc)

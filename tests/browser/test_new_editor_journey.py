"""Issue #6's "Done when", as one journey in Chromium: a new editor logs in, sees tomorrow's
digest as subscribers will see it, moves it by an hour, edits and schedules a post for each
account, and sees why yesterday's failed delivery failed (then retries it).

The site is set up the way an operator would leave it: an editor added as `pressbot users
add` does, the repository's example articles ingested, a daily list in Paris time with
confirmed readers, a Mastodon account (the bot scheduled its posts) and a Bluesky account
added since (no post yet), and yesterday's digest really sent through an SMTP server that
refused one reader. The browser runs in UTC, so every time on the page is the site's
conversion, not the browser's. After the first address, the editor only follows links."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from bot.services import editors, planning, share_edits, shares, subscribers
from bot.services.ingest import ingest_targets
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus, MailingList
from bot.store.models import Article, PostState, SharePost, SocialAccount
from bot.web.app import create_app
from tests.integration.test_planning import add_articles, make_list
from tests.support.refusals import send_with_refusal
from tests.support.webserver import AppServer

ROOT = Path(__file__).resolve().parents[2]
PARIS = ZoneInfo("Europe/Paris")
EDITOR, PASSWORD = "new.editor@gazette.example.org", "a long enough passphrase"
GONE = "gone@example.net"
REFUSAL = f"550 5.1.1 <{GONE}>: mailbox unavailable"
FERRY = "Harbour ferry resumes service after storm repairs"   # examples/articles/…html
TEXTS = {"gazette-mastodon": "The Northside ferry is back on its full timetable. #harbour",
         "gazette-bsky": "Ferry back on the full timetable after three weeks of pier repairs."}


def _local(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(PARIS).strftime(fmt)


def _paris(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), PARIS).astimezone(timezone.utc)


def _runs_on(settings, list_id: int, day: date) -> datetime:
    """The list's schedule run on that day (Paris), as a UTC instant."""
    start = _paris(day, 0, 0)
    with session_scope(settings.effective_database_url) as s:
        [run] = planning.runs(s.get(MailingList, list_id), start, start + timedelta(days=1))
    return run


def _yesterdays_digest_with_a_refusal(settings, run: datetime) -> int:
    """Yesterday's 07:00 digest, sent for real: the server refuses GONE at RCPT."""
    add_articles(settings, ["Night buses return to the old town"], seen=run - timedelta(hours=3))
    edition_id, report = send_with_refusal(settings, "morning", GONE, REFUSAL, run)
    assert (report.sent, report.failed) == (2, 1)
    return edition_id


def _site(settings) -> dict:
    now = datetime.now(timezone.utc)
    today = now.astimezone(PARIS).date()
    editors.add_user(settings, EDITOR, PASSWORD, role="editor")
    list_id = make_list(settings, created=now - timedelta(days=3))          # daily 07:00 Paris
    for reader in ("reader0@example.net", "reader1@example.net", GONE):
        subscribers.add_confirmed(settings, reader, "morning")
    yesterday = _runs_on(settings, list_id, today - timedelta(days=1))
    edition_id = _yesterdays_digest_with_a_refusal(settings, yesterday)

    # The Mastodon account was there when the articles came in: the bot scheduled its posts.
    shares.add_account(settings, "gazette-mastodon", "mastodon", tz="Europe/Paris")
    report = ingest_targets(settings, [str(ROOT / "examples" / "articles")])
    assert all(source.status != "bad-input" for source in report.sources), report
    with session_scope(settings.effective_database_url) as s:   # 2024 files: date them as news
        s.query(Article).update({Article.published_at: now - timedelta(hours=1)})
    assert shares.schedule_new_articles(settings) >= 1
    shares.add_account(settings, "gazette-bsky", "bluesky", tz="Europe/Paris")
    with session_scope(settings.effective_database_url) as s:
        article_id = s.scalar(select(Article.id).where(Article.title == FERRY))
        accounts = dict(s.execute(select(SocialAccount.name, SocialAccount.id)).all())
    return {"list": list_id, "tomorrow": _runs_on(settings, list_id, today + timedelta(days=1)),
            "tomorrow_day": today + timedelta(days=1), "yesterday_edition": edition_id,
            "article": article_id, "accounts": accounts}


def _log_in(page, base: str) -> None:
    page.goto(base + "/admin")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.get_by_label("Email address").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=name).click()


def _see_and_move_tomorrows_digest(page, site: dict) -> int:
    run = site["tomorrow"]
    _nav(page, "Calendar")
    day = page.get_by_role("region", name=site["tomorrow_day"].isoformat())
    row = day.locator(f'[data-key="run-{site["list"]}-{planning.slot_key(run)}"]')
    expect(row.locator("time")).to_have_text("07:00")
    row.get_by_role("link", name="Digest · The Morning Gazette").click()

    expect(page.get_by_role("heading", name="Digest · The Morning Gazette")).to_be_visible()
    expect(page).to_have_title("Digest · The Morning Gazette · pressbot")
    expect(page.locator("#edition-when")).to_have_text(_local(run))
    # The subject and the email itself, rendered as it goes out, in its sandboxed frame.
    expect(page.locator(".email-subject")).to_contain_text("The Morning Gazette")
    email = page.frame_locator("iframe.email-preview")
    expect(email.get_by_role("link", name=FERRY).first).to_be_visible()
    expect(email.get_by_text("Night buses return to the old town")).to_have_count(0)  # went yesterday
    expect(page.locator("pre.text-part")).to_contain_text(FERRY)

    page.get_by_label("Send at (Europe/Paris)").fill(_local(run + timedelta(hours=1), "%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Moved: it goes out {_local(run + timedelta(hours=1))} (Europe/Paris)")
    expect(page).to_have_url(re.compile(r"/admin/editions/\d+$"))
    edition_id = int(page.url.rsplit("/", 1)[1])

    _nav(page, "Calendar")
    moved = day.locator(f'[data-key="edition-{edition_id}"]')
    expect(moved.locator("time")).to_have_text("08:00")
    expect(moved.locator(".status")).to_have_text("scheduled")
    expect(moved).to_contain_text(f"moved from {_local(run)}")
    expect(page.locator(f'[data-key="run-{site["list"]}-{planning.slot_key(run)}"]')).to_have_count(0)
    return edition_id


def _edit_and_schedule_posts(page, site: dict) -> dict[str, datetime]:
    _nav(page, "Articles")
    page.get_by_role("link", name=FERRY).click()
    expect(page.get_by_role("heading", level=1, name=FERRY)).to_be_visible()
    chosen = {"gazette-mastodon": _paris(site["tomorrow_day"], 12, 30),
              "gazette-bsky": _paris(site["tomorrow_day"], 18, 45)}
    limits = {"gazette-mastodon": 500, "gazette-bsky": 300}

    for account, text in TEXTS.items():
        card = page.get_by_role("region", name=re.compile(account))
        area = card.get_by_label(f"Text for {account}")
        counter = card.locator("output.counter")
        before = counter.inner_text()
        expect(area).not_to_have_value("")                     # the composer's text to start from
        area.fill(text)
        expect(counter).to_have_text(f"{len(text)} / {limits[account]}")  # the server's count, live
        assert before != f"{len(text)} / {limits[account]}"
        at = _local(chosen[account], "%Y-%m-%dT%H:%M")
        if account == "gazette-mastodon":                      # a post the bot had scheduled
            card.get_by_role("button", name="Save text").click()
            expect(page.get_by_role("status").first).to_contain_text(
                f"Saved the text for {account} ({len(text)} / 500)")
            card = page.get_by_role("region", name=re.compile(account))
            card.get_by_label("Reschedule to (Europe/Paris)").fill(at)
            card.get_by_role("button", name="Reschedule").click()
            expect(page.get_by_role("status").first).to_contain_text(
                f"The {account} post is now scheduled for {_local(chosen[account])} (Europe/Paris)")
        else:                                                  # an account with no post yet
            card.get_by_label(re.compile(r"^Time \(Europe/Paris")).fill(at)
            card.get_by_role("button", name="Schedule", exact=True).click()
            expect(page.get_by_role("status").first).to_contain_text(
                f"Scheduled on {account} for {_local(chosen[account])} (Europe/Paris)")
        card = page.get_by_role("region", name=re.compile(account))
        expect(card.get_by_label(f"Text for {account}")).to_have_value(text)
        expect(card.get_by_text(f"Scheduled for {_local(chosen[account])} (Europe/Paris)")).to_be_visible()
    return chosen


def _see_why_yesterday_failed_and_retry(page, site: dict) -> None:
    _nav(page, "Failures")
    expect(page.get_by_role("heading", name="Failures", level=1)).to_be_visible()
    failed = page.locator("tr", has_text=GONE)
    expect(failed).to_have_count(1)
    expect(failed.locator("code")).to_have_text(REFUSAL)
    expect(failed).to_contain_text("mailbox unavailable")
    expect(failed.get_by_role("link", name=str(site["yesterday_edition"]))).to_be_visible()
    yesterday = site["tomorrow"] - timedelta(days=2)
    expect(failed).to_contain_text(_local(yesterday, "%Y-%m-%d"))

    failed.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status").first).to_contain_text("goes out again within a minute")
    expect(page.get_by_text("No failed deliveries.")).to_be_visible()


def test_a_new_editor_can_do_what_issue_6_promises(sqlite_settings, page):
    settings = sqlite_settings.model_copy(update={"timezone": "Europe/Paris"})
    site = _site(settings)

    with AppServer(create_app(settings)) as server:
        _log_in(page, server.base)
        moved_id = _see_and_move_tomorrows_digest(page, site)
        chosen = _edit_and_schedule_posts(page, site)
        _see_why_yesterday_failed_and_retry(page, site)

    with session_scope(settings.effective_database_url) as s:
        moved = s.get(Edition, moved_id)
        assert moved.status == EditionStatus.SCHEDULED
        assert moved.scheduled_for == site["tomorrow"] + timedelta(hours=1)
        assert moved.replaces_slot == site["tomorrow"]
        assert moved.created_by == EDITOR
        posts = {name: s.scalar(select(SharePost).where(SharePost.article_id == site["article"],
                                                        SharePost.account_id == account_id))
                 for name, account_id in site["accounts"].items()}
        for name, text in TEXTS.items():
            assert posts[name].state == PostState.SCHEDULED
            assert posts[name].text == text
            assert posts[name].scheduled_at == chosen[name]
        [retried] = s.scalars(select(Delivery).where(Delivery.edition_id == site["yesterday_edition"],
                                                     Delivery.state != DeliveryState.SENT)).all()
        assert retried.state == DeliveryState.DEFERRED
    assert share_edits.share_length(settings, "gazette-bsky", TEXTS["gazette-bsky"]) == (
        len(TEXTS["gazette-bsky"]), 300)

"""The calendar page as editors plan with it (issue 14): one row per article with a chip per
account, filters, today first, the week view. The real app (TestClient) on SQLite and
PostgreSQL; posts are written at fixed local times of yesterday, today and tomorrow."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedules import local_instant
from bot.services import shares
from bot.store.db import session_scope
from bot.store.models import SharePost, SocialAccount
from tests.integration.test_planning import add_articles, add_readers, make_list
from tests.support.web import client_for

PARIS = ZoneInfo("Europe/Paris")
ACCOUNTS = [("gazette-x", "x"), ("gazette-masto", "mastodon"), ("gazette-bsky", "bluesky"),
            ("gazette-tg", "telegram")]


def today() -> date:
    return datetime.now(PARIS).date()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_instant(day, time(hour, minute), PARIS)


def add_post(settings, article: int, account: str, when: datetime, state: str = "scheduled",
             error: str | None = None) -> int:
    with session_scope(settings.effective_database_url) as s:
        account_id = s.query(SocialAccount.id).filter_by(name=account).scalar()
        row = SharePost(article_id=article, account_id=account_id, scheduled_at=when, state=state,
                        last_error=error)
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def site(settings):
    settings.timezone = "Europe/Paris"
    make_list(settings, created=datetime.now(timezone.utc) - timedelta(days=3))
    add_readers(settings, 1)
    for name, platform in ACCOUNTS:
        shares.add_account(settings, name, platform)
    return settings, client_for(settings, login_as="ed@example.com")


def rows(html: str, kind: str) -> list[str]:
    return re.findall(rf'<tr class="calendar-item {kind}" data-key="([^"]+)"', html)


def section_days(html: str) -> list[str]:
    return re.findall(r'<section class="card calendar-day[^"]*" aria-label="([^"]+)"', html)


def test_fourteen_articles_on_four_accounts_are_fourteen_rows_with_four_chips(site):
    settings, client = site
    tomorrow = today() + timedelta(days=1)
    articles = add_articles(settings, [f"Story {n}" for n in range(14)],
                            seen=datetime.now(timezone.utc) - timedelta(hours=1))
    for n, article in enumerate(articles):
        for k, (account, _) in enumerate(ACCOUNTS):
            add_post(settings, article, account, at(tomorrow, 8 + n // 2, 10 * k))

    page = client.get("/admin/calendar")

    assert page.status_code == 200
    assert rows(page.text, "post") == []
    assert rows(page.text, "article") == [f"article-{a}" for a in articles]
    row = re.search(rf'data-key="article-{articles[0]}">(.*?)</tr>', page.text, re.S)[1]
    assert re.findall(r'class="chip status-scheduled"[^>]*>(gazette-[a-z]+)', row) == [a for a, _ in ACCOUNTS]
    assert "Story 0" in row and f"/admin/articles/{articles[0]}" in row


def test_today_comes_first_and_the_days_before_follow_under_earlier(site):
    settings, client = site
    [a, b, c] = add_articles(settings, ["Yesterday's", "Today's", "Tomorrow's"],
                             seen=datetime.now(timezone.utc) - timedelta(days=2))
    add_post(settings, a, "gazette-x", at(today() - timedelta(days=1), 12), "sent")
    add_post(settings, b, "gazette-x", at(today(), 12), "sent")
    add_post(settings, c, "gazette-x", at(today() + timedelta(days=1), 12))

    page = client.get("/admin/calendar").text

    days = section_days(page)
    assert days.index(today().isoformat()) == 0
    assert days.index((today() + timedelta(days=1)).isoformat()) < days.index((today() - timedelta(days=1)).isoformat())
    assert page.index('class="calendar-earlier"') < page.index(f'data-key="article-{a}"')
    assert page.index(f'data-key="article-{c}"') < page.index('class="calendar-earlier"')


def test_filters_narrow_by_account_list_and_status_and_survive_paging(site):
    settings, client = site
    [a, b] = add_articles(settings, ["Harbour", "Ferry"], seen=datetime.now(timezone.utc))
    tomorrow = today() + timedelta(days=1)
    add_post(settings, a, "gazette-x", at(tomorrow, 9))
    add_post(settings, a, "gazette-bsky", at(tomorrow, 9, 30), "failed", "Bluesky said no")
    add_post(settings, b, "gazette-bsky", at(tomorrow, 10))

    everything = client.get("/admin/calendar").text
    assert rows(everything, "edition") and len(rows(everything, "article")) == 2

    bsky = client.get("/admin/calendar", params={"account": "gazette-bsky"}).text
    assert rows(bsky, "edition") == [] and rows(bsky, "article") == [f"article-{a}", f"article-{b}"]
    assert "gazette-x<span" not in bsky and "gazette-bsky<span" in bsky and '<option selected>gazette-bsky</option>' in bsky
    assert "account=gazette-bsky" in re.search(r'<a href="([^"]+)">Later', bsky)[1]

    failed = client.get("/admin/calendar", params={"status": "failed"}).text
    assert rows(failed, "article") == [f"article-{a}"] and "Bluesky said no" in failed
    assert rows(failed, "edition") == []

    digests = client.get("/admin/calendar", params={"list": "morning"}).text
    assert rows(digests, "article") == [] and rows(digests, "edition")


def test_a_bad_filter_or_view_is_400_naming_it(site):
    _, client = site
    page = client.get("/admin/calendar", params={"status": "posted", "view": "month"})
    assert page.status_code == 400
    assert "status: &#39;posted&#39; is not one of" in page.text and "view: &#39;month&#39;" in page.text


def test_the_week_view_is_seven_days_from_monday_with_article_rows(site):
    settings, client = site
    monday = today() - timedelta(days=today().weekday())
    articles = add_articles(settings, ["Harbour", "Ferry"], seen=datetime.now(timezone.utc))
    for n, article in enumerate(articles):
        for account, _ in ACCOUNTS:
            add_post(settings, article, account, at(monday + timedelta(days=2), 9 + n))
    next_week = (monday + timedelta(days=7)).isoformat()

    page = client.get("/admin/calendar", params={"view": "week"}).text
    later = client.get("/admin/calendar", params={"view": "week", "start": next_week}).text

    days = re.findall(r'<section class="week-day[^"]*" role="listitem" aria-label="([^"]+)"', page)
    assert days == [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    assert re.findall(r'class="week-item article" data-key="([^"]+)"', page) == [f"article-{a}" for a in articles]
    assert page.count('class="chip status-scheduled"') == 8
    assert 'class="week-item edition' in page   # the list's daily runs
    assert f"start={next_week}" in re.search(r'<a href="([^"]+)">Later', page)[1]
    assert "week-item article" not in later

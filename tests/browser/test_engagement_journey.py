"""Issue 14's "Done when", in Chromium: a digest goes to two subscribers through a real SMTP
server with the web app (tracking layer included) served by uvicorn; a reader opens the
received message and clicks a story (counted), link scanners fetch the same link (HEAD, a
scanner's agent: not counted); the article's posts on the local fake X, Mastodon and
Bluesky servers get counts that the metrics fetch (the worker's task the dispatcher
enqueues) brings back; the editor logs in and reads it all on the edition page and the
article's reach page."""

from __future__ import annotations

import email
import email.policy
import os
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from bot.mail.transport import SmtpTransport
from bot.services import digests, engagement, post_metrics, shares
from bot.store.db import session_scope
from bot.store.engagement import EngagementCount
from bot.web.app import create_app
from tests.conftest import REDIS_URL
from tests.integration.test_digest_delivery import add_subscribers, make_list
from tests.integration.test_shares_platforms import add_accounts, ingest_one_new_article, platforms  # noqa: F401
from tests.support.celeryworker import wait_for
from tests.support.smtpserver import SmtpServer
from tests.support.web import PASSWORD, add_editor
from tests.support.webserver import AppServer

TITLE = "Harbour ferry resumes service after storm repairs"
# Headless Chromium says "HeadlessChrome", which the tracking layer rightly takes for a bot.
DESKTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL protect)"
H = timedelta(hours=1)
SHOTS = "/tmp/pressbot-shots"


@pytest.fixture
def tracked(sqlite_settings):
    """Counts through Redis (folded as the dispatcher folds them), under a queue name of its
    own so other runs sharing db 15 keep their counts apart. A scanner window of 0: the
    reader clicks right after the send (the window has its own test)."""
    settings = sqlite_settings.model_copy(update={
        "redis_url": REDIS_URL, "scanner_window_seconds": 0,
        "queue": f"pressbot-journey-{uuid.uuid4().hex[:12]}"})
    yield settings
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(*engagement.redis_keys(settings))
    client.close()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def html_received(smtp, address: str) -> str:
    [message] = smtp.handler.by_recipient(address)
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    return parsed.get_body(("html",)).get_content()


def counted(settings, edition_id: int) -> dict[str, int]:
    """The edition's folded link hits by kind (the pixel's opens left out)."""
    with session_scope(settings.effective_database_url) as s:
        rows = s.execute(select(EngagementCount.kind, func.sum(EngagementCount.count))
                         .where(EngagementCount.edition_id == edition_id, EngagementCount.url != "")
                         .group_by(EngagementCount.kind))
        return {kind: int(n) for kind, n in rows}


def post_everywhere(settings, platforms) -> tuple[int, datetime, dict[str, dict]]:
    """The article, posted on the four accounts; (article id, sent time, posts by platform)."""
    add_accounts(settings, platforms)
    article_id = ingest_one_new_article(settings)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    assert shares.schedule_new_articles(settings, now=now) == 4
    assert len(shares.publish_due(settings, now=now).sent) == 4
    return article_id, now, {r["platform"]: r for r in shares.list_shares(settings)}


def fetch_counts_back(settings, platforms, posts, at: datetime) -> None:
    """The platforms' counts an hour on, fetched as the worker does for each due post."""
    platforms["x"].set_metrics(posts["x"]["remote_id"], like_count=7, retweet_count=3,
                               reply_count=1, impression_count=480)
    platforms["mastodon"].set_counts(posts["mastodon"]["remote_id"], favourites_count=11,
                                     reblogs_count=4, replies_count=2)
    platforms["bluesky"].counts[posts["bluesky"]["remote_id"]].update(
        likeCount=5, repostCount=2, replyCount=6)
    due = [post_id for post_id, _ in post_metrics.due_posts(settings, at, 100)]
    assert sorted(due) == sorted(p["id"] for p in posts.values())
    outcomes = {post_metrics.fetch_one(settings, post_id, now=at) for post_id in due}
    assert outcomes == {"recorded", "not available"}          # Telegram gives no counts


def test_reader_click_scanner_and_post_counts_on_the_edition_and_reach_pages(
        tracked, smtp, platforms, browser_context, page):
    settings = tracked
    article_id, posted_at, posts = post_everywhere(settings, platforms)
    make_list(settings)
    add_subscribers(settings, 2)
    add_editor(settings, "ed@example.com")
    app = create_app(settings)
    server = AppServer(app)
    # Links in the email point at this server; the app reads the same settings object.
    settings.base_url = server.base
    link_re = re.compile(rf'href="({re.escape(server.base)}/r/[^"]+)"')

    with server:
        # Not cut to the second: the article, first seen a moment ago, may share this
        # second, and an edition takes what was first seen strictly before its time.
        now = datetime.now(timezone.utc)
        edition_id = digests.build_edition(settings, "morning", scheduled_for=now, now=now)
        assert edition_id is not None
        digests.create_deliveries(settings, edition_id)
        with SmtpTransport(smtp.url, timeout=10) as transport:
            assert digests.send_edition(settings, edition_id, transport=transport, now=now).sent == 2
        message = html_received(smtp, "reader0@example.net")
        assert TITLE in message and link_re.search(message)

        # The news site itself is not on this machine: the browser gets a stand-in page (and
        # an empty answer for the message's images from it).
        landed = []

        def news_site(route):
            if route.request.is_navigation_request():
                landed.append(route.request.url)
            route.fulfill(status=200, content_type="text/html",
                          body=f"<title>{TITLE}</title><h1>{TITLE}</h1>")

        browser_context.route("https://news.example.org/**", news_site)
        browser_context.set_extra_http_headers({"User-Agent": DESKTOP})

        # The reader: the received message in the browser, a click on the story's title.
        page.set_content(message)
        page.get_by_role("link", name=TITLE).first.click()
        expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
        [destination] = landed
        assert destination.startswith("https://news.example.org/local/2024/03/harbour-ferry-resumes")
        assert "utm_medium=email" in destination

        # Scanners fetch the same link: they get the same redirect and are not readers.
        link = link_re.search(message).group(1).replace("&amp;", "&")
        with httpx.Client(follow_redirects=False, timeout=10) as http:
            head = http.head(link, headers={"User-Agent": DESKTOP})
            scanned = http.get(link, headers={"User-Agent": SCANNER})
        assert head.status_code == scanned.status_code == 302
        assert scanned.headers["location"] == destination

        # Off the request path: the web process drains its buffer (its own timer may be
        # draining it at this very moment, in a thread), the dispatcher folds Redis; until
        # the three hits are in the tables.
        def folded() -> bool:
            engagement.drain(settings, app.state.engagement)
            engagement.fold(settings)
            return counted(settings, edition_id) == {"click": 1, "scanner": 2}
        wait_for(folded, timeout=30, interval=0.2, what="the reader's click and the two scans")
        fetch_counts_back(settings, platforms, posts, posted_at + H)

        browser_context.set_extra_http_headers({})
        page.goto(f"{server.base}/admin/editions/{edition_id}")
        page.get_by_label("Email address").fill("ed@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/admin/editions/{edition_id}")

        figures = page.locator("#engagement")
        expect(figures.locator('[data-figure="sent"]')).to_have_text("2")
        expect(figures.locator('[data-figure="delivered"]')).to_have_text("2")
        expect(figures.locator('[data-figure="clicks"]')).to_have_text("1")
        expect(figures.locator('[data-figure="click_rate"]')).to_have_text("50.0 %")
        expect(figures.locator('[data-figure="scanner_clicks"]')).to_contain_text("2 link scanner")
        expect(figures.locator("svg")).to_be_visible()
        expect(figures.locator(".top-articles li")).to_have_text(f"{TITLE} 1 click")

        figures.get_by_role("link", name=TITLE).click()
        expect(page).to_have_url(f"{server.base}/admin/articles/{article_id}/reach")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Reach of “{TITLE}”")
        expect(page.locator('[data-figure="clicks"]')).to_have_text("1")
        edition_row = page.locator("table.reach-editions tbody tr")
        expect(edition_row).to_have_count(1)
        expect(edition_row.locator("td")).to_have_text([f"#{edition_id}", "morning",
                                                         now.date().isoformat(), "1", "2"])
        social = page.locator("table.reach-posts tbody tr")
        expect(social).to_have_count(4)
        # Account (platform), state, likes, reposts, replies, views; sorted by account name.
        expected = {"gazette-bsky": ["5", "2", "6", "—"], "gazette-masto": ["11", "4", "2", "—"],
                    "gazette-tg": ["—", "—", "—", "—"], "gazette-x": ["7", "3", "1", "480"]}
        for row, (account, counts) in zip(social.all(), expected.items()):
            expect(row.locator("td").first).to_contain_text(account)
            expect(row.locator("td").nth(1)).to_have_text("sent")
            expect(row.locator("td").nth(2)).to_have_text(counts[0])
            expect(row.locator("td").nth(3)).to_have_text(counts[1])
            expect(row.locator("td").nth(4)).to_have_text(counts[2])
            expect(row.locator("td").nth(5)).to_have_text(counts[3])
        expect(page.locator("section[aria-labelledby=email-heading] svg")).to_be_visible()
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/article-reach.png", full_page=True)

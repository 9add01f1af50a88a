"""Engagement (issue 14) end to end: a digest goes through a real SMTP server (aiosmtpd), the
test follows the links of the received message as a reader (counted) and as link scanners
(not counted), loads the open pixel as a mail client and as Apple's proxy, and reads the
figures on the edition page, the article's reach page and the API, on SQLite and
PostgreSQL, with the counts buffered in Redis (folded by the dispatcher's step) or written
straight to the database."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.domain.articles import ArticleDraft
from bot.mail.transport import SmtpTransport
from bot.services import digests, editors, engagement, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.engagement import SubscriberClick
from bot.store.mailing import MailingList
from bot.store.models import Source, SourceKind
from tests.conftest import REDIS_URL
from bot.services.engagement_figures import edition_figures
from tests.integration.test_cli_listings import cli
from tests.integration.test_digest_delivery import DOMAIN, add_articles, add_subscribers, make_list
from tests.support.smtpserver import SmtpServer
from tests.support.web import client_for

NOW = datetime.now(timezone.utc).replace(microsecond=0)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL protect)"
APPLE_PROXY = "Mozilla/5.0"
LINK_RE = re.compile(r'href="(http://testserver/r/[^"]+)"')
PIXEL_RE = re.compile(r'src="(http://testserver/o/[^"]+)"')


@pytest.fixture(params=["redis", "database"])
def tracked_settings(request, settings):
    """Links point at the TestClient's host; counts go through Redis or straight to the
    database. A send-time window of 0: only agent and method mark a scanner here (the
    window has its own test)."""
    # A queue name of its own: the Redis keys are the install's (other runs may share db 15).
    update_ = {"base_url": "http://testserver", "scanner_window_seconds": 0,
               "queue": f"pressbot-test-{uuid.uuid4().hex[:12]}"}
    if request.param == "redis":
        update_["redis_url"] = REDIS_URL
    tracked = settings.model_copy(update=update_)
    yield tracked
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.delete(*engagement.redis_keys(tracked))
        client.close()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def send_digest(settings, smtp, *, history: bool = False, readers: int = 2) -> tuple[int, dict]:
    make_list(settings)
    if history:
        turned = cli(settings, "lists", "click-history", "morning", "--on")
        assert turned.returncode == 0, turned.stderr
    ids = add_subscribers(settings, readers)
    add_articles(settings, 3, seen=NOW - timedelta(hours=2))
    edition_id = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW)
    digests.create_deliveries(settings, edition_id)
    with SmtpTransport(smtp.url, timeout=10) as transport:
        report = digests.send_edition(settings, edition_id, transport=transport, now=NOW)
    assert report.sent == readers
    return edition_id, ids


def received(smtp, address: str) -> tuple[str, str]:
    [message] = smtp.handler.by_recipient(address)
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    return (parsed.get_body(("html",)).get_content(), parsed.get_body(("plain",)).get_content())


def path_of(url: str) -> str:
    parts = urlsplit(url.replace("&amp;", "&"))
    return f"{parts.path}?{parts.query}"


def settle(settings, client) -> None:
    """What happens off the request path: the web process drains its buffer, the
    dispatcher tick folds Redis into the tables."""
    engagement.drain(settings, client.app.state.engagement)
    engagement.fold(settings)


def test_reader_clicks_count_and_scanners_do_not(tracked_settings, smtp):
    settings = tracked_settings
    edition_id, _ = send_digest(settings, smtp)
    html, text = received(smtp, "reader0@example.net")
    links = LINK_RE.findall(html)
    # Every story's title, image and button link is tracked; none points at the site directly.
    assert len({path_of(u).split("?")[0] for u in links}) == 3
    assert f"https://{DOMAIN}/" not in html.split("<body")[1].split("unsubscribe")[0]
    assert "http://testserver/r/" in text
    assert "s=" not in links[0]            # no click history: the list did not opt in

    client = client_for(settings, login_as="editor@example.com")
    lead = path_of(links[0])
    answer = client.get(lead, headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert answer.status_code == 302
    destination = answer.headers["location"]
    assert destination.startswith(f"https://{DOMAIN}/") and "utm_medium=email" in destination
    assert answer.headers["referrer-policy"] == "no-referrer"
    # Scanners get the same answer, and are not counted as readers.
    assert client.head(lead, headers={"User-Agent": BROWSER}, follow_redirects=False).status_code == 302
    assert client.get(lead, headers={"User-Agent": SCANNER}, follow_redirects=False).headers["location"] == destination
    assert client.get(lead, headers={"User-Agent": ""}, follow_redirects=False).status_code == 302
    # Opens: one by a mail client, one by Apple's privacy proxy.
    pixel = path_of(PIXEL_RE.search(html).group(1))
    for agent in (BROWSER, APPLE_PROXY):
        image = client.get(pixel, headers={"User-Agent": agent})
        assert image.status_code == 200 and image.headers["content-type"] == "image/gif"

    settle(settings, client)
    token = editors.create_token(settings, "editor@example.com", "test")
    figures = client.get(f"/api/editions/{edition_id}/engagement",
                         headers={"Authorization": f"Bearer {token}"}).json()
    assert figures["sent"] == figures["delivered"] == 2
    assert figures["clicks"] == 1 and figures["scanner_clicks"] == 3
    assert figures["click_rate"] == 0.5
    assert figures["opens"] == 1 and figures["proxy_opens"] == 1 and figures["opens_reliable"] is False
    [top] = figures["top_articles"]
    assert top["clicks"] == 1 and top["title"].startswith("Story ")

    page = client.get(f"/admin/editions/{edition_id}").text
    assert 'data-figure="clicks">1<' in page and 'data-figure="click_rate">50.0 %<' in page
    assert 'data-figure="scanner_clicks">3 ' in page
    assert "<svg" in page and "<script" not in page.split('id="engagement"')[1].split("</section>")[0]
    reach = client.get(f"/admin/articles/{top['article_id']}/reach")
    assert reach.status_code == 200
    assert 'data-figure="clicks">1<' in reach.text
    assert f'data-figure="edition-{edition_id}-clicks">1<' in reach.text
    api_reach = client.get(f"/api/articles/{top['article_id']}/reach",
                           headers={"Authorization": f"Bearer {token}"}).json()
    assert api_reach["clicks"] == 1 and api_reach["editions"][0]["edition_id"] == edition_id

    # Counted once: folding again (the next tick) adds nothing.
    settle(settings, client)
    again = client.get(f"/api/editions/{edition_id}/engagement",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert again["clicks"] == 1 and again["scanner_clicks"] == 3


def test_click_seconds_after_delivery_is_a_scanner(settings, smtp):
    settings = settings.model_copy(update={"base_url": "http://testserver",
                                           "scanner_window_seconds": 3600})
    edition_id, _ = send_digest(settings, smtp, readers=1)
    html, _ = received(smtp, "reader0@example.net")
    client = client_for(settings)
    assert client.get(path_of(LINK_RE.findall(html)[0]), headers={"User-Agent": BROWSER},
                      follow_redirects=False).status_code == 302
    engagement.drain(settings, client.app.state.engagement)
    figures = edition_figures(settings, edition_id)
    assert figures["clicks"] == 0 and figures["scanner_clicks"] == 1


def test_click_history_only_on_lists_that_opt_in(tracked_settings, smtp):
    settings = tracked_settings
    edition_id, ids = send_digest(settings, smtp, history=True)
    html, _ = received(smtp, "reader1@example.net")
    link = path_of(LINK_RE.findall(html)[0])
    assert "&s=" in link
    client = client_for(settings)
    client.get(link, headers={"User-Agent": BROWSER}, follow_redirects=False)
    client.get(link, headers={"User-Agent": SCANNER}, follow_redirects=False)   # not history
    # A reader token that does not check joins no one's history (the click still counts).
    client.get(link.replace("&s=", "&s=x"), headers={"User-Agent": BROWSER}, follow_redirects=False)
    settle(settings, client)
    with session_scope(settings.effective_database_url) as s:
        rows = s.scalars(select(SubscriberClick)).all()
        assert [(r.edition_id, r.subscriber_id) for r in rows] == [(edition_id, ids["reader1@example.net"])]
        assert rows[0].url.startswith(f"https://{DOMAIN}/") and rows[0].article_id
    # Turned off, the history kept so far goes too (the aggregates stay).
    off = cli(settings, "lists", "click-history", "morning", "--off")
    assert off.returncode == 0 and "off (erased)" in off.stdout
    with session_scope(settings.effective_database_url) as s:
        assert s.scalars(select(SubscriberClick)).all() == []
        assert s.scalar(select(MailingList.track_subscriber_clicks)) is False
    assert edition_figures(settings, edition_id)["clicks"] == 2
    assert cli(settings, "lists", "click-history", "nosuch", "--on").returncode == 2


def test_forged_or_altered_links_redirect_nowhere(settings, smtp):
    settings = settings.model_copy(update={"base_url": "http://testserver"})
    send_digest(settings, smtp, readers=1)
    html, _ = received(smtp, "reader0@example.net")
    link = path_of(LINK_RE.findall(html)[0])
    token = link.split("/r/")[1].split("?")[0]
    client = client_for(settings)
    for bad in (f"/r/{token[:-2]}xx", f"/r/{token}x", "/r/WyJodHRwczovL2V2aWwuZXhhbXBsZSJd.abc",
                "/r/"):
        answer = client.get(bad, follow_redirects=False)
        assert answer.status_code == 404 and "location" not in answer.headers, bad
    # A broken pixel still answers with an image (and counts nothing).
    assert client.get("/o/nonsense.gif").headers["content-type"] == "image/gif"
    counts, _ = client.app.state.engagement.drain()
    assert not counts


def test_tracked_links_keep_the_digest_under_gmails_clip(settings, smtp):
    """Tracked links are longer than the links they replace: a digest trimmed to Gmail's
    clip budget before tracking would pass it after; it is trimmed again."""
    from bot.newsletter.render import CLIP_BUDGET, CLIP_LIMIT
    from bot.services.sending import Variants

    settings = settings.model_copy(update={"base_url": "http://testserver"})
    make_list(settings, max_articles=80)
    add_subscribers(settings, 1)
    seen = NOW - timedelta(hours=2)
    with session_scope(settings.effective_database_url) as s:
        source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        # Long summaries and deep URLs: the digest is trimmed by size, not by max_articles.
        store_drafts(s, source, [ArticleDraft(
            title=f"Story {i} about the harbour", guid=f"g{i}", published=seen, language="en",
            url=f"https://{DOMAIN}/news/2026/12/02/the-harbour-and-the-ferry-story-number-{i}",
            summary="The ferry runs again after a long winter of repairs. " * 30,
            categories=("City",)) for i in range(80)], now=seen)
    edition_id = digests.build_edition(settings, "morning", scheduled_for=NOW, now=NOW)
    variants = Variants(settings, edition_id)
    assert variants.load()
    variant = variants.render_variant(variants.mlist, ())
    assert variant.omitted and len(variant.html.encode("utf-8")) <= CLIP_BUDGET
    digests.create_deliveries(settings, edition_id)
    with SmtpTransport(smtp.url, timeout=10) as transport:
        assert digests.send_edition(settings, edition_id, transport=transport, now=NOW).sent == 1
    html, _ = received(smtp, "reader0@example.net")
    assert "more stor" in html.lower()          # trimmed: the clip budget was the limit
    assert len(LINK_RE.findall(html)) > 10
    assert len(html.encode("utf-8")) <= CLIP_LIMIT

"""The failures page: a delivery a real SMTP server refused (with its reply), a share post
a platform refused, an account paused on its credentials, an edition that could not be
rendered; and the retry buttons making the work due again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.articles import ArticleDraft
from bot.errors import PermanentError
from bot.services import digests, retries, shares, subscribers
from bot.social.base import AuthError
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.mailing import Delivery, DeliveryState, Edition, EditionStatus
from bot.store.models import PostState, SharePost, Source, SourceKind
from tests.support.refusals import send_with_refusal
from tests.support.web import client_for, csrf

NOW = datetime.now(timezone.utc).replace(microsecond=0)
GONE = "reader1@example.net"
REPLY = "550 5.1.1 <reader1@example.net>: Recipient address rejected: User unknown"


class Refusing:
    """A publisher the platform's answer is known for (the adapters' own translation of
    real answers is tested in tests/integration/test_publisher_*.py)."""

    platform = "x"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def publish(self, post):
        raise self.error

    def check(self) -> str:
        raise self.error


def add_article(settings) -> int:
    with session_scope(settings.effective_database_url) as s:
        source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        draft = ArticleDraft(title="The harbour ferry runs again", url="https://news.example.org/ferry",
                             guid="g1", summary="After the storm.", categories=("City",),
                             published=NOW - timedelta(hours=2), language="en")
        return store_drafts(s, source, [draft], now=NOW - timedelta(hours=2))[0].article.id


def failed_delivery(settings) -> tuple[int, int]:
    """An edition sent through a real SMTP server that refuses one of three readers."""
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_name="Gazette",
                         from_email="news@gazette.example.org", schedule="daily 07:00")
    for i in range(3):
        subscribers.add_confirmed(settings, f"reader{i}@example.net", "morning")
    edition_id, report = send_with_refusal(settings, "morning", GONE, REPLY, NOW)
    assert (report.sent, report.failed) == (2, 1)
    [failed] = digests.list_deliveries(settings, failed_only=True)
    return edition_id, failed["id"]


def failed_posts(settings, article: int) -> tuple[int, int]:
    """One post the platform refused, one on an account whose credentials were refused."""
    shares.add_account(settings, "gazette-x", "x")
    shares.add_account(settings, "gazette-bsky", "bluesky")
    by_account = {p["account"]: p["id"] for p in shares.schedule_share(settings, article, at=NOW)}
    refused = PermanentError("x: HTTP 403 Forbidden: You are not allowed to create a Tweet "
                             "with duplicate content.")
    shares.publish_one(settings, by_account["gazette-x"], now=NOW,
                       publisher_for=lambda account: Refusing(refused))
    shares.publish_one(settings, by_account["gazette-bsky"], now=NOW,
                       publisher_for=lambda account: Refusing(AuthError(
                           "bluesky: HTTP 401 AuthenticationRequired: Invalid identifier or password")))
    return by_account["gazette-x"], by_account["gazette-bsky"]


def broken_edition(settings) -> int:
    with session_scope(settings.effective_database_url) as s:
        list_id = s.query(Edition.list_id).first()[0]
        edition = Edition(list_id=list_id, status=EditionStatus.FAILED, scheduled_for=NOW - timedelta(days=1),
                          window_end=NOW - timedelta(days=1), content={},
                          error="digest/body.html, line 12: 'articles' is undefined")
        s.add(edition)
        s.flush()
        return edition.id


@pytest.fixture
def failures(settings):
    article = add_article(settings)
    edition_id, delivery_id = failed_delivery(settings)
    x_post, bsky_post = failed_posts(settings, article)
    return {"edition": edition_id, "delivery": delivery_id, "x_post": x_post,
            "bsky_post": bsky_post, "broken": broken_edition(settings)}


def test_the_page_says_what_failed_and_why(settings, failures):
    client = client_for(settings, login_as="ed@example.com")

    page = client.get("/admin/failures")

    assert page.status_code == 200
    html = page.text
    assert REPLY.replace("<", "&lt;").replace(">", "&gt;") in html and GONE in html
    assert f'/admin/failures/deliveries/{failures["delivery"]}/retry' in html
    assert f'/admin/failures/editions/{failures["edition"]}/resend' in html
    assert "You are not allowed to create a Tweet with duplicate content." in html
    assert "The harbour ferry runs again" in html
    assert f'/admin/failures/posts/{failures["x_post"]}/retry' in html
    # The paused account, with the reason, and the edition that could not be rendered.
    assert "Accounts that need attention" in html
    assert "bluesky: HTTP 401 AuthenticationRequired: Invalid identifier or password" in html
    assert "digest/body.html, line 12: &#39;articles&#39; is undefined" in html
    assert "1 failed" in html


def test_list_failures_counts_beyond_the_limit(settings, failures):
    listed = retries.list_failures(settings, limit=1)
    assert (listed["posts_total"], len(listed["posts"])) == (2, 1)
    assert listed["deliveries_total"] == 1 and listed["deliveries"][0]["smtp_reply"] == REPLY
    assert [a["name"] for a in listed["accounts"]] == ["gazette-bsky"]
    assert listed["editions"][0]["id"] == failures["broken"]


def test_retry_buttons_make_the_work_due_again(settings, failures):
    client = client_for(settings, login_as="ed@example.com")
    token = csrf(client, "/admin/failures")

    before = datetime.now(timezone.utc)
    page = client.post(f"/admin/failures/deliveries/{failures['delivery']}/retry",
                       data={"csrf_token": token}).text
    with session_scope(settings.effective_database_url) as s:
        delivery = s.get(Delivery, failures["delivery"])
        assert delivery.state == DeliveryState.DEFERRED
        assert before - timedelta(seconds=1) <= delivery.next_attempt_at <= datetime.now(timezone.utc)
        assert s.get(Edition, failures["edition"]).status == EditionStatus.SENDING
    assert "goes out again within a minute" in page
    assert "No failed deliveries." in page

    page = client.post(f"/admin/failures/posts/{failures['x_post']}/retry",
                       data={"csrf_token": token}).text
    assert "goes out again within a minute" in page
    page = client.post(f"/admin/failures/posts/{failures['bsky_post']}/retry",
                       data={"csrf_token": token}).text
    assert "waits until the account" in page
    with session_scope(settings.effective_database_url) as s:
        assert {s.get(SharePost, failures[k]).state for k in ("x_post", "bsky_post")} == {PostState.SCHEDULED}

    again = client.post(f"/admin/failures/posts/{failures['x_post']}/retry",
                        data={"csrf_token": token}).text
    assert "Not retried" in again and "only a failed post can be retried" in again


def test_resend_all_failed_of_an_edition(settings, failures):
    client = client_for(settings, login_as="ed@example.com")
    token = csrf(client, "/admin/failures")

    page = client.post(f"/admin/failures/editions/{failures['edition']}/resend",
                       data={"csrf_token": token}).text

    assert "1 failed delivery of edition" in page
    with session_scope(settings.effective_database_url) as s:
        assert s.get(Delivery, failures["delivery"]).state == DeliveryState.DEFERRED
    assert client.post(f"/admin/failures/editions/{failures['edition']}/resend").status_code == 403

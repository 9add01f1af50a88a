"""Each publisher's metrics(remote_id) through its real client library (tweepy,
Mastodon.py, atproto) against the local stand-ins' read endpoints, with their real limits
and error bodies: counts come back as the platform states them, a 429 is a
TransientError with the platform's reset, a post that is gone is permanent."""

from __future__ import annotations

import time

import pytest

from bot.social.base import Metrics, PermanentError, PostRequest, TransientError
from bot.social.bluesky import BlueskyPublisher
from bot.social.mastodon import MastodonPublisher
from bot.social.outbox import OutboxPublisher
from bot.social.telegram import TelegramPublisher
from bot.social.x import XPublisher
from tests.support.fake_bluesky import FakeBluesky
from tests.support.fake_mastodon import FakeMastodon
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.fake_x import FakeX
from tests.support.outbound import LOCAL_POLICY

URL = "https://news.example.org/bridge"
POST = PostRequest(key="pressbot-post-1", text=f"Council approves the bridge {URL}", url=URL)


@pytest.fixture
def x():
    server = FakeX().start()
    yield server
    server.stop()


@pytest.fixture
def masto():
    server = FakeMastodon(token="m-token").start()
    yield server
    server.stop()


@pytest.fixture
def pds():
    server = FakeBluesky()
    server.start()
    yield server
    server.stop()


def x_publisher(fake: FakeX) -> XPublisher:
    ck, cs, at, ats = fake.keys
    return XPublisher(ck, cs, at, ats, api_host=fake.base, outbound=LOCAL_POLICY)


# -- X -------------------------------------------------------------------------------------


def test_x_counts_come_from_public_metrics(x):
    pub = x_publisher(x)
    tweet_id = pub.publish(POST).remote_id
    x.set_metrics(tweet_id, like_count=12, retweet_count=3, reply_count=2, quote_count=1,
                  impression_count=840)

    assert pub.metrics(tweet_id) == Metrics(likes=12, reposts=3, replies=2, views=840)
    [seen] = x.to(f"/2/tweets/{tweet_id}", "GET")
    assert "tweet.fields=public_metrics" in seen.path   # the counts were asked for
    assert seen.oauth["oauth_token"] == x.keys[2]         # user context: signed, not a bearer


def test_x_spent_read_window_is_transient_with_its_reset(x):
    pub = x_publisher(x)
    tweet_id = pub.publish(POST).remote_id
    x.read_limit = 1
    pub.metrics(tweet_id)

    with pytest.raises(TransientError) as caught:
        pub.metrics(tweet_id)
    # The window is 15 minutes: the wait is X's reset, not a guess.
    assert 800 < caught.value.retry_after <= 900
    assert "HTTP 429" in str(caught.value)


def test_x_deleted_post_is_permanent(x):
    with pytest.raises(PermanentError, match="is gone: Could not find tweet with id"):
        x_publisher(x).metrics("1850000000000000999")


# -- Mastodon ------------------------------------------------------------------------------


def test_mastodon_counts_come_from_the_status(masto):
    pub = MastodonPublisher(masto.base, "m-token")
    status_id = pub.publish(POST).remote_id
    masto.set_counts(status_id, favourites_count=7, reblogs_count=4, replies_count=1)

    assert pub.metrics(status_id) == Metrics(likes=7, reposts=4, replies=1, views=None)
    assert len(masto.requests_to(f"/api/v1/statuses/{status_id}", "GET")) == 1


def test_mastodon_rate_limit_is_transient_with_the_reset(masto):
    pub = MastodonPublisher(masto.base, "m-token")
    status_id = pub.publish(POST).remote_id
    masto.api_limit = 1
    pub.metrics(status_id)

    with pytest.raises(TransientError) as caught:
        pub.metrics(status_id)
    # rack-attack's 5-minute window (Mastodon.py corrects the reset by the Date header: ±1 s)
    assert 250 < caught.value.retry_after <= 301


def test_mastodon_deleted_status_is_permanent(masto):
    with pytest.raises(PermanentError, match="HTTP 404: Record not found"):
        MastodonPublisher(masto.base, "m-token").metrics("110000000000000999")


# -- Bluesky -------------------------------------------------------------------------------


def test_bluesky_counts_come_from_get_posts(pds, tmp_path):
    pub = BlueskyPublisher(pds.handle, pds.password, tmp_path / "s.session", base_url=pds.xrpc,
                           outbound=LOCAL_POLICY)
    uri = pub.publish(POST).remote_id
    pds.counts[uri].update(likeCount=25, repostCount=6, replyCount=3)

    assert pub.metrics(uri) == Metrics(likes=25, reposts=6, replies=3, views=None)
    [call] = pds.calls_to("app.bsky.feed.getPosts")
    assert call.headers["authorization"].startswith("Bearer ")


def test_bluesky_429_is_transient_with_ratelimit_reset(pds, tmp_path):
    pub = BlueskyPublisher(pds.handle, pds.password, tmp_path / "s.session", base_url=pds.xrpc,
                           outbound=LOCAL_POLICY)
    uri = pub.publish(POST).remote_id
    reset = int(time.time()) + 300
    pds.force("app.bsky.feed.getPosts", 429,
              {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
              {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
               "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"})

    with pytest.raises(TransientError) as caught:
        pub.metrics(uri)
    assert 290 < caught.value.retry_after <= 300


def test_bluesky_post_gone_is_permanent(pds, tmp_path):
    pub = BlueskyPublisher(pds.handle, pds.password, tmp_path / "s.session", base_url=pds.xrpc,
                           outbound=LOCAL_POLICY)
    with pytest.raises(PermanentError, match="is gone"):
        pub.metrics(f"at://{pds.did}/app.bsky.feed.post/3zzzzzzzzzzzz")


# -- Telegram and the outbox: no counts, and no call to find that out ----------------------------


def test_telegram_and_outbox_give_no_counts(tmp_path):
    tg = FakeTelegram()
    tg.start()
    try:
        pub = TelegramPublisher(TOKEN, "@newsroom", api_base=tg.base)
        remote_id = pub.publish(PostRequest(key="k", text="Ferry resumes", url=URL)).remote_id
        before = len(tg.calls)
        assert pub.metrics(remote_id) is None
        assert len(tg.calls) == before   # nothing to ask: the Bot API has no such method
    finally:
        tg.stop()
    outbox = OutboxPublisher(tmp_path, "x", "gazette")
    assert outbox.metrics(outbox.publish(POST).remote_id) is None

"""Contract tests: MastodonPublisher through the real Mastodon.py client against a local
server that speaks Mastodon's API with its limits and error bodies (tests/support/fake_mastodon)."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from bot.social.base import AuthError, PermanentError, PostRequest, Published, TransientError
from bot.social.mastodon import MastodonPublisher
from tests.support.fake_mastodon import FakeMastodon

STATUSES = "/api/v1/statuses"
URL = "https://news.example.com/2024/05/a-long-article-slug-that-is-well-over-23-characters?utm_source=mastodon"


@pytest.fixture
def fake():
    server = FakeMastodon(token="good-token").start()
    yield server
    server.stop()


def publisher(fake: FakeMastodon, token: str = "good-token") -> MastodonPublisher:
    return MastodonPublisher(api_base_url=fake.base, access_token=token, timeout=5.0)


def post(key: str = "pressbot-post-1", text: str = f"Council approves budget {URL}") -> PostRequest:
    return PostRequest(key=key, text=text, url=URL)


def test_constructor_does_no_io(fake):
    publisher(fake)
    assert fake.requests == []


def test_post_arrives_once_with_the_idempotency_key(fake):
    result = publisher(fake).publish(post())

    # One request in all: no version check or instance lookup per post.
    assert [(r.method, r.path) for r in fake.requests] == [("POST", STATUSES)]
    seen = fake.requests[0]
    assert seen.headers["idempotency-key"] == "pressbot-post-1"
    assert seen.headers["authorization"] == "Bearer good-token"
    assert seen.form["status"] == f"Council approves budget {URL}"
    assert seen.form["visibility"] == "public"
    [status] = fake.statuses
    assert result == Published(remote_id=status["id"], remote_url=status["url"])


def test_same_key_twice_creates_one_status(fake):
    pub = publisher(fake)
    first = pub.publish(post(key="pressbot-post-7"))
    again = pub.publish(post(key="pressbot-post-7"))   # a retry after a lost commit

    assert len(fake.requests_to(STATUSES)) == 2
    assert len(fake.statuses) == 1
    assert again == first
    pub.publish(post(key="pressbot-post-8"))
    assert len(fake.statuses) == 2


def test_limits_read_the_instance_once():
    server = FakeMastodon(token="good-token", max_characters=5000, characters_reserved_per_url=30)
    server.start()
    try:
        pub = publisher(server)
        assert pub.limits() == (5000, 30)
        assert pub.limits() == (5000, 30)
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/api/v2/instance")]
    finally:
        server.stop()


def test_limits_fall_back_to_v1_then_to_mastodon_defaults(fake):
    fake.max_characters = 1000
    fake.force("/api/v2/instance", 404, {"error": "Record not found"})   # Mastodon < 4.0
    assert publisher(fake).limits() == (1000, 23)
    assert [r.path for r in fake.requests] == ["/api/v2/instance", "/api/v1/instance"]

    fake.force("/api/v2/instance", 503, "<html>503 Service Temporarily Unavailable</html>")
    fake.force("/api/v1/instance", 503, "<html>503 Service Temporarily Unavailable</html>")
    assert publisher(fake).limits() == (500, 23)
    assert len(fake.requests) == 4


def test_rate_limit_is_transient_with_the_reset_the_server_named(fake):
    reset = fake.rate_limit(STATUSES, reset_in=120)

    with pytest.raises(TransientError) as caught:
        publisher(fake).publish(post())

    expected = (reset - datetime.now(timezone.utc)).total_seconds()
    # Mastodon.py corrects the reset by the server's Date header, which has whole seconds.
    assert expected - 2 <= caught.value.retry_after <= expected + 2
    assert "mastodon" in str(caught.value) and "429" in str(caught.value)
    assert len(fake.requests_to(STATUSES)) == 1   # thrown, not slept on and retried
    assert fake.statuses == []


def test_reset_already_past_still_waits_a_second(fake):
    fake.rate_limit(STATUSES, reset_in=-30)   # the window reset before the answer arrived
    with pytest.raises(TransientError) as caught:
        publisher(fake).publish(post())
    assert caught.value.retry_after == 1.0
    assert len(fake.requests_to(STATUSES)) == 1 and fake.statuses == []


def test_unavailable_is_transient_and_a_retry_with_the_key_posts_once(fake):
    fake.force(STATUSES, 503, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
    pub = publisher(fake)

    with pytest.raises(TransientError) as caught:
        pub.publish(post())
    assert "mastodon" in str(caught.value) and "503" in str(caught.value)
    assert fake.statuses == []

    pub.publish(post())
    assert len(fake.requests_to(STATUSES)) == 2
    assert len(fake.statuses) == 1
    assert all(r.headers["idempotency-key"] == "pressbot-post-1" for r in fake.requests_to(STATUSES))


def test_unreachable_server_is_transient():
    with socket.socket() as sock:   # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pub = MastodonPublisher(api_base_url=f"http://127.0.0.1:{port}", access_token="t", timeout=2)
    with pytest.raises(TransientError, match="mastodon: network error"):
        pub.publish(post())


def test_bad_token_is_an_auth_error_for_publish_and_check(fake):
    pub = publisher(fake, token="revoked-token")

    with pytest.raises(AuthError, match="401.*The access token is invalid"):
        pub.publish(post())
    with pytest.raises(AuthError, match="401.*The access token is invalid"):
        pub.check()

    assert [r.path for r in fake.requests] == [STATUSES, "/api/v1/accounts/verify_credentials"]
    assert all(r.headers["authorization"] == "Bearer revoked-token" for r in fake.requests)
    assert fake.statuses == []


def test_forbidden_is_an_auth_error(fake):
    fake.force(STATUSES, 403, {"error": "This action is outside the authorized scopes"})
    with pytest.raises(AuthError, match="403.*outside the authorized scopes"):
        publisher(fake).publish(post())
    assert len(fake.requests_to(STATUSES)) == 1 and fake.statuses == []


def test_over_the_limit_is_permanent_with_mastodons_message(fake):
    text = "a" * 478 + " " + URL   # 478 + 1 + 23 for the URL = 502
    with pytest.raises(PermanentError) as caught:
        publisher(fake).publish(post(text=text))

    assert not isinstance(caught.value, (AuthError, TransientError))
    assert "422" in str(caught.value)
    assert "Validation failed: Text character limit of 500 exceeded" in str(caught.value)
    assert fake.requests_to(STATUSES)[0].form["status"] == text
    assert fake.statuses == []


def test_server_counts_urls_as_reserved_length_and_emoji_as_one(fake):
    pub = publisher(fake)
    pub.publish(post(key="k1", text="a" * 476 + " " + URL))   # exactly 500 by Mastodon's count
    pub.publish(post(key="k2", text="👩‍👩‍👧‍👦" * 500))         # 500 graphemes, 3500 code points
    assert len(fake.statuses) == 2


def test_check_returns_the_handle(fake):
    assert publisher(fake).check() == "@pressbot"
    [seen] = fake.requests
    assert (seen.method, seen.path) == ("GET", "/api/v1/accounts/verify_credentials")
    assert seen.headers["authorization"] == "Bearer good-token"

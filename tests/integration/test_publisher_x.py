"""XPublisher through the real tweepy client, against a local server that speaks X's API
(tests/support/fake_x.py). Every test checks what the server actually received."""

from __future__ import annotations

import socket
import time

import pytest

from bot.social.base import AuthError, DuplicateError, PermanentError, PostRequest, TransientError
from bot.social.x import XPublisher
from tests.support.fake_x import UNAVAILABLE, UPLOAD_PATH, FakeX
from tests.support.outbound import LOCAL_POLICY

TEXT = "Council approves the new bridge https://news.example.org/bridge?utm_source=x"


@pytest.fixture
def fake():
    server = FakeX().start()
    yield server
    server.stop()


def publisher(fake: FakeX, **wrong) -> XPublisher:
    ck, cs, at, ats = fake.keys
    keys = {"consumer_key": ck, "consumer_secret": cs, "access_token": at,
            "access_token_secret": ats, **wrong}
    return XPublisher(**keys, api_host=fake.base, outbound=LOCAL_POLICY)


def post(text: str = TEXT, image_url: str | None = None,
         key: str = "pressbot-post-1") -> PostRequest:
    return PostRequest(key=key, text=text, url="https://news.example.org/bridge",
                       image_url=image_url)


def test_post_arrives_exactly_once_with_its_text(fake):
    x = publisher(fake)
    assert fake.requests == []  # building the publisher talks to no one

    published = x.publish(post())

    [tweet] = fake.tweets
    assert published.remote_id == tweet["id"]
    assert published.remote_url == f"https://x.com/i/web/status/{tweet['id']}"
    [seen] = fake.to("/2/tweets")
    assert seen.body == {"text": TEXT}
    assert seen.oauth["oauth_signature_method"] == "HMAC-SHA1"
    assert fake.to(UPLOAD_PATH) == []


def test_image_is_uploaded_then_attached(fake):
    publisher(fake).publish(post(image_url=fake.base + "/img/photo.png"))

    paths = [r.path for r in fake.requests]
    assert paths == ["/img/photo.png", UPLOAD_PATH, "/2/tweets"]
    [upload] = fake.to(UPLOAD_PATH)
    assert upload.body["media"] == fake.image
    [media_id] = fake.media
    [tweet] = fake.to("/2/tweets")
    assert tweet.body == {"text": TEXT, "media": {"media_ids": [media_id]}}


def test_image_download_failure_posts_text_only(fake):
    publisher(fake).publish(post(image_url=fake.base + "/img/gone.png"))

    assert fake.to(UPLOAD_PATH) == []
    [tweet] = fake.to("/2/tweets")
    assert tweet.body == {"text": TEXT}
    assert [t["media_ids"] for t in fake.tweets] == [[]]


def test_image_upload_failure_posts_text_only(fake):
    fake.fail_next(500, {"errors": [{"code": 131, "message": "Internal error"}]}, path=UPLOAD_PATH)

    publisher(fake).publish(post(image_url=fake.base + "/img/photo.png"))

    assert len(fake.to(UPLOAD_PATH)) == 1
    [tweet] = fake.to("/2/tweets")
    assert tweet.body == {"text": TEXT}


def test_rate_limit_is_transient_with_the_wait_x_asked_for(fake):
    reset = int(time.time()) + 120
    fake.rate_limit_next(reset, path="/2/tweets")

    with pytest.raises(TransientError) as caught:
        publisher(fake).publish(post())

    assert 115 <= caught.value.retry_after <= 121
    assert "x: HTTP 429: Too Many Requests" in str(caught.value)
    # One attempt, no sleep-and-retry inside tweepy, and nothing posted.
    assert len(fake.to("/2/tweets")) == 1
    assert fake.tweets == []


def test_rate_limit_on_the_daily_cap_waits_for_the_daily_reset(fake):
    now = int(time.time())
    fake.rate_limit_next(now + 60, path="/2/tweets", extra={
        "x-user-limit-24hour-limit": "17", "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(now + 5000)})

    with pytest.raises(TransientError) as caught:
        publisher(fake).publish(post())

    assert 4990 <= caught.value.retry_after <= 5001
    assert len(fake.to("/2/tweets")) == 1 and fake.tweets == []


def test_server_unavailable_is_transient(fake):
    fake.fail_next(503, UNAVAILABLE, path="/2/tweets")

    with pytest.raises(TransientError) as caught:
        publisher(fake).publish(post())

    assert str(caught.value) == "x: HTTP 503: Service Unavailable"
    assert len(fake.to("/2/tweets")) == 1 and fake.tweets == []


def test_unreachable_host_is_transient():
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    x = XPublisher("ck", "cs", "at", "ats", api_host=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match="x: network error"):
        x.publish(post())


@pytest.mark.parametrize("wrong", [
    {"access_token": "9999-someone-else"},
    {"consumer_secret": "not-the-secret"},     # right ids, bad signature
    {"access_token_secret": "not-the-secret"},
])
def test_bad_credentials_are_auth_errors(fake, wrong):
    x = publisher(fake, **wrong)

    with pytest.raises(AuthError) as caught:
        x.publish(post())
    assert str(caught.value) == "x: HTTP 401: Unauthorized"
    with pytest.raises(AuthError):
        x.check()

    assert len(fake.to("/2/tweets")) == 1 and len(fake.to("/2/users/me")) == 1
    assert fake.tweets == []


def test_same_text_twice_is_a_duplicate(fake):
    x = publisher(fake)
    x.publish(post(key="pressbot-post-1"))

    with pytest.raises(DuplicateError) as caught:
        x.publish(post(key="pressbot-post-2"))

    assert str(caught.value) == ("x: HTTP 403: You are not allowed to create a Tweet with "
                                 "duplicate content.")
    assert len(fake.to("/2/tweets")) == 2
    assert len(fake.tweets) == 1


@pytest.mark.parametrize("text", [
    "a" * 281,
    "中" * 141,   # 141 characters, but CJK weighs 2: 282
])
def test_over_long_text_is_permanent(fake, text):
    with pytest.raises(PermanentError) as caught:
        publisher(fake).publish(post(text=text))

    assert type(caught.value) is PermanentError  # not an account problem, not a duplicate
    assert "x: HTTP 400: Your Tweet text is too long." in str(caught.value)
    [seen] = fake.to("/2/tweets")
    assert seen.body["text"] == text
    assert fake.tweets == []


def test_weighted_280_is_accepted(fake):
    publisher(fake).publish(post(text="中" * 140))
    assert [t["text"] for t in fake.tweets] == ["中" * 140]


FORBIDDEN = {"type": "about:blank", "title": "Forbidden", "status": 403}


@pytest.mark.parametrize("status, body, expected", [
    (403, {**FORBIDDEN, "detail": "You are not permitted to perform this action."}, AuthError),
    (403, {"errors": [{"code": 187, "message": "Status is a duplicate."}]}, DuplicateError),
    (403, {**FORBIDDEN, "detail": "Your Tweet text is too long."}, PermanentError),
    (400, {"title": "Invalid Request", "type": "https://api.twitter.com/2/problems/invalid-request",
           "detail": "One or more parameters to your request was invalid."}, PermanentError),
    (500, {"title": "Internal Server Error", "type": "about:blank", "status": 500,
           "detail": "Internal Server Error"}, TransientError),
])
def test_other_refusals_map_by_status_and_body(fake, status, body, expected):
    fake.fail_next(status, body, path="/2/tweets")

    with pytest.raises(expected) as caught:
        publisher(fake).publish(post())

    assert type(caught.value) is expected
    said = body.get("detail") or body["errors"][0]["message"]
    assert str(caught.value).startswith(f"x: HTTP {status}: {said}")
    assert len(fake.to("/2/tweets")) == 1 and fake.tweets == []


def test_check_returns_the_handle(fake):
    assert publisher(fake).check() == "@pressbot_news"

    [seen] = fake.to("/2/users/me", "GET")
    assert seen.oauth["oauth_token"] == fake.keys[2]
    assert fake.tweets == []


def test_clients_are_reused(fake):
    x = publisher(fake)
    x.check()
    x.publish(post(image_url=fake.base + "/img/photo.png"))
    client, api = x.client, x.api
    x.publish(post(text="Another story https://news.example.org/other"))

    assert x.client is client and x.api is api
    assert len(fake.tweets) == 2

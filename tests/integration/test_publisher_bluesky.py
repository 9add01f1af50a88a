"""BlueskyPublisher through the real atproto client against a stand-in PDS on loopback."""

from __future__ import annotations

import socket
import stat
import time

import pytest
from atproto import Session

from bot.domain.snippets.bluesky import card, facets
from bot.social.base import AuthError, PermanentError, PostRequest, TransientError
from bot.social.bluesky import BlueskyPublisher
from tests.support.fake_bluesky import LOGIN_LIMIT, FakeBluesky, cid_for
from tests.support.httpserver import Route
from tests.support.outbound import LOCAL_POLICY

CREATE = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"
RECORD = "com.atproto.repo.createRecord"
BLOB = "com.atproto.repo.uploadBlob"

URL = "https://news.example.org/tram?utm_source=bluesky"
# Multi-byte characters before the link and tag, so a character offset is not a byte offset.
TEXT = f"Zürich’s tram 🚋 line is approved {URL} #Verkehr"


@pytest.fixture
def pds():
    server = FakeBluesky()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def session_path(tmp_path):
    return tmp_path / "sessions" / "bluesky-newsroom.session"


def publisher(pds: FakeBluesky, session_path, password: str | None = None) -> BlueskyPublisher:
    return BlueskyPublisher(pds.handle, password or pds.password, session_path, base_url=pds.xrpc,
                            outbound=LOCAL_POLICY)


def post(text: str = TEXT, thumb: str | None = None) -> PostRequest:
    return PostRequest(key="pressbot-post-1", text=text, url=URL, facets=facets(text, URL),
                       card=card(URL, "Tram line approved", "The vote was 31 to 12.", thumb))


def save_session(pds: FakeBluesky, session_path, access_ttl: int) -> str:
    """Write the session file as an earlier run would have left it."""
    minted = pds.mint_session(access_ttl)
    session = Session(pds.handle, pds.did, minted["accessJwt"], minted["refreshJwt"], pds.base)
    text = session.export()
    session_path.parent.mkdir(parents=True, exist_ok=True)
    session_path.write_text(text)
    return text


def test_posts_reuse_one_session_saved_privately(pds, session_path):
    bluesky = publisher(pds, session_path)
    first = bluesky.publish(post())
    second = bluesky.publish(post())

    assert pds.count(CREATE) == 1
    assert len(pds.records) == 2 and first.remote_id != second.remote_id
    rkey = first.remote_id.rsplit("/", 1)[1]
    assert first.remote_id == f"at://{pds.did}/app.bsky.feed.post/{rkey}"
    assert first.remote_url == f"https://bsky.app/profile/{pds.handle}/post/{rkey}"
    assert stat.S_IMODE(session_path.stat().st_mode) == 0o600
    assert Session.decode(session_path.read_text()).did == pds.did
    assert [p.name for p in session_path.parent.iterdir()] == [session_path.name]  # no temp left


def test_a_new_publisher_resumes_the_saved_session(pds, session_path):
    publisher(pds, session_path).publish(post())
    publisher(pds, session_path).publish(post())
    assert publisher(pds, session_path).check() == f"@{pds.handle}"

    assert pds.count(CREATE) == 1
    assert len(pds.records) == 2


def test_an_expired_access_token_is_refreshed_not_replaced_by_a_login(pds, session_path):
    saved = save_session(pds, session_path, access_ttl=-60)

    publisher(pds, session_path).publish(post())

    assert pds.count(CREATE) == 0
    assert pds.count(REFRESH) == 1
    assert len(pds.records) == 1  # the PDS refuses an expired token: this took the new one
    assert session_path.read_text() not in ("", saved)  # the rotated session was saved


def test_a_session_another_process_refreshed_is_picked_up(pds, session_path):
    # Access JWTs inside atproto's 15-minute margin: every call refreshes, and every refresh
    # revokes the refresh JWT it used, as the PDS does once its grace period is over.
    pds.access_ttl = 600
    worker_a, worker_b = publisher(pds, session_path), publisher(pds, session_path)
    worker_a.publish(post())
    worker_b.publish(post())   # rotates the session worker_a holds in memory

    worker_a.publish(post())   # would be refused with A's revoked refresh JWT

    assert pds.count(CREATE) == 1
    assert len(pds.records) == 3


def test_facets_and_card_arrive_byte_for_byte_with_a_thumb(pds, session_path, http_server):
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    http_server.routes["/lead.png"] = Route(body=image, content_type="image/png")
    request = post(thumb=http_server.url("/lead.png"))

    publisher(pds, session_path).publish(request)

    record = pds.records[0]["record"]
    assert record["text"] == TEXT
    sent = record["facets"]
    # atproto adds "$type" to the facet and its index; everything we gave arrives as given
    assert [{"index": {k: f["index"][k] for k in ("byteStart", "byteEnd")},
             "features": f["features"]} for f in sent] == request.facets
    link = sent[0]["index"]
    assert TEXT.encode()[link["byteStart"]:link["byteEnd"]].decode() == URL
    assert "langs" not in record

    (upload,) = pds.calls_to(BLOB)
    assert upload.body == image and upload.headers["content-type"] == "image/png"
    external = record["embed"]["external"]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert {k: external[k] for k in ("uri", "title", "description")} == {
        "uri": URL, "title": "Tram line approved", "description": "The vote was 31 to 12."}
    assert external["thumb"] == {"$type": "blob", "ref": {"$link": cid_for(image, codec=0x55)},
                                 "mimeType": "image/png", "size": len(image)}


def test_a_thumb_over_1mb_is_left_off_the_card(pds, session_path, http_server):
    http_server.routes["/huge.jpg"] = Route(body=b"\xff" * 1_000_001, content_type="image/jpeg")

    publisher(pds, session_path).publish(post(thumb=http_server.url("/huge.jpg")))

    assert pds.count(BLOB) == 0
    external = pds.records[0]["record"]["embed"]["external"]
    assert "thumb" not in external and external["uri"] == URL


def test_429_is_transient_with_the_wait_until_ratelimit_reset(pds, session_path):
    reset = int(time.time()) + 120
    pds.force(RECORD, 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
              {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
               "ratelimit-reset": str(reset), "ratelimit-policy": "5000;w=3600"})

    with pytest.raises(TransientError) as caught:
        publisher(pds, session_path).publish(post())

    assert 100 < caught.value.retry_after <= 120
    assert "bluesky" in str(caught.value) and "429 RateLimitExceeded" in str(caught.value)


def test_the_login_limit_is_transient_with_its_reset(pds, tmp_path):
    for i in range(LOGIN_LIMIT):
        with pytest.raises(AuthError):
            publisher(pds, tmp_path / f"{i}.session", password="wrong").check()

    with pytest.raises(TransientError) as caught:
        publisher(pds, tmp_path / "last.session").check()

    assert 290 < caught.value.retry_after <= 300
    assert pds.count(CREATE) == LOGIN_LIMIT + 1


def test_502_is_transient(pds, session_path):
    pds.force(RECORD, 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")

    with pytest.raises(TransientError) as caught:
        publisher(pds, session_path).publish(post())

    assert caught.value.retry_after is None and "HTTP 502" in str(caught.value)
    assert pds.records == []


def test_a_closed_port_is_transient(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bluesky = BlueskyPublisher("newsroom.test", "pw", tmp_path / "s", f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match="bluesky: network error"):
        bluesky.check()


def test_a_bad_password_is_an_auth_error(pds, session_path):
    with pytest.raises(AuthError) as caught:
        publisher(pds, session_path, password="not-the-app-password").publish(post())

    assert str(caught.value) == ("bluesky: HTTP 401 AuthenticationRequired: "
                                 "Invalid identifier or password")
    assert not session_path.exists()


def test_a_revoked_session_is_an_auth_error_and_the_next_attempt_logs_in_once(pds, session_path):
    save_session(pds, session_path, access_ttl=-60)
    pds.revoke_sessions()
    bluesky = publisher(pds, session_path)

    with pytest.raises(AuthError, match="400 ExpiredToken"):
        bluesky.publish(post())
    assert not session_path.exists()

    bluesky.publish(post())
    assert pds.count(CREATE) == 1 and len(pds.records) == 1


def test_an_invalid_record_is_permanent(pds, session_path):
    too_long = "ä" * 301  # 301 graphemes, 602 bytes: only the grapheme limit is broken

    with pytest.raises(PermanentError) as caught:
        publisher(pds, session_path).publish(post(text=too_long))

    assert not isinstance(caught.value, AuthError)
    assert "HTTP 400 InvalidRequest" in str(caught.value) and "300 graphemes" in str(caught.value)
    assert session_path.exists()  # the session is fine: keep it

"""A captured webhook cannot be re-sent: the signature covers a timestamp that must be
within five minutes of the server's clock, and an article's older version cannot replace
a newer one even inside that window. Over real HTTP against the served app."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from bot.store.db import session_scope
from bot.store.models import Article
from bot.web.app import create_app
from bot.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.support.webserver import AppServer

V1 = {"title": "Tram line approved", "url": "https://news.example.org/tram",
      "body_text": "The vote was 31 to 12.", "published": "2026-11-27T18:30:00Z",
      "updated": "2026-11-27T18:30:00Z"}
V2 = {**V1, "title": "Tram line approved, then challenged", "body_text": "A court case follows.",
      "updated": "2026-11-28T09:00:00Z"}


@pytest.fixture
def app_server(settings):
    with AppServer(create_app(settings)) as server:
        yield server


def push(server, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(server.base + "/api/hooks/articles", content=body,
                      headers={"Content-Type": "application/json", **headers})


def stored_title(settings) -> str | None:
    with session_scope(settings.effective_database_url) as s:
        article = s.query(Article).one_or_none()
        return article.title if article else None


def test_a_captured_request_resent_later_is_refused(settings, app_server):
    body = json.dumps(V1).encode()
    captured = signed_headers(settings.webhook_secret, body, int(time.time()) - 6 * 60)
    response = push(app_server, body, captured)
    assert response.status_code == 401
    assert "300 s" in response.json()["error"]
    assert stored_title(settings) is None
    # From the future (a CMS clock far ahead, or a request prepared for later): refused too.
    ahead = signed_headers(settings.webhook_secret, body, int(time.time()) + 6 * 60)
    assert push(app_server, body, ahead).status_code == 401


def test_moving_the_timestamp_breaks_the_signature(settings, app_server):
    body = json.dumps(V1).encode()
    old = signed_headers(settings.webhook_secret, body, int(time.time()) - 3600)
    moved = {**old, TIMESTAMP_HEADER: str(int(time.time()))}
    assert push(app_server, body, moved).status_code == 401
    # The old scheme (HMAC of the body alone) no longer passes.
    body_only = "sha256=" + hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert push(app_server, body, {SIGNATURE_HEADER: body_only,
                                   TIMESTAMP_HEADER: str(int(time.time()))}).status_code == 401
    assert stored_title(settings) is None


def test_an_older_version_cannot_roll_the_article_back(settings, app_server):
    for version, expected in ((V1, 201), (V2, 200)):
        body = json.dumps(version).encode()
        assert push(app_server, body, signed_headers(settings.webhook_secret, body)).status_code == expected
    # V1 captured and re-signed within the window (or a late retry of the CMS): refused.
    old = json.dumps(V1).encode()
    response = push(app_server, old, signed_headers(settings.webhook_secret, old))
    assert response.status_code == 409
    assert "'updated'" in response.json()["error"]
    no_time = json.dumps({k: v for k, v in V1.items() if k != "updated"}).encode()
    assert push(app_server, no_time, signed_headers(settings.webhook_secret, no_time)).status_code == 409
    assert stored_title(settings) == V2["title"]
    # A newer version still goes through.
    v3 = json.dumps({**V2, "title": "Court date set", "updated": "2026-11-29T09:00:00Z"}).encode()
    assert push(app_server, v3, signed_headers(settings.webhook_secret, v3)).status_code == 200
    assert stored_title(settings) == "Court date set"

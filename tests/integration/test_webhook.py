"""The signed CMS webhook and /healthz, over real HTTP against the served app."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.store.db import session_scope
from bot.store.models import Article
from bot.web.app import create_app
from bot.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.support.webserver import AppServer

ARTICLE = {
    "title": "Council approves the new &amp; improved tram line",
    "url": "https://news.example.org/tram?utm_campaign=x&id=7",
    "summary": "The vote was 31 to 12.",
    "body_html": '<p onclick="steal()">The vote was 31 to 12.</p><script>evil()</script>'
                 '<a href="javascript:alert(1)">x</a>',
    "categories": ["City", "Transport"],
    "published": "2026-11-27T18:30:00+01:00",
}


@pytest.fixture
def app_server(settings):
    with AppServer(create_app(settings)) as server:
        yield server


def post(server, body: bytes, signature: dict | str | None):
    """`signature`: the headers signed_headers() made, or a bare signature value."""
    headers = {"Content-Type": "application/json"}
    if isinstance(signature, dict):
        headers.update(signature)
    elif signature is not None:
        headers.update({SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: str(int(time.time()))})
    return httpx.post(server.base + "/api/hooks/articles", content=body, headers=headers)


def count(settings) -> int:
    with session_scope(settings.effective_database_url) as s:
        return s.scalar(select(func.count()).select_from(Article))


def test_signed_article_is_stored_sanitised_and_updated_in_place(settings, app_server):
    body = json.dumps(ARTICLE).encode()
    response = post(app_server, body, signed_headers(settings.webhook_secret, body))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["outcome"] == "added"
    assert created["url"] == "https://news.example.org/tram?id=7"
    with session_scope(settings.effective_database_url) as s:
        article = s.get(Article, created["id"])
        assert article.title == "Council approves the new & improved tram line"
        assert "script" not in article.body_html and "onclick" not in article.body_html
        assert "javascript:" not in article.body_html
        assert article.published_at.isoformat() == "2026-11-27T17:30:00+00:00"

    changed = json.dumps({**ARTICLE, "summary": "The vote was 32 to 11."}).encode()
    again = post(app_server, changed, signed_headers(settings.webhook_secret, changed))
    assert again.status_code == 200
    assert again.json() == {**created, "outcome": "updated"}
    assert count(settings) == 1


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "garbage"])
def test_bad_or_missing_signature_is_401_and_stores_nothing(settings, app_server, signature):
    body = json.dumps(ARTICLE).encode()
    response = post(app_server, body, signature)
    assert response.status_code == 401
    assert count(settings) == 0


def test_signature_of_another_body_is_refused(settings, app_server):
    body = json.dumps(ARTICLE).encode()
    tampered = body.replace(b"31 to 12", b"12 to 31")
    assert post(app_server, tampered, signed_headers(settings.webhook_secret, body)).status_code == 401
    assert count(settings) == 0


def test_invalid_article_names_the_field(settings, app_server):
    body = json.dumps({**ARTICLE, "published": "yesterday"}).encode()
    response = post(app_server, body, signed_headers(settings.webhook_secret, body))
    assert response.status_code == 422
    assert "published" in response.json()["error"]
    assert count(settings) == 0


def test_healthz_reports_the_database(app_server):
    response = httpx.get(app_server.base + "/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_fails_when_the_database_is_unreachable(tmp_path):
    from bot.config import Settings

    broken = Settings(home=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with AppServer(create_app(broken)) as server:
        response = httpx.get(server.base + "/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")

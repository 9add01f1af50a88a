"""Hostile or broken input and a broken world get a clear refusal, never a traceback or a
500: NUL characters in an article, absurd share times, an unreachable database or broker
on the command line, public pages while the database is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.config import Settings
from bot.services import editors, shares
from bot.web.app import create_app
from bot.web.hooks import signed_headers
from tests.support.webserver import AppServer

PRESSBOT = Path(sys.executable).parent / "pressbot"
UNREACHABLE_DB = "postgresql://nobody:hunter2@127.0.0.1:1/none"


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(PRESSBOT_HOME=str(home), COLUMNS="200", **env)
    return subprocess.run([str(PRESSBOT), *args], capture_output=True, text=True, env=environment,
                          cwd=home.parent, timeout=120)


def article(n: int, **extra) -> dict:
    return {"title": f"Story {n}", "url": f"https://news.example.org/{n}", "body_text": "Text.",
            "published": "2026-11-27T18:30:00Z", **extra}


# -- NUL characters -------------------------------------------------------------------------------


def test_a_nul_in_one_json_article_rejects_that_article_and_the_folder_ingests(settings, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(article(1)))
    (folder / "b.json").write_text(json.dumps(article(2, body_text="bad\u0000byte")))
    (folder / "c.json").write_text(json.dumps(article(3, categories=["ok", "n\u0000l"])))
    (folder / "d.json").write_text(json.dumps(article(4)))
    result = run(tmp_path / "home", "ingest", "--json", str(folder), DATABASE_URL=settings.database_url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert sorted(a["url"] for a in report["added"]) == ["https://news.example.org/1",
                                                         "https://news.example.org/4"]
    reasons = {Path(r["where"]).name: r["reason"] for r in report["rejected"]}
    assert set(reasons) == {"b.json", "c.json"}
    assert "'body_text'" in reasons["b.json"] and "NUL" in reasons["b.json"]
    assert "'categories'" in reasons["c.json"]


def test_a_nul_in_a_pushed_article_is_422_naming_the_field(settings):
    with AppServer(create_app(settings)) as server:
        body = json.dumps(article(1, title="Tram\u0000line")).encode()
        response = httpx.post(server.base + "/api/hooks/articles", content=body,
                              headers={"Content-Type": "application/json",
                                       **signed_headers(settings.webhook_secret, body)})
    assert response.status_code == 422
    assert "'title'" in response.json()["error"] and "NUL" in response.json()["error"]


# -- Share times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("at, needle", [("9999-12-31T23:59:00+00:00", "more than a year ahead"),
                                        ("2100-01-01T00:00:00Z", "more than a year ahead"),
                                        ("1970-01-01T00:00:00Z", "has passed")])
def test_absurd_share_times_are_refused_alike_by_the_cli_and_the_api(settings, tmp_path, at, needle):
    shares.add_account(settings, "gazette-x", "x")
    from bot.domain.articles import ArticleDraft
    from bot.store.articles import store_drafts
    from bot.store.db import session_scope
    from bot.store.models import Source, SourceKind

    with session_scope(settings.effective_database_url) as s:
        source = Source(url="https://news.example.org/feed", kind=SourceKind.FEED)
        s.add(source)
        s.flush()
        [stored] = store_drafts(s, source, [ArticleDraft(
            title="Ferry", url="https://news.example.org/ferry", guid="ferry",
            published=datetime.now(timezone.utc))])
        article_id = stored.article.id
    result = run(tmp_path / "home", "share", "schedule", str(article_id), "--at", at,
                 DATABASE_URL=settings.database_url)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr

    [post] = shares.schedule_share(settings, article_id, at=datetime.now(timezone.utc) + timedelta(days=1))
    editors.add_user(settings, "ed@example.com", "correct horse battery staple")
    token = editors.create_token(settings, "ed@example.com", "cms")
    client = TestClient(create_app(settings))
    answer = client.patch(f"/api/shares/{post['id']}", json={"scheduled_at": at},
                          headers={"Authorization": f"Bearer {token}"})
    # The API's model refuses years past 9998 itself; within them, the same check as the CLI.
    assert answer.status_code == 422
    assert needle in answer.json()["detail"] or "between 1970 and 9998" in answer.json()["detail"]
    assert shares.get_share(settings, post["id"])["scheduled_at"] == post["scheduled_at"]


# -- An unreachable database or broker ------------------------------------------------------------


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path):
    for args in (("articles", "list"), ("ingest", str(tmp_path)), ("users", "list")):
        result = run(tmp_path / "home", *args, DATABASE_URL=UNREACHABLE_DB)
        assert result.returncode == 1, (args, result.stderr[-500:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr[-2000:])
        assert "cannot use the database" in lines[0] and "127.0.0.1:1" in lines[0]
        assert "hunter2" not in lines[0] and "nobody:***@" in lines[0]


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_an_unreachable_broker_is_one_line_and_exit_1(tmp_path):
    result = run(tmp_path / "home", "run", "--once", "--timeout", "30",
                 REDIS_URL="redis://:hunter2@127.0.0.1:1/0")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert any("cannot reach the broker redis://:***@127.0.0.1:1/0" in line for line in errors), result.stderr
    assert "hunter2" not in result.stderr + result.stdout


# -- Public pages with the database down ----------------------------------------------------------


def test_public_pages_with_the_database_down_are_an_html_503(tmp_path):
    down = Settings(home=tmp_path / "home", database_url=UNREACHABLE_DB)
    client = TestClient(create_app(down), raise_server_exceptions=False)
    for path in ("/subscribe", "/editions", "/editions/1"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 503, (path, page.status_code)
        assert page.headers["content-type"].startswith("text/html")
        assert "cannot reach its database" in page.text and "hunter2" not in page.text
    api = client.get("/api/articles", headers={"Authorization": "Bearer pb_x"})
    assert api.status_code == 503 and "database" in api.json()["detail"]

"""The listing and settings commands of issue 12 as a user runs them (a real process on
the test's database): `lists set`, `editions list`, titles in `share list`, `--json` on
every listing, output piped to a file never folded at 80 columns, links that follow
PRESSBOT_PORT, and the warning about plain-http links when real mail goes out."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from bot.services import digests, editors, shares
from tests.integration.test_cli import PRESSBOT
from tests.integration.test_digest_delivery import (NOW, add_articles, add_subscribers,
                                                    build_and_create, make_list)
from tests.support.smtpserver import SmtpServer


def cli(settings, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """`pressbot ARGS` on the test's database, output piped (not a terminal), no COLUMNS."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                                  "COLUMNS")}
    environment.update(PRESSBOT_HOME=str(settings.home),
                       DATABASE_URL=settings.effective_database_url, **env)
    return subprocess.run([str(PRESSBOT), *args], capture_output=True, text=True, input=stdin,
                          env=environment, timeout=120)


def test_lists_set_changes_only_what_is_given_with_the_checks_of_lists_add(settings):
    make_list(settings)
    changed = cli(settings, "lists", "set", "morning", "--schedule", "weekly mon 08:30",
                  "--from-email", "desk@gazette.example.org", "--max-articles", "4", "--json")
    assert changed.returncode == 0, changed.stderr
    row = json.loads(changed.stdout)
    assert (row["schedule"], row["from_email"], row["max_articles"]) == \
        ("weekly mon 08:30", "desk@gazette.example.org", 4)
    assert (row["title"], row["timezone"], row["template"]) == \
        ("The Morning Gazette", "Europe/Paris", "digest")   # untouched

    bad = cli(settings, "lists", "set", "morning", "--template", "nope")
    assert bad.returncode == 2 and "--template" in bad.stderr
    nothing = cli(settings, "lists", "set", "morning")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    missing = cli(settings, "lists", "set", "evening", "--max-articles", "3")
    assert missing.returncode == 2 and "evening" in missing.stderr
    off = cli(settings, "lists", "set", "morning", "--schedule", "none")
    assert off.returncode == 0 and "schedule (none)" in off.stdout
    assert json.loads(cli(settings, "lists", "show", "morning", "--json").stdout)["schedule"] is None


def test_editions_list_shows_recent_and_upcoming_in_the_lists_zone(settings):
    make_list(settings)                       # daily 07:00 Europe/Paris
    add_subscribers(settings, 2)
    add_articles(settings, 1)
    sent_id = build_and_create(settings)
    digests.send_edition(settings, sent_id, now=NOW)

    shown = cli(settings, "editions", "list", "--json", "--days", "3")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    [sent] = [r for r in rows if r["edition_id"] == sent_id]
    assert sent["status"] == "sent" and sent["deliveries"] == {"sent": 2}
    assert not sent["upcoming"]
    runs = [r for r in rows if r["upcoming"]]
    assert len(runs) >= 2 and all(r["edition_id"] is None for r in runs)
    for run in runs:   # 07:00 in Paris, whatever the offset that day
        assert run["timezone"] == "Europe/Paris" and run["when"][11:16] == "07:00"
        assert run["when"].endswith(("+01:00", "+02:00")) and run["subscribers"] == 2

    table = cli(settings, "editions", "list", "--list", "morning")
    assert table.returncode == 0
    assert "07:00 Europe/Paris" in table.stdout and "2 sent" in table.stdout
    unknown = cli(settings, "editions", "list", "--list", "evening")
    assert unknown.returncode == 2 and "evening" in unknown.stderr


def test_share_list_names_the_article(settings):
    add_articles(settings, 1)
    shares.add_account(settings, "gazette-x", "x")
    article_id = json.loads(cli(settings, "articles", "list", "--json").stdout)[0]["id"]
    shares.schedule_share(settings, article_id, "gazette-x",
                          datetime.now(timezone.utc) + timedelta(hours=1))
    rows = json.loads(cli(settings, "share", "list", "--json").stdout)
    assert [r["title"] for r in rows] == ["Story 0 about the harbour"]
    assert "Story 0 about the harbour" in cli(settings, "share", "list").stdout


LISTINGS = [("sources", "list"), ("accounts", "list"), ("lists", "list"),
            ("subscribers", "list"), ("users", "list"), ("tokens", "list"),
            ("articles", "list"), ("share", "list"), ("deliveries", "list"),
            ("editions", "list")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_listing_command_speaks_json(settings):
    make_list(settings)
    add_subscribers(settings, 1)
    editors.add_user(settings, "editor@example.com", "correct horse battery staple", role="admin")
    editors.create_token(settings, "editor@example.com", "cms")
    for group, command in LISTINGS:
        result = cli(settings, group, command, "--json")
        assert result.returncode == 0, (group, result.stderr)
        assert isinstance(json.loads(result.stdout), list), group
    [user] = json.loads(cli(settings, "users", "list", "--json").stdout)
    assert user["email"] == "editor@example.com" and user["role"] == "admin"
    [token] = json.loads(cli(settings, "tokens", "list", "--json").stdout)
    assert token["name"] == "cms" and set(token) >= {"prefix", "created_at", "revoked"}
    [reader] = json.loads(cli(settings, "subscribers", "list", "--json").stdout)
    assert reader["lists"] == ["morning"] and reader["status"] == "confirmed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_output_piped_to_a_file_keeps_long_lines_whole(settings, tmp_path):
    url = "https://news.example.org/" + "/".join(["a-rather-long-section-name"] * 5) + "/feed.xml"
    from bot.store.db import session_scope
    from bot.store.models import Source, SourceKind

    with session_scope(settings.effective_database_url) as s:
        s.add(Source(kind=SourceKind.FEED, url=url, poll_interval=900, failure_count=3,
                     last_error=f"{url}: HTTP 503 Service Unavailable (tried 3 times)"))
    listed = cli(settings, "sources", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(url in line and "HTTP 503 Service Unavailable (tried 3 times)" in line
               for line in listed.stdout.splitlines())
    assert max(len(line) for line in listed.stdout.splitlines()) > 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_links_follow_the_port_and_plain_http_mail_is_warned_about(settings):
    added = cli(settings, "users", "add", "editor@example.com", "--password-stdin",
                stdin="correct horse battery staple\n", PRESSBOT_PORT="8123")
    assert added.returncode == 0, added.stderr
    assert "http://localhost:8123/admin" in added.stdout

    make_list(settings)
    add_subscribers(settings, 1)
    add_articles(settings, 1, seen=datetime.now(timezone.utc) - timedelta(minutes=5))
    with SmtpServer() as smtp:
        sent = cli(settings, "digest", "send", "--list", "morning", PRESSBOT_SMTP_URL=smtp.url)
        assert sent.returncode == 0, sent.stderr
        assert "not https" in sent.stderr and "one-click unsubscribe" in sent.stderr
        quiet = cli(settings, "digest", "send", "--list", "morning", PRESSBOT_SMTP_URL=smtp.url,
                    PRESSBOT_BASE_URL="https://news.example.org")
        assert quiet.returncode == 0 and "not https" not in quiet.stderr

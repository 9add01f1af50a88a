"""The `pressbot` command as a user runs it: a real process, a real data folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = Path(sys.executable).parent / "pressbot"


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(PRESSBOT_HOME=str(home), COLUMNS="200", **env)
    return subprocess.run([str(PRESSBOT), *args], capture_output=True, text=True,
                          env=environment, cwd=home.parent, timeout=120)


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "data"


def test_version(home):
    result = run(home, "--version")
    assert result.returncode == 0 and result.stdout.startswith("pressbot ")


def test_readme_flow_ingests_the_examples_into_a_fresh_sqlite(home):
    first = run(home, "ingest", "--json", str(ROOT / "examples"), str(ROOT / "examples" / "feed.xml"))
    assert first.returncode == 0, first.stderr
    added = json.loads(first.stdout)["added"]
    assert len(added) >= 6
    assert (home / "pressbot.db").exists()  # created and migrated by the first command

    listed = run(home, "articles", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["title"] for r in rows} == {a["title"] for a in added}
    assert set(rows[0]) == {"id", "title", "url", "published", "categories", "language"}
    assert any(r["language"] == "fr" for r in rows)

    again = run(home, "ingest", "--json", str(ROOT / "examples"), str(ROOT / "examples" / "feed.xml"))
    report = json.loads(again.stdout)
    assert report["added"] == [] and report["updated"] == []
    assert len(report["unchanged"]) == len(added)

    shown = run(home, "articles", "show", str(rows[0]["id"]), "--json")
    assert json.loads(shown.stdout)["id"] == rows[0]["id"]


def test_folder_with_a_bad_file_ingests_the_rest_and_names_it(home, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "articles" / sorted(os.listdir(ROOT / "examples" / "articles"))[0], folder)
    (folder / "broken.json").write_text('{"title": "No URL here"}')
    result = run(home, "ingest", "--json", str(folder))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["added"]) == 1
    assert [r["where"].endswith("broken.json") for r in report["rejected"]] == [True]
    assert "url" in report["rejected"][0]["reason"]


@pytest.mark.parametrize("args, needle", [
    (("ingest", "no/such/file.xml"), "no such file"),
    (("ingest", "pyproject.toml"), "unsupported file type"),
    (("articles", "show", "999"), "no article"),
    (("articles", "list", "--since", "whenever"), "--since"),
])
def test_bad_input_exits_2_with_a_message_naming_it(home, args, needle):
    args = tuple(str(ROOT / a) if a == "pyproject.toml" else a for a in args)
    result = run(home, *args)
    assert result.returncode == 2
    assert needle in result.stderr


def test_a_named_file_that_cannot_be_read_exits_2(home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run(home, "ingest", str(bad))
    assert result.returncode == 2
    assert "bad.json" in result.stderr


def test_unreachable_source_exits_1(home):
    # Allowed, so the fetch is tried (and fails) rather than refused by the outbound policy.
    result = run(home, "ingest", "http://127.0.0.1:9/feed.xml",
                 PRESSBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr


def test_sources_add_list_remove(home):
    added = run(home, "sources", "add", "https://news.example.org/feed.xml")
    assert added.returncode == 0, added.stderr
    listed = json.loads(run(home, "sources", "list", "--json").stdout)
    assert [s["url"] for s in listed] == ["https://news.example.org/feed.xml"]
    assert listed[0]["next_poll_at"] is not None
    assert run(home, "sources", "remove", str(listed[0]["id"])).returncode == 0
    assert json.loads(run(home, "sources", "list", "--json").stdout) == []
    assert run(home, "sources", "remove", "42").returncode == 2


def test_postgres_needs_an_explicit_upgrade(home):
    """A server database is never migrated behind the operator's back."""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import POSTGRES_URL

    name = f"cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    try:
        before = run(home, "articles", "list", DATABASE_URL=url)
        assert before.returncode == 1 and "pressbot db upgrade" in before.stderr
        assert run(home, "db", "upgrade", DATABASE_URL=url).returncode == 0
        assert run(home, "articles", "list", "--json", DATABASE_URL=url).stdout.strip() == "[]"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_share_schedule_now_then_publish_due_posts_to_the_outbox(home):
    assert run(home, "ingest", str(ROOT / "examples" / "feed.xml")).returncode == 0
    assert run(home, "accounts", "add", "gazette", "--platform", "mastodon").returncode == 0
    article = json.loads(run(home, "articles", "list", "--json").stdout)[0]
    scheduled = run(home, "share", "schedule", str(article["id"]), "--now")
    assert scheduled.returncode == 0, scheduled.stderr
    published = run(home, "share", "publish-due")
    assert published.returncode == 0, published.stderr
    lines = (home / "outbox" / "social" / "mastodon.jsonl").read_text().splitlines()
    assert len([l for l in lines if f'"{article["url"]}' in l or article["title"][:20] in l]) == 1
    rows = json.loads(run(home, "share", "list", "--json").stdout)
    assert [r["state"] for r in rows if r["article_id"] == article["id"]] == ["sent"]

"""What pressbot keeps on disk is its owner's only: the data folder 0700, the SQLite
database with its WAL and shared-memory files 0600 (also an older 0644 one, tightened),
staged subscriber imports 0600. And a password inside a feed URL is masked wherever
sources are listed: the CLI, the settings page, the failures in `pressbot status`."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.domain.masking import mask_text, mask_url
from bot.store import db
from bot.store.db import session_scope
from bot.store.models import Source, SourceKind
from tests.support.web import client_for, csrf

PRESSBOT = Path(sys.executable).parent / "pressbot"
ROOT = Path(__file__).resolve().parents[2]
SECRET_URL = "https://bob:s3cret-pass@cms.example.org/feed.xml"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(PRESSBOT_HOME=str(home), COLUMNS="300", **env)
    return subprocess.run([str(PRESSBOT), *args], capture_output=True, text=True, env=environment,
                          cwd=home.parent, timeout=120, preexec_fn=lambda: os.umask(0o022))


def test_a_fresh_data_folder_and_database_are_private(tmp_path):
    home = tmp_path / "data"
    result = run(home, "ingest", str(ROOT / "examples" / "articles"))
    assert result.returncode == 0, result.stderr
    assert mode(home) == 0o700
    assert mode(home / "pressbot.db") == 0o600
    for path in home.rglob("*"):
        assert not mode(path) & 0o077, f"{path} is {oct(mode(path))}"


def test_an_older_world_readable_database_is_tightened_with_its_wal(tmp_path):
    path = tmp_path / "old" / "pressbot.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    db.upgrade(url)
    db.dispose_engines()
    os.chmod(path, 0o644)
    try:
        engine = db.get_engine(url)
        with engine.begin() as conn:   # WAL mode: the -wal and -shm files exist while open
            conn.execute(text("CREATE TABLE t (x)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM t")).all()
            wal, shm = path.with_name("pressbot.db-wal"), path.with_name("pressbot.db-shm")
            assert wal.exists() and shm.exists()
            assert [mode(p) for p in (path, wal, shm)] == [0o600] * 3
    finally:
        db.dispose_engines()


def test_staged_imports_are_private(settings):
    old = os.umask(0o022)   # the usual default, under which files used to be 0644
    try:
        client = client_for(settings, login_as="ed@example.com")
        from bot.services import subscribers
        subscribers.add_list(settings, "morning", title="Morning", from_email="news@news.example.org",
                             from_name="Gazette")
        answer = client.post("/admin/subscribers/import", data={"csrf_token": csrf(client, "/admin/subscribers"),
                                                                "list": "morning"},
                             files={"file": ("readers.csv", io.BytesIO(b"email\nada@example.org\n"))},
                             follow_redirects=False)
        assert answer.status_code in (200, 303), answer.text[:300]
    finally:
        os.umask(old)
    [staged] = list((settings.home / "imports").glob("*.csv"))
    assert mode(staged) == 0o600 and mode(staged.parent) == 0o700 and mode(settings.home) == 0o700


def add_secret_source(settings) -> None:
    with session_scope(settings.effective_database_url) as s:
        s.add(Source(url=SECRET_URL, kind=SourceKind.FEED, failure_count=2,
                     last_error=f"GET {SECRET_URL}: 401 Unauthorized"))


@pytest.mark.slow  # runs `pressbot` processes, ~1 s each (fast subset: README)
def test_passwords_in_feed_urls_are_masked_in_listings(settings, tmp_path):
    add_secret_source(settings)
    listed = run(tmp_path / "home", "sources", "list", DATABASE_URL=settings.database_url)
    assert listed.returncode == 0, listed.stderr
    assert "bob:***@cms.example.org" in listed.stdout and "s3cret-pass" not in listed.stdout
    as_json = run(tmp_path / "home", "sources", "list", "--json", DATABASE_URL=settings.database_url)
    assert "bob:***@" in as_json.stdout and "s3cret-pass" not in as_json.stdout
    status = run(tmp_path / "home", "status", DATABASE_URL=settings.database_url)
    assert "s3cret-pass" not in status.stdout + status.stderr

    admin = client_for(settings, login_as="admin@example.com", role="admin")
    page = admin.get("/admin/settings/sources")
    assert page.status_code == 200
    assert "bob:***@cms.example.org" in page.text and "s3cret-pass" not in page.text
    # The stored URL keeps the password: the fetcher needs it.
    with session_scope(settings.effective_database_url) as s:
        assert s.query(Source).one().url == SECRET_URL


def test_mask_url_and_mask_text():
    assert mask_url(SECRET_URL) == "https://bob:***@cms.example.org/feed.xml"
    assert mask_url("redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    for unchanged in ("https://cms.example.org/a@b", "https://bob@cms.example.org/", "files:/srv/in", None):
        assert mask_url(unchanged) == unchanged
    assert mask_text(f"GET {SECRET_URL} failed") == "GET https://bob:***@cms.example.org/feed.xml failed"


def test_test_fetch_of_a_source_with_a_password_shows_it_masked(settings):
    # Loopback is refused by the outbound policy at once: the page shows the refusal.
    with session_scope(settings.effective_database_url) as s:
        source = Source(url="http://bob:s3cret-pass@127.0.0.1:9/feed.xml", kind=SourceKind.FEED)
        s.add(source)
        s.flush()
        source_id = source.id
    admin = client_for(settings, login_as="admin@example.com", role="admin")
    page = admin.post(f"/admin/settings/sources/{source_id}/test",
                      data={"csrf_token": csrf(admin, "/admin/settings/sources")})
    assert page.status_code == 200
    assert "bob:***@127.0.0.1" in page.text and "s3cret-pass" not in page.text

"""Shared fixtures: real databases (SQLite and the PostgreSQL server), settings pointing at
a temporary data folder, and a real HTTP server on loopback."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.store import db
from tests.support.outbound import LOCAL_NETWORKS

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The browser fixtures (`page`, `browser_context`) for the dashboard and public-page tests.
pytest_plugins = ["tests.support.browser"]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# Left out of the fast subset (`pytest -m "not slow" -n 2`, README "Testing"; .ci/run runs all):
# real browsers, the wheel install, runs of real worker, beat, web and Procfile processes,
# tests that start a `pressbot` process per step (~1 s each; files here, single tests marked
# where they are), SpamAssassin, the corpus and volume runs, and
# the PostgreSQL twin of every test that runs on both databases (its SQLite twin stays in).
# A test file can also mark itself (`pytestmark = pytest.mark.slow`).
SLOW_PATHS = ("tests/browser/", "tests/integration/test_orchestration", "tests/integration/test_procfile.py",
              "tests/integration/test_run.py", "tests/integration/test_digest_crash.py",
              "tests/security/test_api_fuzz.py", "tests/integration/test_cli.py",
              "tests/integration/test_cli_listings.py", "tests/integration/test_feeds_corpus.py",
              "tests/integration/test_dispatch_budget.py", "tests/integration/test_spam_score.py",
              "tests/integration/test_page_dates.py")
ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (Path(item.path).resolve().relative_to(ROOT).as_posix().startswith(SLOW_PATHS)
                or item.get_closest_marker("postgres")):
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    # Declared here, at the root, so `pytest --update-golden` works from anywhere.
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/data/golden from the output")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One SQLite file migrated to head for the whole run. Running the migrations costs
    ~0.2 s, paid by every test that wants a database; a copy of this file costs ~1 ms.
    Migrating from empty is still run by every CLI and first-run test on a new home, the
    wheel test and the migration tests (0015, 0017), on both databases."""
    path = tmp_path_factory.mktemp("template") / "pressbot.db"
    db.upgrade(f"sqlite:///{path}")
    db.dispose_engines()   # closing the last connection checkpoints the WAL into the file
    return path


def migrated_sqlite(request, path: Path) -> str:
    """A sqlite:/// URL of a fresh migrated database at `path` (a copy of the template),
    made private (0600) as pressbot makes its own."""
    template = request.getfixturevalue("sqlite_template")
    db.private_file(path)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        url = migrated_sqlite(request, tmp_path / "pressbot.db")
        yield url
        db.dispose_engines()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        db.upgrade(url)
        yield url
    finally:
        db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    # The local test servers are on loopback, which pressbot refuses unless allowed.
    return Settings(home=tmp_path / "home", database_url=database_url,
                    webhook_secret="test-webhook-secret", fetch_timeout=5.0,
                    allowed_private_networks=LOCAL_NETWORKS)


@pytest.fixture
def sqlite_settings(request, tmp_path) -> Settings:
    """Settings on a fresh SQLite database, for tests where the database is not the point."""
    url = migrated_sqlite(request, tmp_path / "pressbot.db")
    yield Settings(home=tmp_path / "home", database_url=url, webhook_secret="test-webhook-secret",
                   fetch_timeout=5.0, allowed_private_networks=LOCAL_NETWORKS)
    db.dispose_engines()


@pytest.fixture
def http_server():
    from tests.support.httpserver import LocalServer

    server = LocalServer()
    server.start()
    yield server
    server.stop()

"""Shared fixtures: real databases (SQLite and the PostgreSQL server), settings pointing at
a temporary data folder, and a real HTTP server on loopback."""

from __future__ import annotations

import os
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


# Left out of the fast subset (`pytest -m "not slow"`, README "Testing"; .ci/run runs all):
# real browsers, the wheel install, and runs of real worker, beat, web and Procfile
# processes. A test file can also mark itself (`pytestmark = pytest.mark.slow`).
SLOW_PATHS = ("tests/browser/", "tests/integration/test_orchestration", "tests/integration/test_procfile.py",
              "tests/integration/test_run.py", "tests/integration/test_digest_crash.py",
              "tests/security/test_api_fuzz.py")
ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(item.path).resolve().relative_to(ROOT).as_posix().startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    # Declared here, at the root, so `pytest --update-golden` works from anywhere.
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/data/golden from the output")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pressbot.db'}"
        db.upgrade(url)
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
def sqlite_settings(tmp_path) -> Settings:
    """Settings on a fresh SQLite database, for tests where the database is not the point."""
    url = f"sqlite:///{tmp_path / 'pressbot.db'}"
    db.upgrade(url)
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

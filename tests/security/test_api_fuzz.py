"""Schemathesis against the served API with a valid token on a seeded SQLite database:
whatever the schema allows (and a bit it does not), no answer is a 5xx. Bounded: a few
examples per operation, derandomized, so the run is short and repeatable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from bot.config import Settings
from bot.domain.articles import ArticleDraft
from bot.services import editors, shares, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.models import Source, SourceKind
from bot.web.app import create_app
from tests.support.web import add_editor


@pytest.fixture
def token(sqlite_settings) -> str:
    """An admin's token (so admin-only writes are fuzzed too) and one of each resource."""
    settings = sqlite_settings
    subscribers.add_list(settings, "morning", title="The Morning Gazette", from_email="news@example.org",
                         from_name="Gazette", schedule="daily 07:00")
    subscribers.add_confirmed(settings, "reader@example.net", "morning")
    shares.add_account(settings, "gazette-x", "x")
    with session_scope(settings.effective_database_url) as s:
        source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        [stored] = store_drafts(s, source, [ArticleDraft(
            title="The ferry runs again", url="https://news.example.org/ferry", guid="f1",
            summary="From Monday.", categories=("City",), published=datetime.now(timezone.utc),
            language="en")])
        article_id = stored.article.id
    shares.schedule_share(settings, article_id, "gazette-x",
                          at=datetime.now(timezone.utc) + timedelta(days=1))
    return editors.create_token(settings, add_editor(settings, "admin@example.com", "admin"), "fuzz")


# The schema is read from an app made only for that (nothing connects until a request
# comes), at import time as @schema.parametrize needs it; each test then calls its own app
# on its own database. (schemathesis.pytest.from_fixture would be the lazy way, but it
# does not run under pytest 9 yet.)
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", create_app(Settings(secret_key="schema only", database_url="sqlite://")))


@pytest.fixture
def app(sqlite_settings):
    return create_app(sqlite_settings)


@schema.parametrize()
@hypothesis_settings(max_examples=8, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, app, token):
    # Over whatever the generator put there: the schema declares bearer auth, so cases
    # come with made-up tokens of their own.
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call_and_validate(app=app, checks=[not_a_server_error])
    if not case.path.startswith("/api/hooks/"):   # signed, not token-authenticated
        # The fuzz must reach the routes themselves, not stop at the token check.
        assert response.status_code not in (401, 403), response.text

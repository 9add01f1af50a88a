"""The JSON API under /api with tokens made by the real `pressbot tokens` command, on
SQLite and PostgreSQL: each resource's happy path and a bad input, roles, revocation."""

from __future__ import annotations

import email
import hashlib
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.domain.articles import ArticleDraft
from bot.services import digests, editors, shares, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.editors import ApiToken, User
from bot.store.models import Article, SharePost, Source, SourceKind
from bot.web.app import create_app
from tests.integration.test_cli import run
from tests.support.web import add_editor

DOMAIN = "gazette.example.org"
PUBLISHED = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


def cli(settings, *args: str):
    return run(settings.home, *args, DATABASE_URL=settings.effective_database_url)


def cli_token(settings, email_address: str, name: str = "cms") -> str:
    result = cli(settings, "tokens", "create", email_address, "--name", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


# The CLI is what makes tokens (the first tests below run it); the rest take the same
# service call directly, since starting a process per test would double the run time.
@pytest.fixture
def editor_token(settings) -> str:
    return editors.create_token(settings, add_editor(settings, "editor@example.com", "editor"), "cms")


@pytest.fixture
def admin_token(settings) -> str:
    return editors.create_token(settings, add_editor(settings, "admin@example.com", "admin"), "cms")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def add_articles(settings, n: int, *, start: int = 0) -> list[int]:
    """Article i published i hours after PUBLISHED, first seen an hour ago."""
    seen = datetime.now(timezone.utc) - timedelta(hours=1)
    with session_scope(settings.effective_database_url) as s:
        source = s.scalar(select(Source).where(Source.url == "test:feed"))
        if source is None:
            source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
            s.add(source)
            s.flush()
        drafts = [ArticleDraft(title=f"Story {i} about the harbour", url=f"https://{DOMAIN}/{i}",
                               guid=f"g{i}", summary="The ferry runs again.", categories=("City",),
                               published=PUBLISHED + timedelta(hours=i), language="en")
                  for i in range(start, start + n)]
        return [r.article.id for r in store_drafts(s, source, drafts, now=seen)]


def make_list(settings, name: str = "morning") -> None:
    subscribers.add_list(settings, name, title="The Morning Gazette", from_email=f"news@{DOMAIN}",
                         from_name="Gazette", schedule="daily 07:00", timezone="Europe/Paris")


# -- Tokens ---------------------------------------------------------------------------------------


def test_a_cli_token_opens_the_api_and_only_its_hash_is_stored(settings, client):
    token = cli_token(settings, add_editor(settings, "editor@example.com"))

    answer = client.get("/api/lists", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "limit": 100, "offset": 0, "next_offset": None}

    with session_scope(settings.effective_database_url) as s:
        [row] = s.scalars(select(ApiToken)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = [getattr(row, c.key) for c in ApiToken.__table__.columns]
        stored += [getattr(u, c.key) for u in s.scalars(select(User)) for c in User.__table__.columns]
    assert not any(token in str(value) for value in stored), "the token is stored in clear"
    assert row.prefix == token[:10]


@pytest.mark.parametrize("authorization", [None, "Bearer pb_not-a-real-token", "Basic dXNlcjpwYXNz",
                                           "Bearer "])
def test_no_valid_token_is_401_with_a_bearer_challenge(settings, client, authorization):
    add_editor(settings, "editor@example.com")
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.get("/api/articles", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "pressbot tokens create" in answer.json()["detail"]


def test_a_revoked_token_is_refused(settings, client):
    editor_token = cli_token(settings, add_editor(settings, "editor@example.com"))
    assert client.get("/api/articles", headers=bearer(editor_token)).status_code == 200
    [listed] = editors.list_tokens(settings)
    revoked = cli(settings, "tokens", "revoke", str(listed["id"]))
    assert revoked.returncode == 0, revoked.stderr
    answer = client.get("/api/articles", headers=bearer(editor_token))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_editor_token_cannot_create_a_list_an_admin_token_can(settings, client, editor_token,
                                                                 admin_token):
    body = {"name": "evening", "title": "The Evening Gazette", "from_email": f"news@{DOMAIN}",
            "from_name": "Gazette", "schedule": "daily 18:00", "timezone": "Europe/Paris"}
    refused = client.post("/api/lists", json=body, headers=bearer(editor_token))
    assert refused.status_code == 403, refused.text
    assert "admin" in refused.json()["detail"]
    assert subscribers.list_lists(settings) == []

    created = client.post("/api/lists", json=body, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    assert created.json()["schedule"] == "daily 18:00"
    assert [m["name"] for m in subscribers.list_lists(settings)] == ["evening"]

    again = client.post("/api/lists", json=body, headers=bearer(admin_token))
    assert again.status_code == 422 and "exists already" in again.json()["detail"]
    bad = client.post("/api/lists", json={**body, "name": "Bad Name!"}, headers=bearer(admin_token))
    assert bad.status_code == 422 and "list name" in bad.json()["detail"]


# -- Articles -------------------------------------------------------------------------------------


def test_articles_page_newest_first_and_filter_by_time(settings, client, editor_token):
    ids = add_articles(settings, 5)
    headers = bearer(editor_token)

    first = client.get("/api/articles?limit=2", headers=headers).json()
    assert [a["id"] for a in first["items"]] == [ids[4], ids[3]]
    assert first["next_offset"] == 2
    assert first["items"][0]["published"] == "2026-11-27T13:00:00Z"
    last = client.get("/api/articles?limit=2&offset=4", headers=headers).json()
    assert [a["id"] for a in last["items"]] == [ids[0]] and last["next_offset"] is None

    since = client.get("/api/articles", params={"since": "2026-11-27T12:00:00+01:00"}, headers=headers)
    assert [a["id"] for a in since.json()["items"]] == [ids[4], ids[3], ids[2]]

    one = client.get(f"/api/articles/{ids[1]}", headers=headers).json()
    assert one["title"] == "Story 1 about the harbour" and one["summary"] == "The ferry runs again."
    assert one["first_seen"].endswith("Z")


@pytest.mark.parametrize("path, named", [
    ("/api/articles?since=2026-11-27T12:00:00", "since"),      # no time zone
    ("/api/articles?since=yesterday", "since"),
    ("/api/articles?limit=501", "limit"),
    ("/api/articles?offset=-1", "offset"),
    ("/api/articles/abc", "article_id"),
])
def test_bad_article_queries_are_422_naming_the_parameter(settings, client, editor_token, path, named):
    answer = client.get(path, headers=bearer(editor_token))
    assert answer.status_code == 422
    assert isinstance(answer.json()["detail"], str) and named in answer.json()["detail"]


def test_a_missing_article_is_404(settings, client, editor_token):
    answer = client.get("/api/articles/4242", headers=bearer(editor_token))
    assert answer.status_code == 404 and answer.json() == {"detail": "no article with id 4242"}


# -- Editions -------------------------------------------------------------------------------------


def test_editions_show_subject_status_slot_and_counts(settings, client, editor_token):
    make_list(settings)
    make_list(settings, "evening")
    for i in range(3):
        subscribers.add_confirmed(settings, f"reader{i}@example.net", "morning")
    slot = datetime.now(timezone.utc).replace(microsecond=0)
    with session_scope(settings.effective_database_url) as s:  # news, not backfill (issue 10)
        s.query(Article).filter(Article.id.in_(add_articles(settings, 2))).update(
            {Article.published_at: slot - timedelta(hours=2)})
    edition_id = digests.build_edition(settings, "morning", scheduled_for=slot, now=slot)
    digests.create_deliveries(settings, edition_id)
    headers = bearer(editor_token)

    listed = client.get("/api/editions", params={"list": "morning"}, headers=headers)
    assert listed.status_code == 200, listed.text
    [edition] = listed.json()["items"]
    assert edition["id"] == edition_id and edition["list"] == "morning"
    assert edition["status"] == "sending" and edition["subject"]
    assert edition["scheduled_for"] == slot.isoformat().replace("+00:00", "Z")
    assert edition["deliveries"] == {"pending": 3, "claimed": 0, "sent": 0, "deferred": 0,
                                     "failed": 0, "suppressed": 0, "held": 0, "total": 3}
    assert edition["articles"] == 2
    assert client.get("/api/editions?list=evening", headers=headers).json()["items"] == []
    assert client.get("/api/editions?status=sent", headers=headers).json()["items"] == []

    one = client.get(f"/api/editions/{edition_id}", headers=headers).json()
    assert one == edition
    assert client.get(f"/api/editions/{edition_id + 100}", headers=headers).status_code == 404


@pytest.mark.parametrize("query, named", [("status=delivered", "status"), ("list=nope", "nope")])
def test_bad_edition_filters_are_422(settings, client, editor_token, query, named):
    answer = client.get(f"/api/editions?{query}", headers=bearer(editor_token))
    assert answer.status_code == 422 and named in answer.json()["detail"]


# -- Share posts ----------------------------------------------------------------------------------


@pytest.fixture
def posts(settings) -> dict[str, int]:
    """A scheduled post tomorrow on an X account and on a Mastodon account."""
    shares.add_account(settings, "gazette-x", "x")
    shares.add_account(settings, "gazette-masto", "mastodon")
    [article] = add_articles(settings, 1)
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    return {p["account"]: p["id"] for p in shares.schedule_share(settings, article, at=tomorrow)}


def test_share_posts_are_listed_with_filters(settings, client, editor_token, posts):
    headers = bearer(editor_token)
    every = client.get("/api/shares", headers=headers).json()["items"]
    assert {p["account"] for p in every} == {"gazette-x", "gazette-masto"}
    assert all(p["state"] == "scheduled" and p["text"] is None for p in every)
    [x_post] = client.get("/api/shares?account=gazette-x", headers=headers).json()["items"]
    assert x_post["id"] == posts["gazette-x"] and x_post["platform"] == "x"
    assert client.get("/api/shares?state=sent", headers=headers).json()["items"] == []
    assert client.get(f"/api/shares/{posts['gazette-x']}", headers=headers).json() == x_post
    assert client.get("/api/shares?state=gone", headers=headers).status_code == 422


def test_a_post_is_edited_and_moved_before_it_goes_out(settings, client, editor_token, posts):
    headers = bearer(editor_token)
    post_id = posts["gazette-x"]
    at = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    local = at.astimezone(timezone(timedelta(hours=1))).isoformat()
    changed = client.patch(f"/api/shares/{post_id}", headers=headers,
                           json={"text": "Ferry back on Monday https://gazette.example.org/0",
                                 "scheduled_at": local})
    assert changed.status_code == 200, changed.text
    assert changed.json()["text"] == "Ferry back on Monday https://gazette.example.org/0"
    assert changed.json()["scheduled_at"] == at.isoformat().replace("+00:00", "Z")
    with session_scope(settings.effective_database_url) as s:
        row = s.get(SharePost, post_id)
        assert row.text.startswith("Ferry back") and row.scheduled_at == at


@pytest.mark.parametrize("body, named", [
    ({"text": "x" * 300}, "limit is 280"),
    ({"scheduled_at": "2026-12-01T08:00:00"}, "scheduled_at"),      # no time zone
    ({"scheduled_at": "2001-01-01T08:00:00Z"}, "has passed"),
    ({"txt": "typo"}, "txt"),
    ({}, "text and/or scheduled_at"),
])
def test_bad_post_changes_are_422_and_change_nothing(settings, client, editor_token, posts, body, named):
    post_id = posts["gazette-x"]
    before = shares.get_share(settings, post_id)
    answer = client.patch(f"/api/shares/{post_id}", headers=bearer(editor_token), json=body)
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["detail"]
    assert shares.get_share(settings, post_id) == before


def test_a_skipped_post_cannot_be_changed_or_skipped_again(settings, client, editor_token, posts):
    headers = bearer(editor_token)
    post_id = posts["gazette-masto"]
    skipped = client.post(f"/api/shares/{post_id}/skip", headers=headers)
    assert skipped.status_code == 200 and skipped.json()["state"] == "skipped"
    again = client.post(f"/api/shares/{post_id}/skip", headers=headers)
    assert again.status_code == 409 and "skipped" in again.json()["detail"]
    edit = client.patch(f"/api/shares/{post_id}", headers=headers, json={"text": "Too late"})
    assert edit.status_code == 409
    assert shares.get_share(settings, post_id)["text"] is None
    assert client.post("/api/shares/999999/skip", headers=headers).status_code == 404


# -- Subscribers ----------------------------------------------------------------------------------


def outbox(settings) -> list:
    folder = settings.home / "outbox" / "email"
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def test_an_added_subscriber_gets_a_confirmation_email_the_answer_does_not_carry_its_link(
        settings, client, editor_token):
    make_list(settings)
    headers = bearer(editor_token)
    added = client.post("/api/subscribers", headers=headers,
                        json={"email": "reader@example.net", "list": "morning", "name": "Zoé"})
    assert added.status_code == 202, added.text
    assert added.json()["status"] == "pending" and added.json()["confirmation_sent"] is True
    [message] = outbox(settings)
    assert message["To"].addresses[0].addr_spec == "reader@example.net"
    link = next(w for w in message.get_body(("plain",)).get_content().split() if "/confirm/" in w)
    token = link.rsplit("/", 1)[1]
    assert token not in added.text and "/confirm/" not in added.text

    detail = client.get(f"/api/subscribers/{added.json()['subscriber_id']}", headers=headers).json()
    assert detail["status"] == "pending" and token not in str(detail)
    assert detail["consents"][0]["method"] == "api"
    assert detail["consents"][0]["origin"] == "api:editor@example.com"

    again = client.post("/api/subscribers", headers=headers,
                        json={"email": "reader@example.net", "list": "morning"})
    assert again.status_code == 202                 # pending: asked again, a new email
    assert len(outbox(settings)) == 2


def test_a_confirmed_subscriber_is_added_and_found_by_search(settings, client, editor_token):
    make_list(settings)
    headers = bearer(editor_token)
    added = client.post("/api/subscribers", headers=headers,
                        json={"email": "Zoe.Martin@Example.net", "list": "morning", "confirmed": True,
                              "topics": ["City"]})
    assert added.status_code == 201, added.text
    assert added.json()["status"] == "confirmed" and outbox(settings) == []
    subscribers.add_confirmed(settings, "someone.else@example.net", "morning")

    [found] = client.get("/api/subscribers", params={"q": "zoe.mar"}, headers=headers).json()["items"]
    assert found["email"] == "Zoe.Martin@example.net" and found["lists"] == ["morning"]
    assert found["confirmed_at"].endswith("Z")
    assert len(client.get("/api/subscribers?list=morning", headers=headers).json()["items"]) == 2
    paged = client.get("/api/subscribers?limit=1", headers=headers).json()
    assert len(paged["items"]) == 1 and paged["next_offset"] == 1

    detail = client.get(f"/api/subscribers/{found['id']}", headers=headers).json()
    assert detail["subscriptions"] == [{"list": "morning", "active": True, "topics": ["City"],
                                        "since": detail["subscriptions"][0]["since"]}]
    duplicate = client.post("/api/subscribers", headers=headers,
                            json={"email": "zoe.martin@example.net", "list": "morning", "confirmed": True})
    assert duplicate.status_code == 201   # already confirmed there: same answer, nothing doubled
    assert client.get("/api/subscribers/99999", headers=headers).status_code == 404


@pytest.mark.parametrize("body, named", [
    ({"email": "not-an-address", "list": "morning"}, "not-an-address"),
    ({"email": "a@example.net", "list": "nope"}, "nope"),
    ({"email": "a@example.net"}, "list"),
    ({"email": "a@example.net", "list": "morning", "language": "klingon!"}, "language"),
    ({"email": "a@example.net", "list": "morning", "confirmed": "maybe"}, "confirmed"),
])
def test_bad_subscriber_input_is_422_naming_it(settings, client, editor_token, body, named):
    make_list(settings)
    answer = client.post("/api/subscribers", headers=bearer(editor_token), json=body)
    assert answer.status_code == 422, answer.text
    assert named in answer.json()["detail"]
    assert client.get("/api/subscribers", headers=bearer(editor_token)).json()["items"] == []


def test_an_address_that_left_is_not_added_back(settings, client, editor_token):
    make_list(settings)
    subscribers.add_confirmed(settings, "gone@example.net", "morning")
    subscribers.suppress(settings, "gone@example.net", "complained")
    answer = client.post("/api/subscribers", headers=bearer(editor_token),
                         json={"email": "gone@example.net", "list": "morning", "confirmed": True})
    assert answer.status_code == 409 and "was not added" in answer.json()["detail"]


# -- Lists ----------------------------------------------------------------------------------------


def test_lists_are_listed_and_read_by_name(settings, client, editor_token):
    make_list(settings)
    make_list(settings, "evening")
    subscribers.add_confirmed(settings, "reader@example.net", "morning")
    headers = bearer(editor_token)
    listed = client.get("/api/lists", headers=headers).json()
    assert [m["name"] for m in listed["items"]] == ["evening", "morning"]
    one = client.get("/api/lists/morning", headers=headers).json()
    assert one["subscribers"] == 1 and one["timezone"] == "Europe/Paris"
    missing = client.get("/api/lists/nope", headers=headers)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.get("/api/lists?limit=0", headers=headers).status_code == 422

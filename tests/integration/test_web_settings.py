"""The dashboard's settings pages through the real app (TestClient) on SQLite and
PostgreSQL: admins only; sources with a test fetch over real HTTP; lists with the
schedule parser's errors inline; social accounts checked against a local Mastodon; editor
users who can then log in."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from bot.services import editors, ingest, shares, subscribers
from bot.store.db import session_scope
from bot.store.models import Article, Source
from bot.web.admin.settings import router as settings_router
from tests.integration.test_ingest_http import item, rss
from tests.support.fake_mastodon import FakeMastodon
from tests.support.httpserver import Route
from tests.support.web import PASSWORD, client_for, csrf, login

PAGES = ("/admin/settings", "/admin/settings/sources", "/admin/settings/lists",
         "/admin/settings/accounts", "/admin/settings/users")


def admin_client(settings):
    return client_for(settings, login_as="boss@example.com", role="admin")


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def post(client, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/settings"), **(data or {})},
                       follow_redirects=False)


def test_every_page_renders_for_an_admin(settings):
    client = admin_client(settings)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'href="/admin/settings/lists"' in response.text
    assert 'href="/admin/settings"' in client.get("/admin/calendar").text


def test_an_editor_gets_403_on_every_settings_route(settings):
    client = client_for(settings, login_as="ed@example.com", role="editor")
    token = csrf(client, "/admin/subscribers")
    assert 'href="/admin/settings"' not in client.get("/admin/subscribers").text
    routes = [(method, route.path) for route in settings_router.routes for method in route.methods]
    assert len(routes) >= 15
    for method, path in routes:
        concrete = "/admin" + re.sub(r"\{[^}]+\}", "1", path)
        data = {"csrf_token": token, "name": "x", "url": "https://news.example.org/feed.xml",
                "email": "new@example.com", "password": PASSWORD, "role": "admin"}
        response = client.request(method, concrete, data=data if method == "POST" else None,
                                  follow_redirects=False)
        assert response.status_code == 403, (method, concrete, response.status_code)
    assert ingest.list_sources(settings) == []
    assert [u["email"] for u in editors.list_users(settings)] == ["ed@example.com"]
    anonymous = client_for(settings).get("/admin/settings/users", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")


# -- Sources --------------------------------------------------------------------------------------


def test_add_and_remove_sources_with_the_cli_validation(settings):
    client = admin_client(settings)
    bad = post(client, "/admin/settings/sources", {"url": "ftp://news.example.org/feed", "kind": ""})
    assert bad.status_code == 422
    # The web adds network sources only (issue 11: no server paths from the dashboard).
    assert ("ftp://news.example.org/feed: only http(s) feed, site or WordPress URLs can be added here"
            in text_of(bad.text))
    assert 'value="ftp://news.example.org/feed"' in bad.text          # kept for correcting
    wrong_kind = post(client, "/admin/settings/sources", {"url": "https://a.example.org/", "kind": "gopher"})
    assert wrong_kind.status_code == 422 and "unknown source kind" in wrong_kind.text
    assert ingest.list_sources(settings) == []

    added = post(client, "/admin/settings/sources", {"url": "https://wp.example.org/wp-json/wp/v2/posts",
                                                     "kind": ""})
    assert added.status_code == 303
    page = client.get("/admin/settings/sources").text
    assert "https://wp.example.org" in page and ">wordpress<" in page and "never" in page
    [source] = ingest.list_sources(settings)
    assert (source["url"], source["kind"]) == ("https://wp.example.org", "wordpress")

    removed = post(client, f"/admin/settings/sources/{source['id']}/remove")
    assert "removed" in client.get(removed.headers["location"]).text
    assert ingest.list_sources(settings) == []


def test_test_fetch_shows_what_a_feed_holds_and_stores_nothing(settings, http_server):
    http_server.routes["/feed.xml"] = Route(rss(item(1), item(2), item(3)), etag='"v1"')
    source_id = ingest.add_source(settings, http_server.url("/feed.xml"))
    ingest.poll_source(settings, source_id)          # stores 1-3 and remembers the ETag
    http_server.routes["/feed.xml"] = Route(rss(item(1), item(2), item(3), item(4), item(5, title=" ", body="")),
                                            etag='"v2"')
    with session_scope(settings.effective_database_url) as s:
        before = s.get(Source, source_id)
        state = (before.etag, before.next_poll_at, before.last_success_at)
    client = admin_client(settings)

    response = post(client, f"/admin/settings/sources/{source_id}/test")
    assert response.status_code == 200
    shown = text_of(response.text)
    assert "4 items found: 1 new, 3 already stored, 1 rejected. Nothing was stored." in shown
    # A blank title with no text to make one from is the one rejected item.
    assert "Story 4" in shown and "title is empty" in shown
    # Unconditional: the feed was asked without the stored ETag.
    assert "if-none-match" not in http_server.requests_to("/feed.xml")[-1].headers
    with session_scope(settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 3
        after = s.get(Source, source_id)
        assert (after.etag, after.next_poll_at, after.last_success_at) == state

    http_server.routes["/feed.xml"] = Route(b"gone", status=404, content_type="text/plain")
    failed = text_of(post(client, f"/admin/settings/sources/{source_id}/test").text)
    assert "Failed:" in failed and "404" in failed
    with session_scope(settings.effective_database_url) as s:
        assert s.get(Source, source_id).last_error is None     # a test is not a poll


# -- Lists ----------------------------------------------------------------------------------------


LIST_FORM = {"name": "morning", "title": "The Morning Brief", "from_name": "The Gazette",
             "from_email": "news@news.example.org", "language": "en", "template": "digest",
             "schedule": "daily 07:00", "timezone": "Europe/Paris", "max_articles": "8",
             "categories": "City, Sport"}


@pytest.mark.parametrize("change, message, field", [
    ({"schedule": "daily 25:00"}, "schedule: 'daily 25:00' has no such time of day", "schedule"),
    ({"schedule": "hourly"}, "schedule: 'hourly' is not like 'daily 07:00' or 'weekly mon 08:00'", "schedule"),
    ({"schedule": "weekly someday 08:00"}, "schedule: 'someday' is not a weekday (mon … sun)", "schedule"),
    ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'", "timezone"),
    ({"max_articles": "many"}, "max-articles: 'many' is not a number", "max_articles"),
])
def test_a_bad_list_shows_the_parsers_error_next_to_its_field(settings, change, message, field):
    client = admin_client(settings)
    response = post(client, "/admin/settings/lists", {**LIST_FORM, **change})
    assert response.status_code == 422
    error = re.search(rf'<span class="error-text" id="error-{field}" role="alert">([^<]*)</span>', response.text)
    assert error and html.unescape(error.group(1)) == message
    assert f'value="{html.escape(next(iter(change.values())), quote=True)}"' in response.text
    assert subscribers.list_lists(settings) == []


def test_add_then_edit_a_list(settings):
    client = admin_client(settings)
    added = post(client, "/admin/settings/lists", LIST_FORM)
    assert added.status_code == 303
    page = text_of(client.get("/admin/settings/lists").text)
    assert "The Morning Brief" in page and "daily 07:00 Europe/Paris" in page and "City, Sport" in page

    edit = client.get("/admin/settings/lists/morning")
    assert edit.status_code == 200 and 'value="daily 07:00"' in edit.text
    bad = post(client, "/admin/settings/lists/morning", {**LIST_FORM, "schedule": "weekly fri 7"})
    assert bad.status_code == 422 and "is not like &#39;daily 07:00&#39;" in bad.text
    saved = post(client, "/admin/settings/lists/morning", {**LIST_FORM, "title": "Morning", "schedule": "Weekly FRIDAY 7:30",
                                                           "timezone": "America/New_York", "categories": ""})
    assert saved.status_code == 303
    stored = subscribers.get_list(settings, "morning")
    assert (stored["title"], stored["schedule"], stored["timezone"], stored["categories"]) == (
        "Morning", "weekly fri 07:30", "America/New_York", [])
    missing = client.get("/admin/settings/lists/nope", follow_redirects=True)
    assert "no list named &#39;nope&#39;" in missing.text


# -- Social accounts ------------------------------------------------------------------------------


@pytest.fixture
def mastodon():
    server = FakeMastodon(token="m-secret-token").start()
    yield server
    server.stop()


def account_form(name: str, platform: str, **credentials) -> dict:
    return {"name": name, "platform": platform, "max_per_hour": "4", "min_gap_minutes": "10",
            "timezone": "Europe/Paris", "hashtags": "#news harbour", "campaign": "social",
            **{f"cred-{platform}-{k}": v for k, v in credentials.items()}}


def account_row(page: str, name: str) -> str:
    match = re.search(rf"<tr>\s*<td><strong>{re.escape(name)}</strong>.*?</tr>", page, re.S)
    assert match, f"no row for {name}"
    return text_of(match.group(0))


def test_accounts_added_checked_paused_and_secrets_never_shown(settings, mastodon):
    client = admin_client(settings)
    added = post(client, "/admin/settings/accounts", account_form(
        "gazette-masto", "mastodon", api_base_url=mastodon.base, access_token="m-secret-token"))
    assert added.status_code == 303
    broken = post(client, "/admin/settings/accounts", account_form(
        "broken-masto", "mastodon", api_base_url=mastodon.base, access_token="wrong-token-xyz"))
    assert broken.status_code == 303
    assert post(client, "/admin/settings/accounts", account_form("outbox", "telegram")).status_code == 303

    checked = post(client, "/admin/settings/accounts/check", {"name": "gazette-masto"})
    page = client.get(checked.headers["location"]).text
    assert "gazette-masto: credentials work (@pressbot)" in text_of(page)
    assert "active" in account_row(page, "gazette-masto")

    failed = post(client, "/admin/settings/accounts/check", {"name": "broken-masto"})
    page = client.get(failed.headers["location"]).text
    assert "broken-masto: the check failed" in text_of(page)
    row = account_row(page, "broken-masto")
    assert "needs attention" in row and "stored (encrypted)" in row

    outbox = post(client, "/admin/settings/accounts/check", {"name": "outbox"})
    assert "outbox: credentials work (outbox" in text_of(client.get(outbox.headers["location"]).text)

    post(client, "/admin/settings/accounts/pause", {"name": "gazette-masto"})
    page = client.get("/admin/settings/accounts").text
    assert "paused" in account_row(page, "gazette-masto") and "Resume" in account_row(page, "gazette-masto")
    assert [a["active"] for a in shares.list_accounts(settings) if a["name"] == "gazette-masto"] == [False]
    post(client, "/admin/settings/accounts/resume", {"name": "gazette-masto"})
    assert [a["active"] for a in shares.list_accounts(settings) if a["name"] == "gazette-masto"] == [True]

    page = client.get("/admin/settings/accounts").text
    assert "m-secret-token" not in page and "wrong-token-xyz" not in page
    assert "#news #harbour" in account_row(page, "gazette-masto")


def test_a_bad_account_form_is_shown_again_without_its_secrets(settings, mastodon):
    client = admin_client(settings)
    half = post(client, "/admin/settings/accounts", account_form(
        "half", "mastodon", api_base_url=mastodon.base, access_token=""))
    assert half.status_code == 422 and "missing access_token" in half.text
    quiet = post(client, "/admin/settings/accounts", {**account_form(
        "quiet", "mastodon", api_base_url=mastodon.base, access_token="s3cret-value"), "quiet": "late"})
    assert quiet.status_code == 422 and "quiet" in text_of(quiet.text)
    assert f'value="{mastodon.base}"' in quiet.text and "s3cret-value" not in quiet.text
    assert shares.list_accounts(settings) == []


# -- Editor users ---------------------------------------------------------------------------------


def test_an_added_editor_can_log_in_and_be_changed_or_disabled(settings):
    client = admin_client(settings)
    short = post(client, "/admin/settings/users", {"email": "new@example.com", "name": "New", "role": "editor",
                                                   "password": "short"})
    assert short.status_code == 422 and "too short" in short.text
    added = post(client, "/admin/settings/users", {"email": "New@Example.com", "name": "Nora New",
                                                   "role": "editor", "password": PASSWORD})
    assert added.status_code == 303
    assert "new@example.com may now log in as editor" in client.get(added.headers["location"]).text
    assert PASSWORD not in client.get("/admin/settings/users").text

    newcomer = client_for(settings)
    login(newcomer, "new@example.com")
    assert "Nora New (editor)" in newcomer.get("/admin/subscribers").text
    assert newcomer.get("/admin/settings/users").status_code == 403

    [user] = [u for u in editors.list_users(settings) if u["email"] == "new@example.com"]
    post(client, f"/admin/settings/users/{user['id']}/role", {"role": "admin"})
    assert newcomer.get("/admin/settings/users").status_code == 200
    disabled = post(client, f"/admin/settings/users/{user['id']}/active", {"active": "0"})
    assert "is disabled" in client.get(disabled.headers["location"]).text
    assert newcomer.get("/admin/settings/users", follow_redirects=False).status_code == 303   # logged out
    again = client_for(settings)
    page = again.get("/admin/login")
    refused = again.post("/admin/login", data={"email": "new@example.com", "password": PASSWORD,
                                               "csrf_token": csrf(again)}, follow_redirects=False)
    assert refused.status_code == 401 and page.status_code == 200
    post(client, f"/admin/settings/users/{user['id']}/active", {"active": "1"})
    login(client_for(settings), "new@example.com")


def test_the_last_admin_cannot_lock_everyone_out(settings):
    client = admin_client(settings)
    [me] = editors.list_users(settings)
    response = post(client, f"/admin/settings/users/{me['id']}/role", {"role": "editor"})
    assert "the only active admin" in client.get(response.headers["location"]).text
    post(client, f"/admin/settings/users/{me['id']}/active", {"active": "0"})
    assert editors.list_users(settings)[0]["role"] == "admin" and editors.list_users(settings)[0]["active"]

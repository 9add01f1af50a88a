"""Nothing under /admin or /api answers without a login or a token, forms need their CSRF
token, and the headers, cookie flags, login throttle and roles hold. The routes are
walked from the app itself, so a page added later is covered without touching this file."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import fastapi.routing
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.domain.articles import ArticleDraft
from bot.services import editors, share_edits, shares, subscribers
from bot.store.articles import store_drafts
from bot.store.db import session_scope
from bot.store.editors import Throttle
from bot.store.models import Source, SourceKind
from bot.web.app import SESSION_COOKIE, create_app
from bot.web.auth import account_key
from bot.web.security import api_admin, require_admin
from tests.support.web import PASSWORD, add_editor, client_for, login

# The schema and its docs page are public on purpose: they describe the API, hold no data.
PUBLIC = {"/api/openapi.json", "/api/docs"}
# The login page must answer a stranger (its POST is still walked: no CSRF token, 403).
LOGIN = ("GET", "/admin/login")
PROTECTED = ("/admin", "/api")
SENTINELS = {
    "email": "sentinel.reader@example.net",
    "title": "Sentinel harbour story 7431",
    "list": "Sentinel Gazette 5520",
    "post": "Sentinel post text 9902",
}
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def fill(path: str, value: str) -> str:
    return PARAM.sub(value, path)


def flat_routes(app) -> list:
    """Every route, with included routers opened up (recent FastAPI keeps them nested and
    flattens them on demand; older versions copy their routes into app.routes)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(flatten(app.routes)) if flatten else list(app.routes)


def routes(app, prefixes=PROTECTED):
    """(method, path template, route) for every route of the app under the prefixes."""
    found = []
    for route in flat_routes(app):
        if not getattr(route, "methods", None) or not str(route.path).startswith(prefixes):
            continue
        if route.path in PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            if (method, route.path) != LOGIN:
                found.append((method, route.path, route))
    return found


def walk(app, prefixes=PROTECTED):
    """Each route with its path parameters filled both ways: a number and a word."""
    for method, path, route in routes(app, prefixes):
        for value in ("1", "x"):
            yield method, fill(path, value), route
            if "{" not in path:
                break


def depends_on(dependant, wanted) -> bool:
    return any(d.call in wanted or depends_on(d, wanted) for d in dependant.dependencies)


@pytest.fixture
def seeded(settings):
    """One of everything, each with id 1 and a sentinel value a leak would show."""
    subscribers.add_list(settings, "morning", title=SENTINELS["list"], from_email="news@example.org",
                         from_name="Gazette")
    subscribers.add_confirmed(settings, SENTINELS["email"], "morning", name="Sentinel Reader")
    shares.add_account(settings, "gazette-x", "x")
    with session_scope(settings.effective_database_url) as s:
        source = Source(kind=SourceKind.FEED, url="test:feed", poll_interval=900, failure_count=0)
        s.add(source)
        s.flush()
        [stored] = store_drafts(s, source, [ArticleDraft(
            title=SENTINELS["title"], url="https://news.example.org/sentinel", guid="s1",
            summary="A summary.", categories=("City",), published=datetime.now(timezone.utc),
            language="en")])
        article_id = stored.article.id
    [post] = shares.schedule_share(settings, article_id, "gazette-x",
                                   at=datetime.now(timezone.utc) + timedelta(days=1))
    share_edits.edit_share(settings, post["id"], SENTINELS["post"])
    return settings


def assert_no_data(answer, where: str) -> None:
    for value in SENTINELS.values():
        assert value not in answer.text, f"{where} leaks {value!r}"


# -- Without a session or a token -----------------------------------------------------------------


def test_every_admin_and_api_route_refuses_a_stranger(seeded):
    app = create_app(seeded)
    walked = list(walk(app))
    paths = {path for _, path, _ in walked}
    # The walker must see the routes that exist now, or it proves nothing.
    assert {"/admin", "/admin/logout", "/api/articles", "/api/subscribers/1",
            "/api/hooks/articles"} <= paths
    client = TestClient(app)
    for method, path, _ in walked:
        answer = client.request(method, path, follow_redirects=False)
        where = f"{method} {path}"
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/admin/login"), where
        else:
            assert answer.status_code in (401, 403), f"{where}: {answer.status_code} {answer.text[:200]}"
        if path.startswith("/api/") and answer.status_code == 401 and "/hooks/" not in path:
            assert answer.headers["www-authenticate"] == "Bearer", where
        assert_no_data(answer, where)


def test_the_unsigned_webhook_is_401_and_stores_nothing(seeded):
    client = TestClient(create_app(seeded))
    body = json.dumps({"title": "Pushed", "url": "https://news.example.org/p",
                       "published": "2026-11-27T18:30:00+01:00"})
    answer = client.post("/api/hooks/articles", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    token = editors.create_token(seeded, add_editor(seeded, "editor@example.com"), "cms")
    titles = [a["title"] for a in client.get("/api/articles", headers={"Authorization": f"Bearer {token}"})
              .json()["items"]]
    assert titles == [SENTINELS["title"]]


def test_the_public_schema_has_no_data_and_declares_bearer_auth(seeded):
    client = TestClient(create_app(seeded))
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert_no_data(schema, "the OpenAPI schema")
    assert schema.json()["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API token from `pressbot tokens create EMAIL --name NAME`."}
    assert client.get("/api/docs").status_code == 200


# -- CSRF -----------------------------------------------------------------------------------------


def session_of(client: TestClient) -> dict:
    """The signed session cookie's payload (signed, not encrypted: readable, not forgeable)."""
    payload = client.cookies[SESSION_COOKIE].split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))


def test_logout_without_the_csrf_token_is_refused(settings):
    client = client_for(settings, login_as="editor@example.com")
    refused = client.post("/admin/logout", data={"next": "/admin"}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    still_in = client.get("/admin", follow_redirects=False)
    assert not still_in.headers["location"].startswith("/admin/login")

    forged = client.post("/admin/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    done = client.post("/admin/logout", data={"csrf_token": session_of(client)["csrf"]},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/login"


def test_every_admin_form_post_without_the_csrf_token_is_refused(seeded):
    client = client_for(seeded, login_as="admin@example.com", role="admin")
    unsafe = [(m, p) for m, p, _ in walk(client.app, ("/admin",)) if m in ("POST", "PUT", "PATCH", "DELETE")]
    assert ("POST", "/admin/logout") in unsafe
    for method, path in unsafe:
        answer = client.request(method, path, data={"anything": "1"}, follow_redirects=False)
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
    assert session_of(client).get("uid"), "a refused post must not have logged the editor out"


# -- Headers and cookies --------------------------------------------------------------------------


def public_page(app) -> str:
    """A public page without parameters (pages come and go; /healthz is always there)."""
    pages = sorted(r.path for r in flat_routes(app) if "GET" in (getattr(r, "methods", None) or ())
                   and "{" not in r.path and not r.path.startswith((*PROTECTED, "/static", "/docs")))
    return next((p for p in pages if p != "/healthz"), "/healthz")


def test_security_headers_on_login_a_public_page_and_the_api(settings):
    app = create_app(settings)
    client = TestClient(app)
    token = editors.create_token(settings, add_editor(settings, "editor@example.com"), "cms")
    answers = {
        "/admin/login": client.get("/admin/login"),
        public_page(app): client.get(public_page(app)),
        "/api/articles": client.get("/api/articles", headers={"Authorization": f"Bearer {token}"}),
        "/api/articles (401)": client.get("/api/articles"),
    }
    for where, answer in answers.items():
        assert answer.status_code < 500, where
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], where
        assert "script-src 'self'" in answer.headers["content-security-policy"], where
        assert answer.headers["x-content-type-options"] == "nosniff", where
        assert answer.headers["x-frame-options"] == "DENY", where
    assert answers["/api/articles"].headers["cache-control"] == "no-store"


def login_cookie(client: TestClient, email: str) -> str:
    page = client.get("/admin/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    [cookie] = [v for v in answer.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE + "=")]
    return cookie.lower()


def test_the_session_cookie_is_httponly_lax_and_not_secure_over_http(settings):
    add_editor(settings, "editor@example.com")
    cookie = login_cookie(TestClient(create_app(settings)), "editor@example.com")
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


def test_the_session_cookie_is_secure_when_the_site_is_https(settings):
    https = settings.model_copy(update={"base_url": "https://news.example.org"})
    add_editor(https, "editor@example.com")
    client = TestClient(create_app(https), base_url="https://testserver")
    cookie = login_cookie(client, "editor@example.com")
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


# -- Login throttling -----------------------------------------------------------------------------


def test_the_sixth_attempt_on_an_account_is_429_even_with_the_right_password(settings):
    email = add_editor(settings, "editor@example.com")
    client = TestClient(create_app(settings))

    def attempt(password: str):
        page = client.get("/admin/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return client.post("/admin/login", data={"email": email, "password": password, "csrf_token": csrf},
                           follow_redirects=False)

    assert [attempt(f"wrong password {i}").status_code for i in range(5)] == [401] * 5
    with session_scope(settings.effective_database_url) as s:
        row = s.scalar(select(Throttle).where(Throttle.key == account_key(email)))
        assert row is not None and row.hits == 5
    sixth = attempt(PASSWORD)
    assert sixth.status_code == 429
    assert int(sixth.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in sixth.headers.get("set-cookie", "") or "uid" not in session_of(client)
    assert attempt("wrong again").status_code == 429
    # Another account is not locked by this one's guesses.
    other = add_editor(settings, "other@example.com")
    fresh = TestClient(create_app(settings))
    login(fresh, other)


# -- Roles ----------------------------------------------------------------------------------------


def test_an_editor_gets_403_on_every_admin_only_route(seeded):
    app = create_app(seeded)
    admin_only = [(m, fill(p, "1"), r) for m, p, r in routes(app)
                  if depends_on(r.dependant, {require_admin, api_admin})]
    assert ("POST", "/api/lists") in [(m, p) for m, p, _ in admin_only]
    editor = client_for(seeded, login_as="editor@example.com")
    token = editors.create_token(seeded, "editor@example.com", "cms")
    for method, path, _ in admin_only:
        if path.startswith("/api/"):
            answer = editor.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                    follow_redirects=False)
        else:
            answer = editor.request(method, path, headers={"X-CSRF-Token": session_of(editor)["csrf"]},
                                    follow_redirects=False)
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
        assert_no_data(answer, f"{method} {path}")

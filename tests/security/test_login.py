"""Password guessing cannot dodge the lock by writing the address another way, odd input
is refused like any wrong login, and logging out ends the session on the server: a copy
of the cookie saved before is worthless."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.store.db import session_scope
from bot.store.editors import EditorSession
from bot.store.models import utcnow
from bot.web.app import SESSION_COOKIE, create_app
from tests.support.web import PASSWORD, add_editor, csrf_from, login

ADMIN = "admin@example.org"
PAGE = "/admin/calendar"


def attempt(client: TestClient, email: str, password: str):
    token = csrf_from(client.get("/admin/login").text)
    return client.post("/admin/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


@pytest.mark.parametrize("spelling", ["admin@example．org", "admin@ｅｘａｍｐｌｅ.org", "ADMIN@Example.ORG",
                                      "  admin@example.org "])
def test_the_account_lock_holds_however_the_address_is_written(settings, spelling):
    add_editor(settings, ADMIN, "admin")
    client = TestClient(create_app(settings))
    assert [attempt(client, ADMIN, f"guess {i}").status_code for i in range(5)] == [401] * 5
    # Right password, same account written another way: still locked, no session.
    locked = attempt(client, spelling, PASSWORD)
    assert locked.status_code == 429, locked.text[:300]
    assert client.get("/admin", follow_redirects=False).headers["location"].startswith("/admin/login")


@pytest.mark.parametrize("email", ["a" * 400 + "@example.org", "x" * 5000, "\x00@example.org",
                                   "admin@" + "b" * 300 + ".org"])
def test_absurd_addresses_are_a_normal_refusal(settings, email):
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    for _ in range(6):
        response = attempt(client, email, "whatever it is")
        assert response.status_code in (401, 429), response.text[:300]
    assert response.status_code == 429   # counted against that "account" like any other


def test_logout_ends_the_session_for_every_copy_of_the_cookie(settings):
    add_editor(settings, ADMIN, "admin")
    browser = TestClient(create_app(settings))
    login(browser, ADMIN)
    saved = browser.cookies[SESSION_COOKIE]      # what a thief (or a shared computer) keeps
    assert browser.get(PAGE, follow_redirects=False).status_code == 200
    token = csrf_from(browser.get(PAGE).text)   # the logout button's form
    assert browser.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303

    thief = TestClient(create_app(settings))
    thief.cookies.set(SESSION_COOKIE, saved)
    answer = thief.get(PAGE, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


def test_an_expired_session_row_is_refused(settings):
    add_editor(settings, ADMIN, "admin")
    browser = TestClient(create_app(settings))
    login(browser, ADMIN)
    assert browser.get(PAGE, follow_redirects=False).status_code == 200
    with session_scope(settings.effective_database_url) as s:
        s.execute(update(EditorSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert browser.get(PAGE, follow_redirects=False).status_code == 303

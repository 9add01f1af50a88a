"""Helpers for web tests: an editor in the database, a logged-in TestClient, and the CSRF
token of a page (read from the page, as a browser would)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bot.services import editors
from bot.web.app import create_app

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_editor(settings, email: str = "editor@example.com", role: str = "editor") -> str:
    editors.add_user(settings, email, PASSWORD, role=role, name=email.split("@")[0].title())
    return email


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def client_for(settings, *, login_as: str | None = None, role: str = "editor") -> TestClient:
    """A TestClient on a fresh app; logged in (through the login form) when asked."""
    client = TestClient(create_app(settings))
    if login_as:
        add_editor(settings, login_as, role)
        login(client, login_as)
    return client


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/admin/login")
    response = client.post("/admin/login", data={"email": email, "password": password,
                                                 "csrf_token": csrf_from(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf(client: TestClient, path: str = "/admin/login") -> str:
    """The session's CSRF token, from any page that has a form."""
    return csrf_from(client.get(path).text)

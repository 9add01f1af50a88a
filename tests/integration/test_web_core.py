"""What every page shares: error pages for people and JSON for programs, the root
redirect, and the API docs page's own CSP."""

from __future__ import annotations

from tests.support.web import client_for

HTML = {"accept": "text/html,application/xhtml+xml"}


def test_a_rejected_form_tells_a_person_why_in_a_page(sqlite_settings):
    client = client_for(sqlite_settings)
    page = client.post("/subscribe", data={"email": "reader@example.net"}, headers=HTML)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "Not allowed" in page.text and "CSRF token" in page.text
    assert "content-security-policy" in page.headers


def test_programs_still_get_json_errors(sqlite_settings):
    client = client_for(sqlite_settings)
    answer = client.post("/subscribe", data={"email": "reader@example.net"})
    assert answer.status_code == 403 and "CSRF token" in answer.json()["detail"]
    api = client.get("/api/articles", headers=HTML)
    assert api.status_code == 401 and api.headers["content-type"] == "application/json"


def test_unknown_pages_are_a_page_too(sqlite_settings):
    page = client_for(sqlite_settings).get("/no/such/page", headers=HTML)
    assert page.status_code == 404 and "Not found" in page.text


def test_the_root_sends_readers_to_the_sign_up(sqlite_settings):
    answer = client_for(sqlite_settings).get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/subscribe"


def test_the_api_docs_may_load_swagger_but_nothing_else_may(sqlite_settings):
    client = client_for(sqlite_settings)
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert client.get("/docs/oauth2-redirect").status_code == 404  # no OAuth2 flow to finish
    login = client.get("/admin/login")
    assert "jsdelivr" not in login.headers["content-security-policy"]
    assert "script-src 'self'" in login.headers["content-security-policy"]

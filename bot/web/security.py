"""Who may see what: session logins for the dashboard, bearer tokens for /api, CSRF tokens
on every form, and the security headers every response carries.

Sessions are Starlette's signed cookie (itsdangerous) holding a random session id (its
sha256 is a row in editor_sessions: logout deletes it), the editor's id and the CSRF
token; nothing else. The cookie is HttpOnly,
SameSite=Lax, and Secure when the site's base URL is https."""

from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import URL

from bot.services.editors import Editor, end_session, session_editor, start_session, token_editor

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# What every page may load: its own scripts and styles only, images from anywhere over
# https (article images in previews), and nobody may frame it.
DEFAULT_CSP = ("default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
               "script-src 'self'; connect-src 'self'; form-action 'self'; "
               "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
# The rendered email inside the dashboard's sandboxed frame: inline styles (premailer's
# output), remote images, no scripts at all, framed only by our own pages.
# FastAPI's /api/docs page is Swagger UI from jsDelivr with an inline bootstrap script.
API_DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
                "style-src https://cdn.jsdelivr.net; img-src https://fastapi.tiangolo.com data:; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
EMAIL_FRAME_CSP = ("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
                   "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


class LoginRequired(Exception):
    """Raised by `require_editor`; the app answers with a redirect to the login page."""

    def __init__(self, next_url: str):
        self.next_url = next_url


def settings_of(request: Request):
    return request.app.state.settings


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def verify_csrf(request: Request) -> None:
    """A dependency for routers with forms: an unsafe request must carry the session's
    token, as the form field `csrf_token` or the `X-CSRF-Token` header (fetch calls)."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "This form has expired or did not come from this site "
                                 "(missing or wrong CSRF token). Reload the page and try again.")


def current_editor(request: Request) -> Editor | None:
    """The logged-in editor, or None. Looked up once per request."""
    if not hasattr(request.state, "editor"):
        editor = None
        sid = request.session.get("sid")
        if isinstance(sid, str):
            editor = session_editor(settings_of(request), sid)
        request.state.editor = editor
    return request.state.editor


def login(request: Request, editor: Editor) -> None:
    """Start a session (a row in the database; the cookie carries its random id) with a
    fresh CSRF token too, so one fixed before login is useless."""
    request.session.clear()
    request.session.update({"sid": start_session(settings_of(request), editor.id), "uid": editor.id,
                            "csrf": secrets.token_urlsafe(32)})
    request.state.editor = editor


def logout(request: Request) -> None:
    """End the session on the server too: a copy of the cookie saved before is useless."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        end_session(settings_of(request), sid)
    request.session.clear()
    request.state.editor = None


def require_editor(request: Request) -> Editor:
    editor = current_editor(request)
    if editor is None:
        target = URL(str(request.url)).path
        if request.url.query:
            target += "?" + request.url.query
        raise LoginRequired(target if request.method == "GET" else "/admin")
    return editor


def require_admin(editor: Editor = Depends(require_editor)) -> Editor:
    if not editor.is_admin:
        raise HTTPException(403, "Only an admin may change settings, users and accounts.")
    return editor


def api_editor(request: Request) -> Editor:
    """The editor a bearer token belongs to; 401 otherwise. The API takes no cookies, so
    a page on another site cannot make a logged-in browser call it (no CSRF to guard)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    editor = None
    if scheme.lower() == "bearer" and token.strip():
        editor = token_editor(settings_of(request), token.strip())
    if editor is None:
        raise HTTPException(401, "a valid API token is required: `Authorization: Bearer <token>` "
                                 "(create one with `pressbot tokens create`)",
                            headers={"WWW-Authenticate": "Bearer"})
    return editor


def api_admin(editor: Editor = Depends(api_editor)) -> Editor:
    if not editor.is_admin:
        raise HTTPException(403, "this needs an admin's token")
    return editor


def security_headers(path: str, headers) -> None:
    """Fill in the headers a response did not set itself (a route may set a looser CSP
    for the email frame)."""
    headers.setdefault("content-security-policy",
                       API_DOCS_CSP if path == "/api/docs" else DEFAULT_CSP)
    headers.setdefault("x-frame-options", "DENY")
    headers.setdefault("x-content-type-options", "nosniff")
    # Token links (confirm, unsubscribe, preferences) must not leak through Referer.
    headers.setdefault("referrer-policy", "no-referrer")
    if path.startswith(("/admin", "/api", "/confirm", "/unsubscribe", "/preferences")):
        headers.setdefault("cache-control", "no-store")

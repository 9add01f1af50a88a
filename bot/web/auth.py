"""Logging in and out of the dashboard, with throttled password guessing.

The login page has no editor yet to take a language from, so it speaks the way the public
pages do (bot.web.i18n.negotiate): ?lang= first (its language links), then the browser's
Accept-Language among en/fr/ar, then English, the dashboard's own default."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from bot.services import editors, throttle
from bot.web.i18n import LANGUAGES, MESSAGES, Translator, negotiate
from bot.web.security import current_editor, login, logout, settings_of, verify_csrf
from bot.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)])

# Five wrong passwords per address, or twenty per client address, in fifteen minutes.
WINDOW = timedelta(minutes=15)
PER_ACCOUNT, PER_CLIENT = 5, 20


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no //host or scheme): no open redirect after login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


def account_key(email: str) -> str:
    """The throttle key of the account an attempt is for: the address as authentication
    normalises it, hashed (any length of input makes a key that fits; no address stored)."""
    return "login:account:" + hashlib.sha256(editors.login_identity(email).encode()).hexdigest()


def _keys(request: Request, email: str) -> list[tuple[str, int]]:
    client = request.client.host if request.client else "unknown"
    return [(account_key(email), PER_ACCOUNT), (f"login:client:{client}", PER_CLIENT)]


def _login_page(request: Request, t: Translator, next: str | None, email: str = "", *,
                error: str | None = None, status_code: int = 200, headers: dict | None = None):
    """The form, in `t`'s language, with links to it in the others. A language picked with
    ?lang= is kept on the form's address, so an error after posting speaks it too."""
    target = _safe_next(next)
    links = [{"lang": lang, "name": MESSAGES[lang]["language_name"], "current": lang == t.lang,
              "url": "/admin/login?" + urlencode({"next": target, "lang": lang})}
             for lang in LANGUAGES]
    asked = request.query_params.get("lang")
    action = "/admin/login" + (f"?lang={asked}" if asked in LANGUAGES else "")
    return render(request, "admin/login.html",
                  {"next": target, "email": email, "error": error, "action": action,
                   "language_links": links},
                  translator=t, status_code=status_code, headers=headers)


@router.get("/admin/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    if current_editor(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, negotiate(request), next)


@router.post("/admin/login", include_in_schema=False)
def login_submit(request: Request, email: str = Form(""), password: str = Form(""),
                 next: str = Form("/admin")):
    settings = settings_of(request)
    t = negotiate(request)
    keys = _keys(request, email)
    wait = max(throttle.blocked(settings, key, limit=limit, window=WINDOW) for key, limit in keys)
    if wait:
        minutes = max(1, round(wait / 60))
        return _login_page(request, t, next, email, error=t("a.login_too_many", minutes=minutes),
                           status_code=429, headers={"Retry-After": str(wait)})
    editor = editors.authenticate(settings, email, password)
    if editor is None:
        for key, limit in keys:
            throttle.hit(settings, key, limit=limit, window=WINDOW)
        return _login_page(request, t, next, email, error=t("a.login_wrong"), status_code=401)
    throttle.clear(settings, keys[0][0])
    login(request, editor)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/admin/logout", include_in_schema=False)
def logout_submit(request: Request):
    logout(request)
    return RedirectResponse("/admin/login", status_code=303)

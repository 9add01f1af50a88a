"""Rendering the web pages: one Jinja environment over templates/web, with what every
page needs (the editor, the CSRF token, flash messages, times in the site's zone)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates

from bot import resources
from bot.errors import BadInput
from bot.web.i18n import Translator
from bot.web.security import CSRF_FIELD, csrf_token, current_editor


@lru_cache(maxsize=8)
def templates_for(dirs: tuple[Path, ...]) -> Jinja2Templates:
    """The page templates: web/ in each of `dirs` (settings.template_dirs: the newsroom's
    PRESSBOT_TEMPLATES first, then the defaults), built once per layering."""
    env = jinja2.Environment(loader=resources.loader(dirs, "web"), autoescape=jinja2.select_autoescape())
    return Jinja2Templates(env=env)


def zone_name(request: Request) -> str:
    """The time zone the dashboard shows and reads times in: the logged-in editor's own
    (issue 14), else the site's (PRESSBOT_TIMEZONE)."""
    editor = current_editor(request)
    return (editor.timezone if editor else None) or request.app.state.settings.timezone or "UTC"


def _zone(request: Request) -> ZoneInfo:
    try:
        return ZoneInfo(zone_name(request))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def admin_translator(request: Request) -> Translator:
    """The dashboard's words in the logged-in editor's language (English before login)."""
    editor = current_editor(request)
    return Translator((editor.language if editor else None) or "en")


def local_time(value: datetime | str | None, request: Request, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the reader of the page reads it: in the editor's time zone
    (the site's on public pages and for editors who chose none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(_zone(request)).strftime(fmt)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once, on the next page (after a POST's redirect)."""
    request.session.setdefault("flash", [])
    request.session["flash"] = request.session["flash"] + [[kind, message]]


@contextmanager
def refused(request: Request, prefix: str):
    """For an action that flashes its outcome and redirects: a BadInput inside the block
    becomes an error flash ("<prefix>: <reason>") and the rest of the block is skipped."""
    try:
        yield
    except BadInput as exc:
        flash(request, f"{prefix}: {exc}", "error")


def _take_flashes(request: Request) -> list[list[str]]:
    return request.session.pop("flash", []) if "flash" in request.session else []


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200,
           translator: Translator | None = None, headers: dict | None = None):
    settings = request.app.state.settings
    ctx = {
        "request": request,
        "site_name": settings.site_name,
        "site_timezone": settings.timezone,
        "editor_timezone": zone_name(request),
        "editor": current_editor(request),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "flashes": _take_flashes(request),
        "local_time": lambda value, fmt="%Y-%m-%d %H:%M": local_time(value, request, fmt),
        "t": translator or admin_translator(request),
    }
    ctx.update(context or {})
    pages = templates_for(tuple(settings.template_dirs))
    return pages.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)

"""Dashboard page: "My account", where an editor picks the dashboard's language and the
time zone it shows and reads times in (issue 14). Any editor, for themselves only."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from bot.errors import BadInput
from bot.services import editors
from bot.web.i18n import LANGUAGES, MESSAGES
from bot.web.security import current_editor, settings_of
from bot.web.templating import admin_translator, flash, render

router = APIRouter()


def _page(request: Request, *, error: str | None = None, language: str | None = None,
          timezone: str | None = None, status_code: int = 200):
    editor = current_editor(request)
    return render(request, "admin/account.html", {
        "error": error,
        "languages": [(code, MESSAGES[code]["language_name"]) for code in LANGUAGES],
        "chosen_language": (editor.language or "") if language is None else language,
        "chosen_timezone": (editor.timezone or "") if timezone is None else timezone,
        "site_zone": settings_of(request).timezone or "UTC",
    }, status_code=status_code)


@router.get("/account")
def account(request: Request):
    return _page(request)


@router.post("/account")
def save_account(request: Request, language: str = Form(""), timezone: str = Form("")):
    editor = current_editor(request)
    try:
        updated = editors.set_preferences(settings_of(request), editor.id,
                                          language=language.strip(), timezone=timezone.strip())
    except BadInput as exc:
        # The page again with what was typed, so nothing is lost, and the reason.
        t = admin_translator(request)
        return _page(request, error=t("a.account_not_saved", reason=str(exc)),
                     language=language, timezone=timezone, status_code=422)
    request.state.editor = updated   # the flash below in the newly chosen language
    flash(request, admin_translator(request)("a.account_saved"))
    return RedirectResponse("/admin/account", status_code=303)

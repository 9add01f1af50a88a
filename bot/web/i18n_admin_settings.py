"""More of the dashboard's words (issue 14), merged like bot/web/i18n_admin.ADMIN: keys start
"a.", values are `str.format` patterns without markup, every key in en, fr and ar.
This part: settings, subscribers, failures, login, account and the shared partials."""

from __future__ import annotations

ADMIN_SETTINGS: dict[str, dict[str, str]] = {
    "en": {},
    "fr": {},
    "ar": {},
}

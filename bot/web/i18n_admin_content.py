"""More of the dashboard's words (issue 14), merged like bot/web/i18n_admin.ADMIN: keys start
"a.", values are `str.format` patterns without markup, every key in en, fr and ar.
This part: articles, article reach, calendar, editions and campaigns."""

from __future__ import annotations

ADMIN_CONTENT: dict[str, dict[str, str]] = {
    "en": {},
    "fr": {},
    "ar": {},
}

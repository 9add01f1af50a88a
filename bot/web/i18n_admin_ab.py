"""More of the dashboard's words (issue 14), merged like bot/web/i18n_admin.ADMIN: keys start
"a.", values are `str.format` patterns without markup, every key in en, fr and ar.
This part: the A/B subject test of campaigns (form fields, the edition page's results)."""

from __future__ import annotations

ADMIN_AB: dict[str, dict[str, str]] = {
    "en": {},
    "fr": {},
    "ar": {},
}

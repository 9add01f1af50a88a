"""The words of the public pages (subscribe, confirm, unsubscribe, preferences, archive),
per language, like bot/newsletter/catalogue.py for the emails: a small catalogue rather
than a gettext toolchain. The dashboard is for the newsroom and stays in English.

Values are `str.format` patterns filled in by the templates (then HTML-escaped), so none
may contain markup."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

LANGUAGES = ("en", "fr", "ar")
RTL = {"ar"}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English",
    },
    "fr": {
        "language_name": "Français",
    },
    "ar": {
        "language_name": "العربية",
    },
}


@dataclass(frozen=True)
class Translator:
    lang: str

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def __call__(self, key: str, **values) -> str:
        pattern = MESSAGES[self.lang].get(key) or MESSAGES["en"].get(key) or key
        return pattern.format(**values) if values else pattern


def negotiate(request: Request, preferred: str | None = None) -> Translator:
    """?lang= first (the language switcher), then a language the page already knows (the
    subscriber's or the list's), then the browser's Accept-Language, then English."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return Translator(asked)
    if preferred:
        base = preferred.split("-")[0].lower()
        if base in LANGUAGES:
            return Translator(base)
    for lang, _q in _accept_language(request.headers.get("accept-language", "")):
        if lang in LANGUAGES:
            return Translator(lang)
    return Translator("en")


def _accept_language(header: str) -> list[tuple[str, float]]:
    ranked = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((tag.split("-")[0].lower(), q))
    return sorted(ranked, key=lambda item: -item[1])

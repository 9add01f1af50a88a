"""A list's look and reach, checked: brand (logo, colour, footer with the postal address,
copyright holder), the languages of the articles it takes, its named sections.

Kept apart from the list's sending settings so that changing one of these (`lists add`
and `lists set` options, the API) never resets the others: only the fields given are
checked and changed. Empty values mean "the site's default" (brand) or "all" (languages)
or "by category" (sections), and are stored as NULL.
"""

from __future__ import annotations

from typing import Any, Iterable

from bot.errors import BadInput
from bot.newsletter import brand

LOOK_FIELDS = ("logo_url", "brand_color", "footer_text", "copyright_holder", "languages", "sections")
FOOTER_LIMIT = 1000


def check_look(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` (a subset of LOOK_FIELDS; None values are left out), checked and in
    normal form; BadInput names the option at fault."""
    from bot.services.subscribers import check_language, clean_topics

    unknown = set(changes) - set(LOOK_FIELDS)
    if unknown:
        raise BadInput(f"unknown list settings: {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        if key == "logo_url":
            checked[key] = brand.check_logo_url(value, "--logo-url")
        elif key == "brand_color":
            checked[key] = brand.check_color(value, "--brand-color")
        elif key == "footer_text":
            checked[key] = brand.check_text(value, "--footer", FOOTER_LIMIT)
        elif key == "copyright_holder":
            checked[key] = brand.check_text(value, "--copyright", 200)
        elif key == "languages":
            codes = [check_language(code, "--only-language") for code in _items(value)]
            checked[key] = list(dict.fromkeys(codes)) or None
        elif key == "sections":
            checked[key] = clean_topics(_items(value)) or None
    return checked


def _items(value: Iterable[str] | str) -> list[str]:
    """Repeated options, or one comma-separated value ("en,fr")."""
    values = [value] if isinstance(value, str) else list(value)
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def look_json(mlist: Any) -> dict[str, Any]:
    return {key: getattr(mlist, key) for key in LOOK_FIELDS}

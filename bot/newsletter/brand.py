"""A list's brand in its emails: masthead image, colour, footer with the postal address,
copyright line. Pure: the list's own values over the site's defaults, checked and made
safe to put into a style attribute.

The brand colour colours links, the kicker, rules and buttons on a white card. A colour a
newsroom picks for its logo is often too light to read as text on white (yellow, sky
blue), so the text colour is the brand colour darkened until it reaches WCAG AA contrast
(4.5:1); rules and button backgrounds keep the colour as chosen, and the button's label
is white or near-black, whichever reads better on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import BadInput

DEFAULT_COLOR = "#1a5fb4"
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_WHITE, _INK = "#ffffff", "#1f2328"
AA_CONTRAST = 4.5


def check_color(value: str | None, field: str = "--brand-color") -> str | None:
    """'#rrggbb' (lower case) from '#RGB', 'rgb' or '#rrggbb'; None for empty; BadInput else."""
    value = (value or "").strip()
    if not value:
        return None
    match = _HEX.match(value)
    if not match:
        raise BadInput(f"{field}: {value!r} is not a colour like #1a5fb4")
    digits = match[1].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def check_logo_url(value: str | None, field: str = "--logo-url") -> str | None:
    """An absolute http(s) image URL (mail clients block other schemes), or None."""
    value = (value or "").strip()
    if not value:
        return None
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value, re.I) or any(c in value for c in "<>\"'"):
        raise BadInput(f"{field}: {value!r} is not an http(s) URL of an image")
    return value


def check_text(value: str | None, field: str, limit: int) -> str | None:
    """Footer text: lines kept (an address has several), control characters refused."""
    value = (value or "").replace("\r\n", "\n").strip()
    if not value:
        return None
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
        raise BadInput(f"{field}: control characters are not allowed")
    if len(value) > limit:
        raise BadInput(f"{field}: {len(value)} characters, at most {limit}")
    return "\n".join(" ".join(line.split()) for line in value.split("\n") if line.strip())


def _luminance(color: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on_white(color: str) -> str:
    """`color`, darkened in steps of 5 % until it reads on white (AA)."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    while contrast(color, _WHITE) < AA_CONTRAST:
        r, g, b = (int(c * 0.95) for c in (r, g, b))
        color = f"#{r:02x}{g:02x}{b:02x}"
    return color


@dataclass(frozen=True)
class Brand:
    """What the templates use: `color` for rules and button backgrounds, `text_color` for
    links and the kicker, `on_color` for a button's label."""

    logo_url: str | None
    color: str
    text_color: str
    on_color: str
    footer_lines: tuple[str, ...]   # publisher and postal address, one line each
    copyright_holder: str


def resolve(mlist: Any, site: Any) -> Brand:
    """The list's brand values where it has them, else the site's (both already checked
    when they were stored; checked again here because settings come from the environment,
    and a bad value there must not break every digest: it falls back to the default)."""
    def pick(own: str | None, default: str | None) -> str | None:
        return own if own else default

    try:
        color = check_color(pick(getattr(mlist, "brand_color", None), site.brand_color)) or DEFAULT_COLOR
    except BadInput:
        color = DEFAULT_COLOR
    try:
        logo = check_logo_url(pick(getattr(mlist, "logo_url", None), site.brand_logo_url))
    except BadInput:
        logo = None
    footer = pick(getattr(mlist, "footer_text", None), site.brand_footer) or ""
    holder = pick(getattr(mlist, "copyright_holder", None), site.brand_copyright) or site.site_name
    on = _WHITE if contrast(color, _WHITE) >= contrast(color, _INK) else _INK
    return Brand(logo_url=logo, color=color, text_color=readable_on_white(color), on_color=on,
                 footer_lines=tuple(line.strip() for line in footer.splitlines() if line.strip()),
                 copyright_holder=" ".join(str(holder).split()))

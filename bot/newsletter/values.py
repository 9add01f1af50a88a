"""Plain values for the email templates: text, languages and directions, URLs, dates,
bidirectional isolation. Pure functions, shared by the renderer and the digest's view.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton

MARKER = "%%PB:"
RTL_LANGUAGES = frozenset({"ar", "he", "iw", "fa", "ur", "ps", "yi", "ckb", "dv", "sd", "ug"})
# Unicode's first-strong isolate and its pop (UAX #9): the plain-text counterpart of <bdi>.
FSI, PDI = "\u2068", "\u2069"
_UTM_OURS = ("utm_source", "utm_medium", "utm_campaign")
# Characters legal in a URI as they are; others (spaces, quotes, non-ASCII) get encoded.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
# A "%" not starting an escape makes the URL invalid, and could start a placeholder.
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ASCII_SPACE = re.compile(r"\s+", re.ASCII)


def defuse(text: str) -> str:
    """Content must not be able to smuggle in a placeholder (and get, say, the recipient's
    unsubscribe link): break the marker with an invisible zero-width non-joiner."""
    return text.replace(MARKER, "%%PB\u200c:")


def plain(value: Any) -> str:
    """One paragraph of plain text: control characters out (lxml refuses some), runs of
    ASCII white space as one space; no-break spaces stay (French typography needs them)."""
    text = _CONTROLS.sub("", str(value or ""))
    return defuse(_ASCII_SPACE.sub(" ", text).strip())


def language(code: str | None) -> str:
    return (code or "en").replace("_", "-").split("-")[0].lower() or "en"


def locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def direction(code: str) -> str:
    return "rtl" if language(code) in RTL_LANGUAGES else "ltr"


def isolate(text: str) -> str:
    """`text` as a directional island for plain text (FSI … PDI), so a date or a number
    inside a line of the other direction keeps its own order ("14 يوليو 2026" in an
    English line, "Jul 14, 2026" in an Arabic one). HTML uses <bdi> instead."""
    return f"{FSI}{text}{PDI}" if text else ""


def http_url(url: Any) -> str | None:
    """An http(s) URL with a valid escape syntax, or None (no javascript:, data:, …)."""
    url = str(url or "").strip()
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return _BARE_PERCENT.sub("%25", quote(url, safe=_URI_SAFE))


def tag_url(url: Any, campaign: str) -> str | None:
    """`url` with utm_source=newsletter, utm_medium=email, utm_campaign=<campaign>; the
    URL's own query is kept in order, except earlier values of these three."""
    clean = http_url(url)
    if clean is None:
        return None
    parts = urlsplit(clean)
    kept = [segment for segment in parts.query.split("&")
            if segment and unquote_plus(segment.split("=", 1)[0]).lower() not in _UTM_OURS]
    kept += ["utm_source=newsletter", "utm_medium=email",
             "utm_campaign=" + quote(campaign, safe="")]
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", "&".join(kept),
                       parts.fragment))


def local_day(value: Any, tz: ZoneInfo) -> date | None:
    """An ISO date or date-time as a date in `tz` (a time of day without a zone is UTC:
    DESIGN principle 8); None when it is missing or not ISO."""
    if not value:
        return None
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) > 10:
        parsed = parsed.replace(tzinfo=parsed.tzinfo or timezone.utc).astimezone(tz)
    return parsed.date()


def short_date(day: date | None, loc: Locale) -> str:
    """"Jul 14, 2026", "14 juil. 2026", "14 يوليو 2026": the month as a word in every
    language. CLDR's numeric medium Arabic date ("14‏/07‏/2026") carries right-to-left
    marks that scramble it inside a left-to-right line."""
    return format_skeleton("yMMMd", day, locale=loc) if day else ""

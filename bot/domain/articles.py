"""Articles as plain data, and the pure rules that normalise and identify them."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@dataclass(frozen=True)
class ArticleDraft:
    """An article as a source gave it, before it meets the database.

    `body_html` is already sanitised; `title` and `summary` are plain text.
    """

    title: str
    url: str | None = None
    guid: str | None = None
    summary: str = ""
    body_html: str = ""
    image: str | None = None
    author: str | None = None
    language: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None

    def with_(self, **changes) -> "ArticleDraft":
        return replace(self, **changes)


@dataclass(frozen=True)
class Rejection:
    """An item that could not be ingested, and where it was."""

    where: str   # e.g. "feed.xml item 3", "a.html"
    reason: str


@dataclass
class ParseResult:
    """What a parser made of one document: the good items and the rejected ones."""

    drafts: list[ArticleDraft] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    title: str | None = None        # the feed's or site's title
    language: str | None = None     # the feed's declared language
    warnings: list[str] = field(default_factory=list)


# -- URLs ---------------------------------------------------------------------------------

# Tracking parameters that never change which page a URL names.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid"})


def canonical_url(url: str | None) -> str | None:
    """The URL that identifies an article: tracking parameters and fragment gone, scheme and
    host lower-cased, default ports dropped; every other query parameter kept in order."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    port = parts.port if parts.port not in (None, 80 if scheme == "http" else 443) else None
    # Credentials (user:pass@) are dropped: they never belong in an article's identity.
    netloc = host if port is None else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def is_http_url(url: str | None) -> bool:
    return canonical_url(url) is not None


# -- Text ---------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")


def clean_title(raw: str | None) -> str:
    """A title as plain text: tags stripped, entities decoded exactly once, whitespace
    folded, NFC. `&amp;lt;` stays the literal text `&lt;`: decoding twice would turn
    text an editor wrote into markup."""
    if not raw:
        return ""
    text = _TAG.sub(" ", raw)
    text = html.unescape(text)
    text = _WS.sub(" ", text).strip()
    return unicodedata.normalize("NFC", text)


def plain_text(fragment: str | None) -> str:
    """Text of an HTML fragment, whitespace folded (for summaries and hashing)."""
    return clean_title(fragment)


# Summaries are for digests and share posts; longer than this they stop being a summary.
SUMMARY_MAX = 400


def summarize(description: str | None, body_html: str | None, limit: int = SUMMARY_MAX) -> str:
    """The description when there is one, else the lead paragraph of the body, cut at a
    word boundary with an ellipsis when it is longer than `limit` characters."""
    text = plain_text(description)
    if not text and body_html:
        for para in re.findall(r"<p\b[^>]*>(.*?)</p>", body_html, flags=re.S | re.I):
            text = plain_text(para)
            if text:
                break
        if not text:
            text = plain_text(body_html)
    return truncate_words(text, limit)


def truncate_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—") + "…"


def clean_categories(raw: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Categories as written (any script), plain text, blanks and repeats dropped."""
    seen: dict[str, str] = {}
    for item in raw or ():
        name = clean_title(item)
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return tuple(seen.values())


# -- Identity ---------------------------------------------------------------------------------


def content_hash(draft: ArticleDraft) -> str:
    """A fingerprint of what a reader sees, so a re-poll can tell unchanged from updated.
    Whitespace and markup differences that change nothing visible do not change it."""
    h = hashlib.sha256()
    for part in (draft.title, plain_text(draft.body_html) or draft.summary, draft.image or ""):
        h.update(_WS.sub(" ", part).strip().encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def to_utc(value: datetime | None) -> datetime | None:
    """UTC inside (DESIGN principle 8); a naive time is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

"""Articles as plain data, and the pure rules that normalise and identify them."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import unquote_plus, urlsplit, urlunsplit


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
    image_alt: str | None = None   # the image's own description (alt text or caption)
    author: str | None = None
    language: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    # False once finalize_draft had to date an undated item with the time it was first seen.
    published_known: bool = True

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

# Tracking parameters that never change which page a URL names (exact names, lower case);
# every `utm_*` goes too.
_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "vero_id",
    "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "wt.mc_id", "ncid", "cmpid",
})


def canonical_url(url: str | None) -> str | None:
    """The URL that identifies an article: tracking parameters and fragment gone, scheme and
    host lower-cased, default ports dropped. Everything else is kept byte for byte: a query
    is split on `&` only to look at each parameter's name, never decoded and re-encoded
    (`?rss` stays `?rss`, `a=1:2` stays `a=1:2`, `;` and order untouched)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    port = port if port not in (None, 80 if scheme == "http" else 443) else None
    # Credentials (user:pass@) are dropped: they never belong in an article's identity.
    netloc = host if port is None else f"{host}:{port}"
    pieces = parts.query.split("&")
    kept = [p for p in pieces if not _is_tracking(p)]
    query = parts.query if len(kept) == len(pieces) else "&".join(p for p in kept if p)
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(parameter: str) -> bool:
    name = unquote_plus(parameter.split("=", 1)[0]).strip().lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def is_http_url(url: str | None) -> bool:
    return canonical_url(url) is not None


# -- Text ---------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")
# Elements whose text is code or styling, never reading matter: dropped with their content.
_INVISIBLE = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?(?:</\1\s*>|\Z)",
                        re.I | re.S)
# Tags that separate words when rendered; any other tag (sup, b, a, span...) sits inside a
# word as often as between two, so it leaves nothing behind: ft<sup>2</sup> is "ft2".
_BREAKING_TAG = re.compile(
    r"</?(?:address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]"
    r"|header|hr|img|li|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>", re.I)


def clean_title(raw: str | None) -> str:
    """A title as plain text: script/style content dropped, tags stripped (block tags leave
    a space, inline ones nothing), entities decoded exactly once, whitespace folded, NFC.
    `&amp;lt;` stays the literal text `&lt;`: decoding twice would turn text an editor
    wrote into markup."""
    if not raw:
        return ""
    text = _INVISIBLE.sub(" ", raw)
    text = _TAG.sub("", _BREAKING_TAG.sub(" ", text))
    text = html.unescape(text)
    text = _WS.sub(" ", text).strip()
    return unicodedata.normalize("NFC", text)


def plain_text(fragment: str | None) -> str:
    """Text of an HTML fragment, whitespace folded (for summaries and derived titles)."""
    return clean_title(fragment)


# A title made from an item's text (RSS 2.0 items may have only a description: Mastodon,
# micro-blogs) stops at the first sentence, or at this many characters on a word boundary.
DERIVED_TITLE_MAX = 100
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s")


def title_from_text(text: str, limit: int = DERIVED_TITLE_MAX) -> str:
    """A headline for an item that has none: the first sentence of its plain text, cut at a
    word boundary (with an ellipsis) when longer than `limit`; "" when there is no text."""
    text = _WS.sub(" ", text or "").strip()
    match = _SENTENCE_END.search(text)
    first = text[:match.start()] if match and match.start() >= 10 else text
    return truncate_words(first, limit)


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
    for part in (draft.title, _hash_text(draft.body_html) or draft.summary, draft.image or ""):
        h.update(_WS.sub(" ", part).strip().encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _hash_text(fragment: str | None) -> str:
    # The text as clean_title read it before issue 10 (every tag a space, script text kept):
    # a better title cleaner must not make every stored article look "updated" on re-poll.
    if not fragment:
        return ""
    return unicodedata.normalize("NFC", _WS.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip())


def to_utc(value: datetime | None) -> datetime | None:
    """UTC inside (DESIGN principle 8); a naive time is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

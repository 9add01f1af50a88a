"""RSS 0.9x/1.0/2.0 and Atom documents into ArticleDrafts.

Pure: the fetcher hands us bytes. feedparser does the reading; we refuse what it should
never see (entity declarations), sanitise HTML ourselves and turn each entry into a draft.
One bad entry is a Rejection, never the end of the feed.
"""

from __future__ import annotations

import calendar
import codecs
import html
import io
import re
from datetime import datetime, timezone
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import CharacterEncodingOverride

from bot.domain.articles import (
    ArticleDraft, ParseResult, Rejection, canonical_url, clean_categories, clean_title,
    plain_text, summarize,
)
from bot.errors import BadInput
from bot.ingest.discover import FeedLink, discover_feeds
from bot.ingest.language import normalize_language
from bot.ingest.sanitize import sanitize_html


class NotAFeed(BadInput):
    """The document is not RSS or Atom (an HTML page, JSON, an empty body...).
    `feeds` lists the feeds an HTML page names, if any."""

    def __init__(self, message: str, feeds: tuple[FeedLink, ...] = ()):
        super().__init__(message)
        self.feeds = feeds


class FeedRejected(BadInput):
    """The document is refused before parsing because reading it could hurt us."""


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> ParseResult:
    """Parse one feed document fetched from `url`.

    Raises FeedRejected for documents that declare entities and NotAFeed when there is no
    feed to read; everything wrong with single entries ends up in `rejected` or `warnings`.
    """
    headers = _response_headers(url, content, content_type)
    encoding_problem = _refuse_entity_declarations(content, headers, url)
    parsed = feedparser.parse(
        io.BytesIO(content),  # a str or bytes argument could be taken for a path or a URL
        response_headers=headers,
        resolve_relative_uris=False,  # sanitize_html absolutizes links against the item URL
        sanitize_html=False,  # we sanitise with our own allowlist (bot.ingest.sanitize)
    )
    # chardet spells the same encoding "Windows-1252" or "windows-1252" by version.
    warnings = _problems(content, content_type, (parsed.get("encoding") or "").lower() or None,
                         encoding_problem, parsed.get("bozo_exception"))
    if not parsed.entries and not parsed.get("version"):
        raise _not_a_feed(content, url, content_type, warnings)
    language = normalize_language(parsed.feed.get("language"))
    result = ParseResult(title=_plain_text(parsed.feed) or None, language=language,
                         warnings=warnings)
    for n, entry in enumerate(parsed.entries, start=1):
        where = f"{url} item {n}"
        try:
            draft, notes = _draft(entry, url, language)
        except BadInput as exc:
            result.rejected.append(Rejection(where=where, reason=str(exc)))
        except Exception as exc:  # one odd entry must not cost us the rest of the feed
            result.rejected.append(Rejection(where=where, reason=f"{type(exc).__name__}: {exc}"))
        else:
            result.drafts.append(draft)
            result.warnings.extend(f"{where}: {note}" for note in notes)
    return result


def looks_like_html(content: bytes, content_type: str | None) -> bool:
    """True for an HTML page served where a feed was expected. The document decides over
    the header: plenty of servers send RSS as text/html."""
    root = _root_name(content)
    if root in ("rss", "feed", "rdf:rdf", "rdf", "channel"):
        return False
    if root == "html" or re.search(rb"<!doctype\s+html", _ascii_head(content), re.I):
        return True
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type in HTML_TYPES


# -- Before feedparser ------------------------------------------------------------------------


# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32le"), (codecs.BOM_UTF32_BE, "utf-32be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16le"),
         (codecs.BOM_UTF16_BE, "utf-16be"))


def _response_headers(url: str, content: bytes, content_type: str | None) -> dict[str, str]:
    # content-location is how feedparser learns the base for relative links. Without a
    # content type, feedparser would assume ISO-8859-1 (HTTP's old default) for any header
    # set; "application/xml" makes it honour the XML declaration and default to UTF-8.
    content_type = content_type or "application/xml"
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            # A byte-order mark outranks any label (WHATWG encoding sniffing); feedparser
            # would otherwise try UTF-8 first, which "succeeds" on UTF-16 full of NULs.
            media_type = content_type.split(";")[0].strip()
            content_type = f"{media_type}; charset={encoding}"
            break
    return {"content-location": url, "content-type": content_type}


_MISC = re.compile(rb"\s++|<\?.*?\?>|<!--.*?-->", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.I)
_DECL_BODY = re.compile(rb"""(?:[^"'>\[]++|"[^"]*+"|'[^']*+')*+""")
_SUBSET_ITEM = re.compile(
    rb"""\s++|<!--.*?-->|<\?.*?\?>|%[^;\s]++;|<!(?:[^"'>]++|"[^"]*+"|'[^']*+')*+>""", re.S)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def _refuse_entity_declarations(content: bytes, headers: dict[str, str], url: str):
    """Raise FeedRejected when the prolog declares entities; return the encoding problem
    feedparser will meet, if any.

    Entities are how billion-laughs and quadratic-blowup documents multiply a few KB into
    GB; feeds have no need for them. The check runs on the text exactly as feedparser will
    decode it (its own convert_to_utf8), so UTF-16 or an odd declared charset cannot hide a
    declaration. It covers both the prolog as expat reads it and the "head" feedparser
    takes entities from (everything before the first `<name`).
    """
    probe: dict = {}
    # NULs are never XML; dropping them also exposes UTF-16 that was misread as UTF-8.
    text = convert_to_utf8(dict(headers), content, probe).replace(b"\x00", b"")
    head = re.search(rb"<\w", text)
    end = max(_prolog_end(text), head.start() if head else 0) + len(b"<!ENTITY")
    if _ENTITY_DECL.search(text, 0, end):
        raise FeedRejected(f"{url}: entity declarations are not allowed "
                           "(possible entity-expansion attack)")
    return probe.get("bozo_exception")


def _prolog_end(data: bytes) -> int:
    """Where the root element starts, or where the prolog stops making sense (expat stops
    there too, so nothing after it can declare anything)."""
    pos = 0
    while True:
        misc = _MISC.match(data, pos)
        if misc:
            pos = misc.end()
            continue
        if not _DOCTYPE.match(data, pos):
            return pos
        pos = _DECL_BODY.match(data, pos + len(b"<!DOCTYPE")).end()
        if data[pos:pos + 1] == b"[":
            pos = _internal_subset_end(data, pos + 1)
        if data[pos:pos + 1] != b">":
            return pos
        pos += 1


def _internal_subset_end(data: bytes, pos: int) -> int:
    while True:
        item = _SUBSET_ITEM.match(data, pos)
        if not item:
            break
        pos = item.end()
    if data[pos:pos + 1] == b"]":
        pos += 1
        while data[pos:pos + 1].isspace():
            pos += 1
    return pos


# -- After feedparser -------------------------------------------------------------------------


def _problems(content: bytes, content_type: str | None, encoding: str | None,
              *problems) -> list[str]:
    """feedparser's complaints as warnings, each once, with the line of an XML error."""
    warnings: list[str] = []
    for problem in problems:
        if problem is None:
            continue
        if isinstance(problem, CharacterEncodingOverride) and not _declares_charset(
                content, content_type):
            # feedparser says "declared as utf-8" about our default; nobody declared it.
            text = f"no character encoding declared and the text is not UTF-8; read as {encoding}"
        elif hasattr(problem, "getLineNumber"):
            line = problem.getLineNumber()
            # feedparser adds an XML declaration on a line of its own when there is none.
            if not _ascii_head(content).startswith(b"<?xml"):
                line -= 1
            text = (f"malformed XML at line {line}: {problem.getMessage()}; "
                    "the items shown were recovered by a lenient parser")
        else:
            text = str(problem)
        if text not in warnings:
            warnings.append(text)
    return warnings


def _declares_charset(content: bytes, content_type: str | None) -> bool:
    return "charset=" in (content_type or "").lower() or bool(
        re.match(rb"<\?xml[^>]*\bencoding\s*=", _ascii_head(content)))


def _not_a_feed(content: bytes, url: str, content_type: str | None,
                warnings: list[str]) -> NotAFeed:
    if not content.strip():
        return NotAFeed(f"{url} is not a feed (empty document)")
    if looks_like_html(content, content_type):
        feeds = tuple(discover_feeds(content, url))
        if feeds:
            return NotAFeed(f"{url} is not a feed (HTML page; it names the feed {feeds[0].url})",
                            feeds)
        return NotAFeed(f"{url} is not a feed (HTML page; no <link rel=alternate> feed found)")
    detail = f"; {warnings[-1]}" if warnings else ""
    return NotAFeed(f"{url} is not a feed (no RSS or Atom root element{detail})")


def _ascii_head(content: bytes, size: int = 2048) -> bytes:
    # Dropping NULs and byte-order marks makes UTF-16 and UTF-32 markup readable as ASCII
    # for sniffing.
    return content[:size * 4].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xfe\xff")[:size]


def _root_name(content: bytes) -> str | None:
    head = _ascii_head(content)
    head = re.sub(rb"<\?.*?\?>|<!--.*?-->|<![^>]*>", b"", head, flags=re.S)
    match = re.search(rb"<([A-Za-z_][\w:.-]*)", head)
    return match.group(1).decode("ascii").lower() if match else None


# -- One entry --------------------------------------------------------------------------------


def _draft(entry, feed_url: str, feed_language: str | None) -> tuple[ArticleDraft, list[str]]:
    """One entry as a draft, and notes about what was wrong but not fatal."""
    title = _plain_text(entry)
    guid = (entry.get("id") or "").strip() or None
    link = _absolute_http(entry.get("link"), feed_url)
    if not title:
        if not (link or guid or "title" in entry):
            raise BadInput("item has no title, link or guid")
        raise BadInput("title is empty" if "title" in entry else "item has no title")
    if link is None and guid and canonical_url(guid):
        link = guid  # an RSS <guid> that is a URL is the article's address
    base = link or feed_url
    body_detail = _body_detail(entry)
    body = sanitize_html(_html_of(body_detail), base_url=_base_of(body_detail, base))
    summary_detail = entry.get("summary_detail")
    description = sanitize_html(_html_of(summary_detail), base_url=_base_of(summary_detail, base))
    if plain_text(description) == plain_text(body):
        description = ""  # feeds often repeat the body as description; use its lead instead
    notes: list[str] = []
    published = _date(entry, "published", notes)
    updated = _date(entry, "updated", notes)
    draft = ArticleDraft(
        title=title,
        url=canonical_url(link),
        guid=guid,
        summary=summarize(description, body),
        body_html=body,
        image=_image(entry, base),
        author=_author(entry),
        language=_entry_language(entry) or feed_language,
        categories=clean_categories([t.get("term") or t.get("label") or ""
                                     for t in entry.get("tags") or ()]),
        # Atom requires only <updated>, RSS 1.0 dates with dc:date (feedparser: updated):
        # for both, that is the best publication date there is.
        published=published or updated,
        updated=updated,
    )
    return draft, notes


def _plain_text(element, key: str = "title") -> str:
    # Through the sanitiser first: it drops <script> with its text, which tag stripping keeps.
    detail = element.get(f"{key}_detail")
    return clean_title(sanitize_html(_html_of(detail) or html.escape(element.get(key) or "")))


def _html_of(detail) -> str:
    """A feedparser text construct as HTML: plain text is escaped so that a literal `<`
    stays text when the value is later read as HTML."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if detail.get("type") == "text/plain":
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]
        return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return value


def _body_detail(entry):
    contents = entry.get("content") or []
    preferred = [c for c in contents if c.get("type") in HTML_TYPES] or contents
    return preferred[0] if preferred else entry.get("summary_detail")


def _base_of(detail, fallback: str) -> str:
    """The xml:base in force where the HTML was written (feedparser records it), so our
    sanitiser resolves relative links as feedparser's slower resolver would have."""
    base = (detail or {}).get("base")
    return urljoin(fallback, base) if base else fallback


def _absolute_http(url: str | None, base: str) -> str | None:
    if not url or not isinstance(url, str):
        return None
    try:
        absolute = urljoin(base, url.strip())
    except ValueError:
        return None
    return absolute if canonical_url(absolute) else None


_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|\?)", re.I)


def _image(entry, base: str) -> str | None:
    candidates = []
    for media in entry.get("media_content") or ():
        medium, mime = media.get("medium") or "", media.get("type") or ""
        if medium == "image" or mime.startswith("image/") or (
                not medium and not mime and _IMAGE_PATH.search(media.get("url") or "")):
            candidates.append(media.get("url"))
    candidates += [thumb.get("url") for thumb in entry.get("media_thumbnail") or ()]
    candidates += [link.get("href") for link in entry.get("links") or ()
                   if link.get("rel") == "enclosure"
                   and (link.get("type") or "").startswith("image/")]
    for candidate in candidates:
        url = _absolute_http(candidate, base)
        if url:
            return url
    return None


def _author(entry) -> str | None:
    name = (entry.get("author_detail") or {}).get("name") or entry.get("author") or ""
    name = clean_title(name)
    # RSS <author> is an e-mail address, often with no name: not something to print.
    return name if name and "@" not in name else None


def _entry_language(entry) -> str | None:
    """An item's own <dc:language>, or the xml:lang of its text (Atom)."""
    if entry.get("language"):
        return normalize_language(entry["language"])
    for detail in (*(entry.get("content") or ()), entry.get("title_detail"),
                   entry.get("summary_detail")):
        if detail and detail.get("language"):
            return normalize_language(detail["language"])
    return None


def _date(entry, key: str, notes: list[str]) -> datetime | None:
    # dict.get: FeedParserDict.get("updated") quietly answers with the published date.
    parsed = dict.get(entry, f"{key}_parsed")
    raw = dict.get(entry, key)
    if parsed is None:
        if raw:
            notes.append(f"unreadable {key} date {raw!r}, ignored")
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        notes.append(f"{key} date {raw!r} is out of range, ignored")
        return None

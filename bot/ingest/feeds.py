"""RSS 0.9x/1.0/2.0 and Atom documents into ArticleDrafts.

Pure: the fetcher hands us bytes. feedparser does the reading; we take out what it should
never see (entity declarations that could expand without bound: bot.ingest.entities),
sanitise HTML ourselves and turn each entry into a draft. One bad entry is a Rejection,
never the end of the feed.
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
from feedparser.exceptions import CharacterEncodingOverride

from bot.domain.articles import (
    ArticleDraft, ParseResult, Rejection, canonical_url, clean_categories, clean_title,
    plain_text, summarize, title_from_text,
)
from bot.errors import BadInput
from bot.ingest.discover import FeedLink, discover_feeds
from bot.ingest.entities import FeedRejected, defuse_entities  # noqa: F401 (re-exported)
from bot.ingest.language import normalize_language
from bot.ingest.sanitize import sanitize_html


class NotAFeed(BadInput):
    """The document is not RSS or Atom (an HTML page, JSON, an empty body...).
    `feeds` lists the feeds an HTML page names, if any."""

    def __init__(self, message: str, feeds: tuple[FeedLink, ...] = ()):
        super().__init__(message)
        self.feeds = feeds


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> ParseResult:
    """Parse one feed document fetched from `url` (http(s) or a local file: URI).

    Relative links resolve against xml:base, else the feed's self or alternate link, else
    `url`. Entity declarations are taken out before parsing (a warning says so); raises
    FeedRejected only when that cannot be done safely, and NotAFeed when there is no feed
    to read. Everything wrong with single entries ends up in `rejected` or `warnings`.
    """
    headers = _response_headers(url, content, content_type)
    text, headers, entity_warning, probe = defuse_entities(content, headers, url)
    parsed = feedparser.parse(
        io.BytesIO(text),  # a str or bytes argument could be taken for a path or a URL
        response_headers=headers,
        resolve_relative_uris=False,  # sanitize_html absolutizes links against the item base
        sanitize_html=False,  # we sanitise with our own allowlist (bot.ingest.sanitize)
    )
    # chardet spells the same encoding "Windows-1252" or "windows-1252" by version.
    warnings = _problems(content, content_type, (probe.get("encoding") or "").lower() or None,
                         entity_warning, probe.get("bozo_exception"),
                         parsed.get("bozo_exception"))
    if not parsed.entries and not parsed.get("version"):
        raise _not_a_feed(content, url, content_type, warnings)
    language = normalize_language(parsed.feed.get("language"))
    base = document_base(parsed.feed, url)
    typed = (parsed.get("version") or "").startswith("atom")
    result = ParseResult(title=_plain_text(parsed.feed, typed) or None, language=language,
                         warnings=warnings)
    for n, entry in enumerate(parsed.entries, start=1):
        where = f"{url} item {n}"
        try:
            draft, notes = _draft(entry, base, language, typed)
        except BadInput as exc:
            result.rejected.append(Rejection(where=where, reason=str(exc)))
        except Exception as exc:  # one odd entry must not cost us the rest of the feed
            result.rejected.append(Rejection(where=where, reason=f"{type(exc).__name__}: {exc}"))
        else:
            result.drafts.append(draft)
            result.warnings.extend(f"{where}: {note}" for note in notes)
    return result


def document_base(feed, url: str) -> str:
    """What relative links without an xml:base resolve against: the feed's own address
    (rel=self), else its web page (the alternate link), else where it was fetched from. A
    local feed file has only the last, which is no base for a web link."""
    fetched = url if _is_http(url) else None
    candidates = [link.get("href") for link in feed.get("links") or ()
                  if link.get("rel") == "self"] + [feed.get("link")]
    for candidate in candidates:
        if candidate and isinstance(candidate, str):
            try:
                absolute = urljoin(fetched or "", candidate.strip())
            except ValueError:
                continue
            if _is_http(absolute):
                return absolute
    return url


def _is_http(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("http://", "https://")) and bool(
        canonical_url(url))


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
    # No content-location: feedparser then resolves relative links against xml:base only,
    # and document_base() supplies the rest (a file: URL is no base for web links). Without
    # a content type, feedparser would assume ISO-8859-1 (HTTP's old default) for any header
    # set; "application/xml" makes it honour the XML declaration and default to UTF-8.
    content_type = content_type or "application/xml"
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            # A byte-order mark outranks any label (WHATWG encoding sniffing); feedparser
            # would otherwise try UTF-8 first, which "succeeds" on UTF-16 full of NULs.
            media_type = content_type.split(";")[0].strip()
            content_type = f"{media_type}; charset={encoding}"
            break
    return {"content-type": content_type}


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


def _draft(entry, base: str, feed_language: str | None,
           typed: bool = True) -> tuple[ArticleDraft, list[str]]:
    """One entry as a draft, and notes about what was wrong but not fatal. `base` is the
    document's base (document_base); xml:base in force inside the entry outranks it.
    `typed`: the format declares whether text is HTML (Atom), see _plain_text."""
    notes: list[str] = []
    guid = (entry.get("id") or "").strip() or None
    raw_link = entry.get("link")
    link = _absolute_http(raw_link, base)
    if link is None and guid and canonical_url(guid):
        link = guid  # an RSS <guid> that is a URL is the article's address
    if guid is None and link and "#" in link:
        # Items told apart only by #fragment (one page, many entries) keep that identity:
        # the canonical URL drops fragments, and would make them one article.
        guid = urljoin(base, raw_link.strip()) if raw_link else link
    body_detail = _body_detail(entry)
    body = sanitize_html(_html_of(body_detail), base_url=_base_of(body_detail, base))
    summary_detail = entry.get("summary_detail")
    description = sanitize_html(_html_of(summary_detail), base_url=_base_of(summary_detail, base))
    if plain_text(description) == plain_text(body):
        description = ""  # feeds often repeat the body as description; use its lead instead
    title = _plain_text(entry, typed)
    if not title:
        # Valid RSS 2.0 (title or description is required, not both): micro-blog and
        # Mastodon items are description-only. Their headline is the text's first sentence.
        title = title_from_text(plain_text(description) or plain_text(body))
        if not title:
            if not (link or guid or "title" in entry):
                raise BadInput("item has no title, text, link or guid")
            raise BadInput("title is empty and the item has no text to make one from"
                           if "title" in entry else "item has no title and no text")
        notes.append("no title; made one from the item's text")
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


# What only markup looks like: a closing tag, or a tag with attributes. "Use the <p>
# element", "<!ENTITY>" and "5 < 6" are text about markup and stay as written.
_MARKUP = re.compile(r"</[A-Za-z][\w-]*\s*>|<[A-Za-z][\w-]*\s[^<>]*=[^<>]*>")


def _plain_text(element, typed: bool, key: str = "title") -> str:
    """A title as plain text. Atom says what its text is (`typed`); RSS never does, and its
    titles carry escaped HTML as often as not, so there anything tag-like is read as HTML
    (feedparser calls it text when it meets a tag it would not allow, such as <script>).
    The value is feedparser's `title`, not `title_detail`'s: with a <title> nested deeper
    in the entry (an <image>'s), only `title` is the entry's own (feedparser's
    node_precedence tests)."""
    detail = dict(element.get(f"{key}_detail") or {})
    value = element.get(key) or detail.get("value") or ""
    if "<" not in value and "&" not in value:
        return clean_title(value)   # nothing to sanitise or decode: most titles
    if not typed and detail.get("type") == "text/plain" and _MARKUP.search(value):
        return clean_title(value)
    detail["value"] = value
    # Through the sanitiser first: it drops <script> with its text, which tag stripping keeps.
    return clean_title(sanitize_html(_html_of(detail) if detail.get("type")
                                     else html.escape(value)))


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

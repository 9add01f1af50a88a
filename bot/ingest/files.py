"""Article files (.html, .md, .txt, .json) into ArticleDraft.

A file without a URL or a date keeps url / published None: the caller decides what to do
about it. Anything that cannot be used raises BadInput naming the file (and field).
"""

from __future__ import annotations

import codecs
import html as htmllib
import json
import os
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

import frontmatter
import lxml.html
import trafilatura
from lxml import etree
from markdown_it import MarkdownIt

from bot.domain.articles import (
    ArticleDraft, canonical_url, clean_categories, clean_title, is_http_url, summarize, to_utc,
)
from bot.errors import BadInput
from bot.ingest.htmlmeta import extract_meta, find_page_date, language_code, parse_iso_date
from bot.ingest.localfiles import DEFAULT_MAX_BYTES, read_regular_file
from bot.ingest.sanitize import sanitize_html

HTML_SUFFIXES = frozenset({".html", ".htm"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
SUPPORTED_SUFFIXES = HTML_SUFFIXES | MARKDOWN_SUFFIXES | {".txt", ".json"}

# Lines that start the share/category/related clutter scrapers leave after an article.
BOILERPLATE_MARKERS = frozenset({
    "categories", "categories:", "share this", "share this:", "tags", "related",
    "related posts", "like this:",
})
_CATEGORY_MARKERS = frozenset({"categories", "categories:"})


def iter_article_files(folder: Path) -> list[Path]:
    """Article files under `folder`, recursively, sorted; hidden files and folders (.git,
    editor swap files) are skipped, and so are symlinked folders (no loops)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder}: not a folder")
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, f) for f in files
                  if not f.startswith(".") and Path(f).suffix.lower() in SUPPORTED_SUFFIXES]
    return sorted(found)


def parse_article_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> ArticleDraft:
    """One article from one file, by its suffix: a regular file of at most `max_bytes`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise BadInput(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; "
                       f"expected one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    data = read_regular_file(path, max_bytes)
    text = decode_bytes(data, html=suffix in HTML_SUFFIXES)
    where = str(path)
    if suffix in HTML_SUFFIXES:
        return parse_html_article(text, where)
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown_article(text, where)
    if suffix == ".txt":
        return parse_text_article(text, where)
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"{where}: not valid JSON: {exc}") from exc
    return article_from_json(payload, where)


# -- Decoding -----------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
# Browsers read these labels as windows-1252 (WHATWG Encoding), and pages that declare
# them rely on it for curly quotes and dashes in 0x80-0x9F.
_WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1",
                                  "us-ascii", "ascii", "cp819", "windows-1252"})
_UTF8_SEQUENCE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


def decode_bytes(data: bytes, *, html: bool = False) -> str:
    """UTF-8 (BOM or not); else an HTML <meta charset>; else windows-1252. Never raises."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if html and (match := _META_CHARSET.search(data[:4096])):
        label = match.group(1).decode("ascii").lower()
        try:
            return data.decode("cp1252" if label in _WINDOWS_1252_LABELS else label)
        except (LookupError, UnicodeDecodeError):
            pass   # an unknown or wrong declaration is no better than a guess
    # UTF-8 text with a stray bad byte would turn to mojibake everywhere as cp1252; when
    # valid multi-byte sequences outnumber the bad bytes, losing one character is better.
    replaced = data.decode("utf-8-sig", errors="replace")
    if len(_UTF8_SEQUENCE.findall(data)) > replaced.count("\ufffd"):
        return replaced
    # cp1252 leaves five bytes undefined; a file with one of them is still mostly cp1252.
    return data.decode("cp1252", errors="replace")


# -- HTML ---------------------------------------------------------------------------------


def parse_html_article(text: str, where: str) -> ArticleDraft:
    """An article page: metadata from its head, body from its main content."""
    meta = extract_meta(text)
    title = clean_title(meta.title)
    if not title:
        raise BadInput(f"{where}: no title found (og:title, <title> or <h1>)")
    url = canonical_url(meta.url)
    body = _main_content(text, url, title)
    return ArticleDraft(
        title=title,
        url=url,
        summary=summarize(meta.description, body),
        body_html=body,
        image=_http_url(meta.image, url, canonical=False),  # a bad one is dropped: scraped hint
        image_alt=meta.image_alt,
        author=meta.author,
        language=meta.language,
        categories=clean_categories([c for c in (meta.section, *meta.tags) if c]),
        # No date in the page's metadata: htmldate reads it from the URL, the markup and
        # the text ("2022-5-5"); still none, and finalize_draft marks the date unknown.
        published=meta.published or find_page_date(text, url),
        updated=meta.modified,
    )


def _main_content(text: str, url: str | None, title: str) -> str:
    """The article body without nav, footer, comments, a repeated title or trailing share
    clutter, sanitised with links made absolute against `url`."""
    options = dict(output_format="html", include_images=True, include_links=True,
                   include_formatting=True, include_comments=False, url=url)
    # Precision first keeps nav and teasers out; a short page may need the recall pass.
    extracted = (trafilatura.extract(text, favor_precision=True, **options)
                 or trafilatura.extract(text, **options))
    if not extracted:
        return ""
    try:
        root = lxml.html.fromstring(extracted)
    except (etree.ParserError, ValueError):
        return sanitize_html(extracted, url)
    body = root.find("body") if root.tag == "html" else None
    body = root if body is None else body
    blocks = list(body)
    # Extractors often keep the headline as the body's first line, in a heading or not.
    if blocks and blocks[0].tag in _HEADLINE_TAGS and _fold(blocks[0].text_content()) == _fold(title):
        blocks = blocks[1:]
    for i, block in enumerate(blocks):
        if _fold(block.text_content()) in BOILERPLATE_MARKERS:
            blocks = blocks[:i]
            break
    kept = htmllib.escape(body.text or "", quote=False)
    kept += "".join(lxml.html.tostring(b, encoding="unicode") for b in blocks)
    return sanitize_html(kept, url)


_HEADLINE_TAGS = frozenset({"h1", "h2", "h3", "p", "div", "strong", "b"})


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


# -- Markdown -----------------------------------------------------------------------------

# html=False: raw HTML in Markdown is shown as text, never passed through as markup.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

# Front matter keys, by the schema field they fill (first present wins).
_FRONT_MATTER_ALIASES = {
    "published": ("published", "date"),
    "summary": ("summary", "description"),
    "language": ("language", "lang"),
}


def parse_markdown_article(text: str, where: str) -> ArticleDraft:
    """Markdown with optional front matter; without a front matter title the first
    level-1 heading is the title and leaves the body."""
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # YAML, TOML and JSON front matter each raise their own kind
        raise BadInput(f"{where}: front matter cannot be read: {exc}") from exc
    fields = _Fields(post.metadata, where, _FRONT_MATTER_ALIASES)
    url = fields.url("url")
    tokens = _MARKDOWN.parse(post.content)
    raw_title = fields.text("title")
    if not clean_title(raw_title):
        raw_title = _pop_first_h1(tokens)
    title = clean_title(raw_title)
    if not title:
        raise BadInput(f"{where}: no title (front matter 'title' or a '# heading')")
    body = sanitize_html(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}), url)
    categories = fields.strings("categories", split=True) + fields.strings("tags", split=True)
    return _draft(fields, title=title, url=url, body=body, categories=categories)


def _pop_first_h1(tokens: list) -> str | None:
    """The first h1's text as HTML, removing its three tokens (open, inline, close)."""
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1":
            inline = tokens[i + 1]
            del tokens[i:i + 3]
            return _MARKDOWN.renderer.renderInline(inline.children or [], _MARKDOWN.options, {})
    return None


# -- Plain text ---------------------------------------------------------------------------


def parse_text_article(text: str, where: str) -> ArticleDraft:
    """Scraped plain text: title line, maybe the title again, paragraphs, then clutter
    ("CATEGORIES", "Share This", ...) whose category lines are kept as categories."""
    lines = [line.strip() for line in text.splitlines()]
    nonblank = [i for i, line in enumerate(lines) if line]
    if not nonblank or not clean_title(lines[nonblank[0]]):
        raise BadInput(f"{where}: no title (the first non-empty line)")
    title = clean_title(lines[nonblank[0]])
    rest = lines[nonblank[0] + 1:]
    first = next((i for i, line in enumerate(rest) if line), None)
    if first is not None and _fold(clean_title(rest[first])) == _fold(title):
        rest = rest[first + 1:]
    rest, url = _take_url_line(rest)
    rest, categories = _split_boilerplate(rest)
    body = text_to_html("\n".join(rest))
    return ArticleDraft(title=title, url=url, summary=summarize(None, body), body_html=body,
                        categories=clean_categories(categories))


# Plain text has nowhere else to say where the article lives; a "URL: …" line right under
# the title (a convention of text exports and scrapers) gives it an address to share.
_URL_LINE = re.compile(r"^(?:url|link|source)\s*:\s*(https?://\S+)$", re.IGNORECASE)


def _take_url_line(lines: list[str]) -> tuple[list[str], str | None]:
    first = next((i for i, line in enumerate(lines) if line), None)
    match = _URL_LINE.match(lines[first]) if first is not None else None
    if not match:
        return lines, None
    return lines[first + 1:], canonical_url(match.group(1))


def _split_boilerplate(lines: list[str]) -> tuple[list[str], list[str]]:
    """Lines before the first boilerplate marker, and the category lines after it."""
    marked = (i for i, line in enumerate(lines) if line.casefold() in BOILERPLATE_MARKERS)
    start = next(marked, None)
    if start is None:
        return lines, []
    categories = []
    if lines[start].casefold() in _CATEGORY_MARKERS:
        for line in lines[start + 1:]:
            if line.casefold() in BOILERPLATE_MARKERS:
                break
            if line:
                categories.append(line)
    return lines[:start], categories


def text_to_html(text: str) -> str:
    """Plain text to <p> paragraphs (blank-line separated), escaped: no markup survives."""
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return "\n".join(f"<p>{htmllib.escape(p, quote=False)}</p>" for p in paragraphs if p)


# -- JSON ---------------------------------------------------------------------------------


def article_from_json(data: dict, where: str) -> ArticleDraft:
    """An article in the documented JSON schema (docs/article-json.md); any wrong field
    raises BadInput naming `where` and the field."""
    if not isinstance(data, Mapping):
        raise BadInput(f"{where}: expected a JSON object, got {_kind(data)}")
    fields = _Fields(data, where)
    raw_title = fields.text("title", required=True)
    title = clean_title(raw_title)
    if not title:
        raise fields.fail("title", f"empty once markup is removed: {_show(raw_title)}")
    url = fields.url("url", required=True)
    body = (sanitize_html(fields.text("body_html"), url)
            or text_to_html(fields.text("body_text") or ""))
    return _draft(fields, title=title, url=url, body=body, categories=fields.strings("categories"))


def _draft(fields: "_Fields", *, title: str, url: str | None, body: str,
           categories: list[str]) -> ArticleDraft:
    """The fields every authored format shares, validated the same way."""
    return ArticleDraft(
        title=title,
        url=url,
        guid=fields.guid("guid"),
        summary=summarize(fields.text("summary"), body),
        body_html=body,
        image=fields.url("image", base=url, canonical=False),
        image_alt=" ".join((fields.text("image_alt") or "").split()) or None,
        author=", ".join(fields.strings("author", split=False, allow_one=True)) or None,
        language=fields.language("language"),
        categories=clean_categories(categories),
        published=fields.date("published"),
        updated=fields.date("updated"),
    )


class _Fields:
    """Typed reads from a mapping; every error names `where` and the key as written."""

    def __init__(self, data: Mapping, where: str, aliases: dict | None = None):
        self.data, self.where, self.aliases = data, where, aliases or {}

    def fail(self, key: str, problem: str) -> BadInput:
        return BadInput(f"{self.where}: field {key!r}: {problem}")

    def get(self, name: str) -> tuple[str, object]:
        for key in self.aliases.get(name, (name,)):
            if self.data.get(key) is not None:
                return key, self.data[key]
        return name, None

    def text(self, name: str, *, required: bool = False) -> str | None:
        key, value = self.get(name)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_kind(value)}")
        if value and "\x00" in value:   # no database stores it; refused, not silently cut
            raise self.fail(key, "contains a NUL character (\\u0000)")
        if required and not (value or "").strip():
            raise self.fail(key, "required")
        return value

    def url(self, name: str, *, required: bool = False, base: str | None = None,
            canonical: bool = True) -> str | None:
        """An http(s) URL, relative ones resolved against `base`; `canonical` for the
        article's identity, else kept as written (signed image URLs must not change)."""
        raw = self.text(name, required=required)
        if raw is None or not raw.strip():
            return None
        url = _http_url(raw, base, canonical)
        if url is None:
            raise self.fail(self.get(name)[0], f"not an absolute http(s) URL: {_show(raw)}")
        return url

    def date(self, name: str) -> datetime | None:
        key, value = self.get(name)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            # YAML front matter turns `date: 2024-05-01` into a date.
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        parsed = parse_iso_date(value)
        if parsed is None:
            raise self.fail(key, f"not an ISO 8601 date: {_show(value)}")
        return to_utc(parsed)

    def strings(self, name: str, *, split: bool = False, allow_one: bool = False) -> list[str]:
        """A list of strings; `split` also takes "a, b", `allow_one` a single string."""
        key, value = self.get(name)
        if isinstance(value, str) and (split or allow_one):
            value = value.split(",") if split else [value]
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            expected = "a list of strings"
            expected = f"a string or {expected}" if split or allow_one else expected
            raise self.fail(key, f"expected {expected}, got {_show(value)}")
        if any("\x00" in v for v in value):
            raise self.fail(key, "contains a NUL character (\\u0000)")
        return [v.strip() for v in value if v.strip()]

    def guid(self, name: str) -> str | None:
        value = self.get(name)[1]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)   # CMS ids are often numbers
        text = self.text(name)
        return text.strip() or None if text else None

    def language(self, name: str) -> str | None:
        key, value = self.get(name)
        if value is None:
            return None
        code = language_code(value)
        if code is None:
            raise self.fail(key, f"not a language tag such as 'en' or 'fr-FR': {_show(value)}")
        return code


def _http_url(raw: str | None, base: str | None, canonical: bool) -> str | None:
    """`raw` resolved against `base` if it is an http(s) URL, else None."""
    if not raw or not raw.strip():
        return None
    url = urljoin(base, raw.strip()) if base else raw.strip()
    if canonical:
        return canonical_url(url)
    return url if is_http_url(url) else None


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _show(value: object, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "…"

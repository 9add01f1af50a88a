"""What a news article page says about itself: Open Graph, JSON-LD, and plain HTML.

Pure functions over an HTML string; nothing here fetches, reads files or sanitises bodies.
Each field takes the first usable value from a list of sources, most specific first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import htmldate
import lxml.html
from lxml import etree

from bot.domain.articles import clean_title, to_utc
from bot.ingest.language import normalize_language

# schema.org types whose JSON-LD node describes the article itself.
ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle"})


@dataclass(frozen=True)
class PageMeta:
    """Metadata of one page. Text fields are plain text; dates are aware UTC."""

    title: str | None = None
    description: str | None = None
    image: str | None = None
    image_alt: str | None = None    # og:image:alt, twitter:image:alt, JSON-LD image caption
    url: str | None = None          # canonical link, else og:url, else JSON-LD url
    published: datetime | None = None
    modified: datetime | None = None
    author: str | None = None       # several authors are joined with ", "
    section: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None     # as normalize_language: "fr" from "fr_FR", "pt-br"


def parse_document(html: str) -> lxml.html.HtmlElement | None:
    """The page as an lxml tree, or None when there is nothing to parse."""
    if not html or not html.strip():
        return None
    # Encoded to bytes with an explicit encoding: lxml refuses str input that carries an
    # XML encoding declaration, and the text is already decoded, so a <meta charset> in it
    # must not re-decode it.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None


def extract_meta(html: str) -> PageMeta:
    """Everything the page declares about the article it holds."""
    doc = parse_document(html)
    if doc is None:
        return PageMeta()
    meta = _meta_values(doc)
    article, by_id = json_ld_article(doc)
    url = _page_url(doc, meta, article)
    image = _first(_urls(meta, "og:image", "og:image:url", "og:image:secure_url",
                         "twitter:image", "twitter:image:src")
                   + _ld_values(article.get("image"), by_id, "url", "contentUrl"))
    page = _page_node(doc) if not article.get("datePublished") else {}
    headings = _dom_texts(h.text_content() for h in doc.iter("h1"))
    return PageMeta(
        title=strip_site_name(
            _first(_dom_texts(meta.get("og:title"))
                   + [_ld_text(article.get("headline"))]
                   + _dom_texts(t.text_content() for t in doc.iter("title"))
                   + headings),
            _site_names(meta, article, by_id), headings),
        description=_first(_dom_texts(meta.get("og:description"))
                           + _dom_texts(meta.get("description"))
                           + _dom_texts(meta.get("twitter:description"))
                           + [_ld_text(article.get("description"))]),
        image=urljoin(url, image) if image and url else image,
        image_alt=_first(_dom_texts(meta.get("og:image:alt")) + _dom_texts(meta.get("twitter:image:alt"))
                         + [_ld_text(v) for v in _ld_values(article.get("image"), by_id, "caption")]),
        url=url,
        published=_first_date(meta.get("article:published_time", [])
                              + [article.get("datePublished")]
                              + [v for key in _DATE_META for v in meta.get(key, [])]
                              + [page.get("datePublished")]
                              + _time_datetimes(doc)),
        modified=_first_date(meta.get("article:modified_time", [])
                             + meta.get("og:updated_time", [])
                             + [article.get("dateModified")]),
        author=_author(meta, article, by_id),
        section=_first(_dom_texts(meta.get("article:section"))
                       + [_ld_text(s) for s in _as_list(article.get("articleSection"))]),
        tags=_tags(meta, article),
        language=_first([language_code(doc.get("lang")),
                         language_code(doc.get("{http://www.w3.org/XML/1998/namespace}lang"))]
                        + [language_code(v) for v in meta.get("og:locale", [])]
                        + [language_code(_ld_text(article.get("inLanguage")))]),
    )


# -- Site names ---------------------------------------------------------------------------

# How page titles append (or prepend) the site's name: "Headline | Site", "Site - Headline".
_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " :: ", " » ", " / ", ": ")


def strip_site_name(title: str | None, site_names: list[str],
                    headings: list[str] = ()) -> str | None:
    """`title` without a trailing (or leading) site name it repeats, such as " | Site" when
    "Site" is the page's og:site_name; a title that is only the site name stays. Without a
    known site name, a page heading that is the title's first or last part is the headline
    ("Headline | Section - Site" with <h1>Headline</h1>)."""
    if not title:
        return title
    for heading in headings:
        for sep in _SEPARATORS:
            if (title.startswith(heading + sep) or title.endswith(sep + heading)) and heading:
                return heading
    for name in site_names:
        folded = name.casefold()
        for sep in _SEPARATORS:
            if title.casefold().endswith((sep + name).casefold()) and len(title) > len(sep + name):
                return title[:-len(sep + name)].rstrip()
            if (sep != ": " and title.casefold().startswith(folded + sep.casefold())
                    and len(title) > len(name + sep)):
                return title[len(name + sep):].lstrip()
    return title


def _site_names(meta: dict[str, list[str]], article: dict, by_id: dict[str, dict]) -> list[str]:
    names = (_dom_texts(meta.get("og:site_name")) + _dom_texts(meta.get("application-name"))
             + [_ld_text(n) for n in _ld_values(article.get("publisher"), by_id, "name")])
    return [n for n in dict.fromkeys(names) if n]


# -- Dates --------------------------------------------------------------------------------

# <meta name=...> keys CMSes and Dublin Core put a publication date in (lower case).
_DATE_META = ("date", "dc.date", "dc.date.issued", "dc.date.created", "dcterms.date",
              "dcterms.issued", "dcterms.created", "citation_publication_date",
              "citation_date", "pubdate", "publishdate", "publish-date", "publish_date",
              "article.published", "parsely-pub-date", "sailthru.date", "datepublished")
# schema.org types of a page (not an article) that may still say when it was published.
_PAGE_TYPES = frozenset({"WebPage", "ItemPage", "AboutPage", "CollectionPage", "MediaObject",
                         "VideoObject", "Report", "LiveBlogPosting", "TechArticle",
                         "ScholarlyArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
                         "Review", "Event", "Recipe"})


def _page_node(doc: lxml.html.HtmlElement) -> dict:
    """The first JSON-LD node of a page type that has a datePublished (WebPage and the
    like), for pages whose article node has none or that have no article node."""
    for node in _json_ld_nodes(doc):
        if _types(node) & _PAGE_TYPES and node.get("datePublished"):
            return node
    return {}


def find_page_date(html: str | bytes, url: str | None = None) -> datetime | None:
    """When the page says it was first published, as htmldate (trafilatura's date finder)
    reads it from markup, the URL and the text (`2022-5-5`, "5 May 2022"), at midnight UTC;
    None when it finds nothing. For pages whose metadata says nothing: its quick pass reads
    markup only, the extensive one (~0.2 s a page) the text too."""
    for extensive in (False, True):
        try:
            found = htmldate.find_date(html, url=url, original_date=True,
                                       extensive_search=extensive)
        except Exception:  # a page htmldate chokes on has no date we can trust
            return None
        if found:
            return parse_iso_date(found)
    return None


# -- Dates and languages ------------------------------------------------------------------


def parse_iso_date(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC (naive means UTC); anything else None."""
    if isinstance(value, datetime):
        return to_utc(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return to_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        return None


def parse_date(value: object) -> datetime | None:
    """ISO 8601, else RFC 2822 (what some CMSes put in meta tags); unparseable → None."""
    parsed = parse_iso_date(value)
    if parsed is not None or not isinstance(value, str) or not value.strip():
        return parsed
    try:
        return to_utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def language_code(value: object) -> str | None:
    """A BCP 47 tag or locale in the project's one spelling ("fr" from "fr_FR", see
    normalize_language); None when `value` does not look like a language tag at all."""
    if not isinstance(value, str) or not _LANGUAGE_TAG.fullmatch(value.strip()):
        return None
    return normalize_language(value)


# -- JSON-LD ------------------------------------------------------------------------------


def json_ld_article(doc: lxml.html.HtmlElement) -> tuple[dict, dict[str, dict]]:
    """The first JSON-LD node of an article type (or {}), and every node by its @id, so
    references such as `"author": {"@id": "#person-1"}` inside a @graph can be followed."""
    nodes = _json_ld_nodes(doc)
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    article = next((n for n in nodes if _types(n) & ARTICLE_TYPES), {})
    return article, by_id


def _json_ld_nodes(doc: lxml.html.HtmlElement) -> list[dict]:
    nodes: list[dict] = []
    for script in doc.iter("script"):
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        try:
            _collect_nodes(json.loads(script.text or "", strict=False), nodes)
        except (ValueError, RecursionError):
            # Hand-written JSON-LD is often broken; it is a hint about the page, and the
            # page's other metadata is still good.
            continue
    return nodes


def _collect_nodes(data: object, out: list[dict]) -> None:
    if isinstance(data, list):
        for item in data:
            _collect_nodes(item, out)
    elif isinstance(data, dict):
        out.append(data)
        for key in ("@graph", "mainEntity"):
            if isinstance(data.get(key), (list, dict)):
                _collect_nodes(data[key], out)


def _types(node: dict) -> set[str]:
    # "schema:NewsArticle" and "https://schema.org/NewsArticle" name the same type.
    return {re.split(r"[/:#]", t)[-1] for t in _as_list(node.get("@type")) if isinstance(t, str)}


def _ld_values(value: object, by_id: dict[str, dict], *keys: str) -> list[str]:
    """Strings from a JSON-LD value that may be a string, an object, a reference or a list
    of them; for objects, the first of `keys` that is a string."""
    out = []
    for item in _as_list(value):
        if isinstance(item, dict):
            ref = item.get("@id")
            if isinstance(ref, str) and not any(k in item for k in keys):
                item = by_id.get(ref, item)
            item = next((item[k] for k in keys if isinstance(item.get(k), str)), None)
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


def _ld_text(value: object) -> str:
    # JSON strings are not HTML-decoded yet, so clean_title decodes them exactly once.
    return clean_title(value) if isinstance(value, str) else ""


# -- HTML sources -------------------------------------------------------------------------


def _meta_values(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """Non-empty `content` of <meta> tags by lower-cased property/name/itemprop; sites mix
    `property=` and `name=` for Open Graph, so both count."""
    values: dict[str, list[str]] = {}
    for el in doc.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop")
        content = (el.get("content") or "").strip()
        if key and content:
            values.setdefault(key.strip().lower(), []).append(content)
    return values


def _page_url(doc: lxml.html.HtmlElement, meta: dict[str, list[str]], article: dict) -> str | None:
    og_url = _first(_urls(meta, "og:url"))
    for link in doc.iter("link"):
        href = (link.get("href") or "").strip()
        if href and "canonical" in (link.get("rel") or "").lower().split():
            # A relative canonical is resolved against og:url when there is one.
            return urljoin(og_url, href) if og_url else href
    return og_url or _first([_ld_text(article.get("url"))])


def _time_datetimes(doc: lxml.html.HtmlElement) -> list[str]:
    # A <time> inside the <article> is more likely the article's own date than one in a
    # sidebar of other stories.
    return doc.xpath("//article//time/@datetime") + doc.xpath("//time/@datetime")


def _author(meta: dict[str, list[str]], article: dict, by_id: dict[str, dict]) -> str | None:
    # Facebook's article:author is often a profile URL, which is not a name.
    og = [a for a in _dom_texts(meta.get("article:author")) if not re.match(r"https?://", a)]
    for names in (og, _dom_texts(meta.get("author")),
                  [clean_title(n) for n in _ld_values(article.get("author"), by_id, "name")]):
        names = [n for n in names if n]
        if names:
            return ", ".join(dict.fromkeys(names))
    return None


def _tags(meta: dict[str, list[str]], article: dict) -> tuple[str, ...]:
    keywords = article.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    found = _dom_texts(meta.get("article:tag")) + [_ld_text(k) for k in _as_list(keywords)]
    return tuple(dict.fromkeys(t for t in found if t))


def _dom_texts(values) -> list[str]:
    """Plain text of values lxml has already entity-decoded. Escaping `&` first makes
    clean_title's own decoding a no-op, so text is decoded once, never twice."""
    return [clean_title(v.replace("&", "&amp;")) for v in values or () if isinstance(v, str)]


def _urls(meta: dict[str, list[str]], *keys: str) -> list[str]:
    return [v for key in keys for v in meta.get(key, [])]


def _first(values) -> str | None:
    return next((v for v in values if v), None)


def _first_date(values) -> datetime | None:
    return next((d for d in map(parse_date, values) if d is not None), None)


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

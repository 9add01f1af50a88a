"""Feed autodiscovery: the feeds an HTML page names with <link rel="alternate">."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html

from bot.domain.articles import canonical_url

# Types feedparser reads. application/rdf+xml is how RSS 1.0 feeds announce themselves.
XML_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
# JSON Feed is found and reported, but not chosen: we have no parser for it.
# Plain application/json is left out on purpose: WordPress announces its REST API for the
# page as <link rel="alternate" type="application/json">, which is not a feed.
OTHER_FEED_TYPES = frozenset({"application/feed+json"})


@dataclass(frozen=True)
class FeedLink:
    url: str                  # absolute
    type: str                 # media type, lower case, without parameters
    title: str | None = None

    @property
    def is_xml_feed(self) -> bool:
        return self.type in XML_FEED_TYPES


def discover_feeds(html: bytes | str, base_url: str) -> list[FeedLink]:
    """Every feed the page names, RSS/Atom first and otherwise in page order, each once.
    Never raises: a page we cannot read names no feeds."""
    try:
        doc = _parse(html)
    except Exception:  # lxml raises several types on garbage; none of them matter here
        return []
    if doc is None:
        return []
    base = _base_url(doc, base_url)
    found: list[FeedLink] = []
    seen: set[str] = set()
    for element in doc.iter("link"):
        link = _feed_link(element, base)
        if link is None:
            continue
        key = canonical_url(link.url) or link.url
        if key not in seen:
            seen.add(key)
            found.append(link)
    # sorted() is stable, so page order holds within each group.
    return sorted(found, key=lambda link: 0 if link.is_xml_feed else 1)


def choose_feed(links: list[FeedLink]) -> FeedLink | None:
    """The feed to follow: the first RSS/Atom one, passing over comment feeds (WordPress
    names "Comments Feed" right after the main feed, and on some pages before a category
    feed) unless they are all there is."""
    xml_feeds = [link for link in links if link.is_xml_feed]
    for link in xml_feeds:
        if not _is_comments_feed(link):
            return link
    return xml_feeds[0] if xml_feeds else None


def _parse(html: bytes | str):
    if isinstance(html, str):
        # lxml refuses str input that carries an XML encoding declaration.
        html = html.encode("utf-8")
    if not html.strip():
        return None
    return lxml.html.document_fromstring(html)


def _base_url(doc, page_url: str) -> str:
    """A <base href> changes what relative links mean."""
    for href in doc.xpath("//base/@href"):
        href = str(href).strip()
        if href:
            return urljoin(page_url, href)
    return page_url


def _feed_link(element, base: str) -> FeedLink | None:
    rels = (element.get("rel") or "").lower().split()
    if "alternate" not in rels:
        return None
    media_type = (element.get("type") or "").split(";")[0].strip().lower()
    if media_type not in XML_FEED_TYPES and media_type not in OTHER_FEED_TYPES:
        return None
    href = (element.get("href") or "").strip()
    if not href:
        return None
    try:
        url = urljoin(base, href)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if canonical_url(url) is None:  # javascript:, data:, mailto: and friends
        return None
    title = " ".join((element.get("title") or "").split()) or None
    return FeedLink(url=url, type=media_type, title=title)


def _is_comments_feed(link: FeedLink) -> bool:
    title = (link.title or "").casefold()
    return "comments" in title or "/comments/feed" in link.url

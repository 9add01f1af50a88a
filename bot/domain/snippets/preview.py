"""What a share post looks like on its platform, for the post editor: the body as the
platform renders it (links as their shown text, Telegram's HTML as formatted text rather
than tags), and the link card it unfurls. Plain data in, plain data out: the template
escapes every piece, so nothing here is trusted markup.

Shown link texts: Bluesky's client (bluesky.short_url), Mastodon's formatter (scheme and
"www." hidden, the rest cut after 30 characters with "…"); X shows t.co's display_url,
which only X knows, so the preview uses Mastodon's rule there too (close: host and path,
cut with "…")."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import regex
from twitter_text import extract_urls_with_indices

from . import bluesky

MASTODON_URL_SHOWN = 30
_SCHEME = regex.compile(r"^https?://(www\.)?", regex.IGNORECASE)
_TAG = regex.compile(r"(?<!\S)#[\p{L}\p{M}\p{Nd}_]+")
# Telegram's HTML parse mode: the tags it formats (others are refused before saving).
_STYLE = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
          "ins": "underline", "s": "strike", "strike": "strike", "del": "strike",
          "code": "code", "pre": "code", "tg-spoiler": "spoiler", "blockquote": "quote"}


@dataclass(frozen=True)
class Piece:
    """A run of the shown body: plain text, a link (`href`), a #tag, or styled text."""

    text: str
    href: str | None = None
    tag: bool = False
    styles: tuple[str, ...] = ()


def mastodon_shown(url: str) -> str:
    rest = _SCHEME.sub("", url)
    return rest if len(rest) <= MASTODON_URL_SHOWN else rest[:MASTODON_URL_SHOWN] + "…"


def _with_tags(text: str, styles: tuple[str, ...] = ()) -> list[Piece]:
    pieces, last = [], 0
    for match in _TAG.finditer(text):
        pieces += [Piece(text[last:match.start()], styles=styles), Piece(match.group(), tag=True)]
        last = match.end()
    return [p for p in pieces + [Piece(text[last:], styles=styles)] if p.text]


def _bluesky(text: str, url: str) -> list[Piece]:
    shown, facets = bluesky.post_text(text, url)
    data, pieces, last = shown.encode("utf-8"), [], 0
    for facet in facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        feature = facet["features"][0]
        pieces += _with_tags(data[last:start].decode()) if "uri" in feature else [
            Piece(data[last:start].decode())]
        part = data[start:end].decode()
        pieces.append(Piece(part, href=feature["uri"]) if "uri" in feature else Piece(part, tag=True))
        last = end
    return [p for p in pieces + [Piece(data[last:].decode())] if p.text]


def _linked(text: str) -> list[Piece]:
    """X and Mastodon: links found as they find them, shown cut; #tags marked."""
    pieces, last = [], 0
    for entity in extract_urls_with_indices(text, extract_urls_without_protocol=False):
        start, end = entity["indices"]
        pieces += _with_tags(text[last:start])
        pieces.append(Piece(mastodon_shown(entity["url"]), href=entity["url"]))
        last = end
    return pieces + _with_tags(text[last:])


class _Telegram(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[Piece] = []
        self.styles: list[str] = []
        self.href: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.href.append(dict(attrs).get("href") or "")
        elif tag in _STYLE:
            self.styles.append(_STYLE[tag])

    def handle_endtag(self, tag):
        if tag == "a" and self.href:
            self.href.pop()
        elif tag in _STYLE and _STYLE[tag] in self.styles:
            self.styles.remove(_STYLE[tag])

    def handle_data(self, data):
        if self.href:
            self.pieces.append(Piece(data, href=self.href[-1], styles=tuple(self.styles)))
        else:
            self.pieces += _with_tags(data, tuple(self.styles))


def body(platform: str, text: str, url: str) -> list[Piece]:
    """The post's text as `platform` shows it."""
    if platform == "bluesky":
        return _bluesky(text, url)
    if platform == "telegram":
        parser = _Telegram()
        parser.feed(text)
        parser.close()
        return parser.pieces
    return _linked(text)


def link_card(url: str, title: str, description: str, image: str | None) -> dict | None:
    """The card a link unfurls into: the article's image, title, a line of its summary, and
    the site's host, as all four platforms show it for a page with Open Graph tags."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return {"url": url, "host": host, "title": title, "description": description, "image": image}

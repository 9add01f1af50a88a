"""Bluesky: 300 graphemes (and 3000 UTF-8 bytes), links and tags as rich-text facets.

A post's text is plain; what makes a link clickable or a tag searchable is a facet that
names the UTF-8 byte range it covers (`app.bsky.richtext.facet`)."""

from __future__ import annotations

import regex

from .text import grapheme_count

MAX_GRAPHEMES = 300
# app.bsky.feed.post#text has maxLength 3000 (bytes) besides maxGraphemes 300: a few
# graphemes loaded with combining marks can pass the one and break the other.
MAX_BYTES = 3000
TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"

# A tag starts after a space (or at the start) and ends before a space, punctuation or
# the end; inside, the same characters our hashtags are made of.
_TAG_RE = regex.compile(r"(?<!\S)#([\p{L}\p{M}\p{Nd}_]+)(?=[\s\p{P}]|$)")
_LETTER = regex.compile(r"\p{L}")


def bluesky_length(text: str) -> int:
    return grapheme_count(text)


def bluesky_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def is_tag(name: str) -> bool:
    """Whether `name` (without "#") is a tag Bluesky accepts and X does not read as a number."""
    return (bool(name) and _LETTER.search(name) is not None
            and grapheme_count(name) <= TAG_MAX_GRAPHEMES
            and len(name.encode("utf-8")) <= TAG_MAX_BYTES)


def _facet(text: str, start: int, end: int, feature: dict) -> dict:
    byte_start = len(text[:start].encode("utf-8"))
    byte_end = byte_start + len(text[start:end].encode("utf-8"))
    return {"index": {"byteStart": byte_start, "byteEnd": byte_end}, "features": [feature]}


def facets(text: str, url: str) -> list[dict]:
    """Link facets for every occurrence of `url`, tag facets for every #tag, by position."""
    found: list[tuple[int, dict]] = []
    start = text.find(url) if url else -1
    while start >= 0:
        found.append((start, _facet(text, start, start + len(url), {"$type": LINK, "uri": url})))
        start = text.find(url, start + len(url))
    for match in _TAG_RE.finditer(text):
        if is_tag(match.group(1)):
            feature = {"$type": TAG, "tag": match.group(1)}
            found.append((match.start(), _facet(text, match.start(), match.end(), feature)))
    return [facet for _, facet in sorted(found, key=lambda pair: pair[0])]


def card(url: str, title: str, description: str, thumb: str | None) -> dict:
    """What the publisher needs for an `app.bsky.embed.external` card; it uploads the
    thumbnail as a blob itself (that is I/O)."""
    return {"uri": url, "title": title, "description": description, "thumb": thumb}

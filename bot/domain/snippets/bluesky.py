"""Bluesky: 300 graphemes (and 3000 UTF-8 bytes), links and tags as rich-text facets.

A post's text is plain; what makes a link clickable or a tag searchable is a facet that
names the UTF-8 byte range it covers (`app.bsky.richtext.facet`). Bluesky's own client
shows a link as a short text (host and the start of the path, then "...") and keeps the
full address in the facet only; the post's limit counts the short text. A 115-character
UTM link costs about 40 then, as it does for a person posting from the app (`post_text`)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

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


# social-app's toShortUrl (src/lib/strings/url-helpers.ts): a path (with query and
# fragment) over 15 UTF-16 units keeps its first 13 and gets "...".
SHORT_PATH_MAX, SHORT_PATH_KEEP, ELLIPSIS = 15, 13, "..."
# @atproto/api's detectFacets, for links written with their scheme: after the start, a
# space or "(", up to the next space; a final . , ; : ! ? and an unmatched ")" are left out.
_LINK_RE = regex.compile(r"(?:^|(?<=[\s(]))https?://\S+", regex.IGNORECASE)
_LINK_TAIL = regex.compile(r"[.,;:!?]$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# What a WHATWG URL parser leaves as it is in a path, query or fragment.
_URL_SAFE = "/?#%:@!$&'()*+,;=-._~[]"


def short_url(url: str) -> str:
    """The link text Bluesky's client shows for `url`: "example.com/2026/11/harbou..."."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        host += f":{port}"
    path = "" if parts.path in ("", "/") else parts.path
    path += ("?" + parts.query if parts.query else "") + ("#" + parts.fragment if parts.fragment else "")
    path = quote(path, safe=_URL_SAFE)
    if _utf16_len(path) > SHORT_PATH_MAX:
        return host + path[:SHORT_PATH_KEEP] + ELLIPSIS
    return host + path


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def links(text: str) -> list[tuple[int, int]]:
    """(start, end) of each http(s) link in `text` as Bluesky's client detects it."""
    found = []
    for match in _LINK_RE.finditer(text):
        start, uri = match.start(), match.group()
        if _LINK_TAIL.search(uri):
            uri = uri[:-1]
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        found.append((start, start + len(uri)))
    return found


def shorten_links(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """`text` with every http(s) link replaced by its short text, as the client posts it,
    and (start, end, full url) of each short text in the new text."""
    out, spans, last = [], [], 0
    for start, end in links(text):
        out.append(text[last:start])
        position = sum(len(piece) for piece in out)
        shown = short_url(text[start:end])
        out.append(shown)
        spans.append((position, position + len(shown), text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out), spans


def bluesky_length(text: str) -> int:
    """Graphemes of the text as posted: links counted as their short text."""
    return grapheme_count(shorten_links(text)[0])


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


def post_text(text: str, url: str) -> tuple[str, list[dict]]:
    """The text as Bluesky's client would post it, and its facets: each http(s) link
    shortened (its facet keeps the full address), the short text of `url` where it already
    stands (the composer's output, an editor who kept it) linked to `url`, and #tags."""
    shown, spans = shorten_links(text)
    return shown, facets(shown, url, spans)


def facets(text: str, url: str, spans: list[tuple[int, int, str]] = ()) -> list[dict]:
    """Link facets for `spans` ((start, end, uri) of links in `text`) and for every occurrence of
    `url` or of its short text outside them, tag facets for every #tag, by position."""
    found: list[tuple[int, dict]] = []
    taken = [(start, end) for start, end, _ in spans]
    for start, end, uri in spans:
        found.append((start, _facet(text, start, end, {"$type": LINK, "uri": uri})))
    for shown in dict.fromkeys((url, short_url(url)) if url else ()):
        start = text.find(shown)
        while start >= 0:
            end = start + len(shown)
            if not any(start < e and s < end for s, e in taken):
                taken.append((start, end))
                found.append((start, _facet(text, start, end, {"$type": LINK, "uri": url})))
            start = text.find(shown, end)
    for match in _TAG_RE.finditer(text):
        if is_tag(match.group(1)):
            feature = {"$type": TAG, "tag": match.group(1)}
            found.append((match.start(), _facet(text, match.start(), match.end(), feature)))
    return [facet for _, facet in sorted(found, key=lambda pair: pair[0])]


def card(url: str, title: str, description: str, thumb: str | None) -> dict:
    """What the publisher needs for an `app.bsky.embed.external` card; it uploads the
    thumbnail as a blob itself (that is I/O)."""
    return {"uri": url, "title": title, "description": description, "thumb": thumb}

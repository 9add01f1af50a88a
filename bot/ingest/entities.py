"""Entity declarations in a feed's DOCTYPE, made harmless before feedparser reads it.

Pure functions over bytes. Entities are how billion-laughs and quadratic-blowup documents
multiply a few KB into GB (and external ones read files: XXE). A document that declares
any is rewritten with only the declarations that cannot blow up; references to the others
stay as literal text.
"""

from __future__ import annotations

import re

from feedparser.encodings import convert_to_utf8

from bot.errors import BadInput


class FeedRejected(BadInput):
    """The document is refused before parsing because reading it could hurt us (entity
    declarations we cannot take out safely)."""


_MISC = re.compile(rb"\s++|<\?.*?\?>|<!--.*?-->", re.S)
_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.I)
_DECL_BODY = re.compile(rb"""(?:[^"'>\[]++|"[^"]*+"|'[^']*+')*+""")
_SUBSET_ITEM = re.compile(
    rb"""\s++|<!--.*?-->|<\?.*?\?>|%[^;\s]++;|<!(?:[^"'>]++|"[^"]*+"|'[^']*+')*+>""", re.S)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


# An entity kept in a declaration we rewrite: one character reference, or a short plain
# text with nothing to expand inside it. Each reference then grows by at most ~10 times its
# own length, so a capped document stays bounded; nesting (billion laughs), long values
# (quadratic blowup), external (XXE) and parameter entities are left out.
_SAFE_ENTITY = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"(&\#\d{1,7};|&\#x[0-9A-Fa-f]{1,6};|[^"&%<]{0,32})"|"""
    rb"""'(&\#\d{1,7};|&\#x[0-9A-Fa-f]{1,6};|[^'&%<]{0,32})')\s*>""")


def defuse_entities(content: bytes, headers: dict[str, str], url: str):
    """The document as UTF-8 with its entity declarations made harmless, the headers to
    read it with, a warning when declarations were dropped, and what decoding found
    (feedparser's `encoding` and `bozo_exception`). Handing feedparser text it has nothing
    left to decode saves it a second encoding detection (chardet is slow).

    Entities are how billion-laughs and quadratic-blowup documents multiply a few KB into
    GB. The check runs on the text exactly as feedparser will decode it (its own
    convert_to_utf8), so UTF-16 or an odd declared charset cannot hide a declaration. It
    covers both the prolog as expat reads it and the "head" feedparser takes entities from
    (everything before the first `<name`). A document declaring entities is rewritten as
    UTF-8 with only the safe declarations; references to the others stay as literal text.
    Raises FeedRejected when a declaration sits where the rewrite cannot take it out.
    """
    probe: dict = {}
    # NULs are never XML; dropping them also exposes UTF-16 that was misread as UTF-8.
    text = convert_to_utf8(dict(headers), content, probe).replace(b"\x00", b"")
    media_type = headers["content-type"].split(";")[0].strip()
    utf8 = {**headers, "content-type": f"{media_type}; charset=utf-8"}
    if not _declares_entities(text):
        return text, utf8, None, probe
    text, bare, kept, dropped = _rewrite_doctypes(text)
    if _declares_entities(bare):  # the same text without the declarations we kept
        raise FeedRejected(f"{url}: entity declarations outside a readable DOCTYPE "
                           "(possible entity-expansion attack)")
    warning = None
    if dropped:
        warning = (f"the feed declares entities; {dropped} not expanded (nested, long, "
                   f"external or parameter entities can blow up; {kept} simple ones kept): "
                   "references to them stay as written")
    return text, utf8, warning, probe


def _declares_entities(text: bytes) -> bool:
    head = re.search(rb"<\w", text)
    end = max(_prolog_end(text), head.start() if head else 0) + len(b"<!ENTITY")
    return bool(_ENTITY_DECL.search(text, 0, end))


def _rewrite_doctypes(text: bytes) -> tuple[bytes, bytes, int, int]:
    """Each DOCTYPE of the prolog with its internal subset replaced by the safe entity
    declarations it held; (text, the text with no subsets at all, kept, dropped)."""
    out, bare, pos, kept, dropped = [], [], 0, 0, 0
    while True:
        misc = _MISC.match(text, pos)
        if misc:
            out.append(misc.group())
            bare.append(misc.group())
            pos = misc.end()
            continue
        if not _DOCTYPE.match(text, pos):
            break
        name_end = _DECL_BODY.match(text, pos + len(b"<!DOCTYPE")).end()
        declaration = text[pos:name_end]
        if text[name_end:name_end + 1] != b"[":
            if text[name_end:name_end + 1] != b">":
                break
            out.append(text[pos:name_end + 1])
            bare.append(text[pos:name_end + 1])
            pos = name_end + 1
            continue
        subset_end = _internal_subset_end(text, name_end + 1)
        if text[subset_end:subset_end + 1] != b">":
            break
        safe = []
        for item in _subset_items(text, name_end + 1):
            if _ENTITY_DECL.match(item):
                if _SAFE_ENTITY.fullmatch(item):
                    safe.append(item)
                else:
                    dropped += 1
        kept += len(safe)
        # One declaration a line, as feedparser's own DOCTYPE rewriting expects them.
        subset = b"".join(b"\n" + item for item in safe)
        out.append(declaration.rstrip() + (b" [" + subset + b"\n]" if safe else b"") + b">")
        bare.append(declaration + b">")
        pos = subset_end + 1
    return b"".join(out) + text[pos:], b"".join(bare) + text[pos:], kept, dropped


def _subset_items(data: bytes, pos: int) -> list[bytes]:
    items = []
    while True:
        item = _SUBSET_ITEM.match(data, pos)
        if not item:
            return items
        items.append(item.group())
        pos = item.end()


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

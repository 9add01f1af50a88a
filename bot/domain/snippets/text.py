"""Plain-text hygiene and grapheme-safe shortening, shared by every platform."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Callable

import grapheme
import regex

_CLUSTER = regex.compile(r"\X")
_SIMPLE = regex.compile(r"[\x00-\u02ff]*")
# Surrogates cannot be encoded, noncharacters and U+FEFF make X reject a post outright.
_DROP = regex.compile(r"[\p{Cs}\p{Noncharacter_Code_Point}\uFEFF]")
# Controls (tabs, newlines, NUL…) and every Unicode separator become one plain space.
_SPACES = regex.compile(r"[\p{Cc}\p{Z}]+")
# What a cut may not end on: it would leave "word ,…" or "word -…".
_TAIL = frozenset(" ,;:.-–—…")
ELLIPSIS = "…"


def plain(text: str | None) -> str:
    """One line of plain text, NFC, safe for every platform.

    The input is already plain text (ingest decoded entities once, DESIGN: `clean_title`);
    decoding again here would turn an editor's literal `&lt;` into markup, so this only
    folds whitespace and drops code points no platform accepts."""
    if not text:
        return ""
    text = _DROP.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return unicodedata.normalize("NFC", text)


def clusters(text: str) -> list[str]:
    """Extended grapheme clusters (current Unicode rules, via `regex`)."""
    return _CLUSTER.findall(text)


def grapheme_count(text: str) -> int:
    """Graphemes as the strictest likely server counts them.

    Servers segment with whatever Unicode their runtime ships (Ruby for Mastodon, ICU for
    Bluesky). Newer rules join more (e.g. Indic conjuncts, Unicode 15.1), so an older
    server sees more clusters than we would: take the larger of a current (`regex`) and an
    older (`grapheme`, Unicode 13) segmentation so a text we accept is accepted there.

    A line feed is a cluster of its own under every version of the rules, so the count is
    the sum over lines; lines are cached, since fitting a post re-measures the same lines."""
    lines = text.split("\n")
    crlf = sum(1 for line in lines[:-1] if line.endswith("\r"))  # CR LF is one cluster
    return len(lines) - 1 - crlf + sum(_line_graphemes(line) for line in lines)


@lru_cache(maxsize=4096)
def _line_graphemes(line: str) -> int:
    if _SIMPLE.fullmatch(line):
        # Below U+0300 nothing combines, except CR LF.
        return len(line) - line.count("\r\n")
    return max(len(clusters(line)), grapheme.length(line))


def _cut(parts: list[str], keep: int) -> str:
    """The first `keep` clusters, trailing spaces and punctuation dropped, plus "…"."""
    head = parts[:keep]
    while head and (head[-1].isspace() or head[-1] in _TAIL):
        head.pop()
    return "".join(head) + ELLIPSIS if head else ""


def _largest(count: int, make: Callable[[int], str], fits: Callable[[str], bool]) -> str | None:
    """The longest of `make(0..count-1)` (growing with the index) that fits.

    Binary search: lengths grow with the index almost always. Where they do not (a cut
    that turns "example.com" into plain text changes X's count), the answer may be a bit
    shorter than the best, but every answer returned has been measured and fits."""
    lo, hi, best = 0, count - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = make(mid)
        if fits(candidate):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def shorten(text: str, fits: Callable[[str], bool], min_keep: int = 1) -> str:
    """The longest shortening of `text` that `fits`, or "" when none does.

    Cuts at a word boundary with "…"; a text without usable spaces (CJK, one long word)
    is cut at a grapheme boundary instead, so a ZWJ emoji, a flag or a letter with its
    combining marks is never split. A word cut is preferred unless a grapheme cut would
    keep more than twice as much. A cut keeping fewer than `min_keep` graphemes is not
    offered: a two-letter stub of a summary says less than no summary."""
    parts = clusters(text)
    first = max(min_keep, 1)
    spaces = [i for i, c in enumerate(parts) if i >= first and c.isspace()]
    best = _largest(len(spaces), lambda j: _cut(parts, spaces[j]), fits)
    kept = len(clusters(best)) - 1 if best else 0
    # Only a grapheme cut keeping more than twice the word cut could replace it; one trial
    # tells whether there is one, which spares a second search in the usual case.
    first = max(first, 2 * kept + 1)
    if first < len(parts) and (not best or fits(_cut(parts, first))):
        best = _largest(len(parts) - first, lambda k: _cut(parts, k + first), fits) or best
    return best or ""

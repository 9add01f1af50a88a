"""Hashtags from an article's categories."""

from __future__ import annotations

import unicodedata
from typing import Iterable

import regex

from .bluesky import is_tag
from .text import plain

# Apostrophes vanish inside a word ("don't" → "dont"); other punctuation, symbols and
# emoji separate words ("COVID-19" → "COVID", "19"; "science/tech" → "Science", "Tech").
_APOSTROPHES = regex.compile(r"['’‘`´]")
_NOT_WORD = regex.compile(r"[^\p{L}\p{M}\p{Nd}_]+")
_LEADING_MARKS = regex.compile(r"^\p{M}+")
_CASED = frozenset({"Lu", "Ll", "Lt"})


def _tag_char(char: str) -> bool:
    # Python's Unicode tables (older than `regex`'s) decide: a letter assigned only in the
    # newest Unicode is not yet one to every platform's hashtag parser.
    category = unicodedata.category(char)
    return char == "_" or category[0] in "LM" or category == "Nd"


def _words(text: str, apostrophe: str = "") -> list[str]:
    words = _NOT_WORD.split(_APOSTROPHES.sub(apostrophe, plain(text)))
    return [w for w in ("".join(filter(_tag_char, word)) for word in words) if w]


def _camel(words: list[str]) -> str:
    """CamelCase for scripts with case; scripts without case ("تغير المناخ") keep a visible
    word break as "_", the usual convention there, instead of running words together."""
    out = ""
    for word in words:
        # A tag starting with a combining mark would put the mark on "#" or on the
        # previous word's last letter.
        word = _LEADING_MARKS.sub("", word)
        if not word:
            continue
        first = word[0]
        if unicodedata.category(first) in _CASED:
            word = first.title() + word[1:]
        elif out and unicodedata.category(first).startswith("L"):
            out += "_"
        out += word
    out = unicodedata.normalize("NFC", "".join(filter(_tag_char, out)))
    return _LEADING_MARKS.sub("", out)


def _title_readings(title: str) -> list[list[str]]:
    """The title's words, casefolded, read with apostrophes joining ("don't" → "dont") and
    splitting ("Europe's" → "europe", "s")."""
    return [[w.casefold() for w in _words(title, joiner)] for joiner in ("", " ")]


def _in_title(words: list[str], body: str, readings: list[list[str]]) -> bool:
    """The title already says it: as one word ("Europe", "#ClimateChange") or as the
    category's words in a row ("climate change")."""
    wanted = [w.casefold() for w in words]
    n = len(wanted)
    for title_words in readings:
        if body.casefold() in title_words:
            return True
        if n and any(title_words[i:i + n] == wanted for i in range(len(title_words) - n + 1)):
            return True
    return False


def hashtags_from_categories(categories: Iterable[str], title: str) -> tuple[str, ...]:
    """Hashtags ("#ClimateChange", "#Économie", "#تغير_المناخ") in the categories' order.

    Dropped: tags without a letter (X does not link "#2024"), tags longer than Bluesky
    allows (64 graphemes), tags the title already contains, and repeats (case-insensitive)."""
    readings = _title_readings(title)
    seen: set[str] = set()
    tags: list[str] = []
    for category in categories:
        words = _words(category)
        body = _camel(words)
        key = body.casefold()
        if not is_tag(body) or key in seen or _in_title(words, body, readings):
            continue
        seen.add(key)
        tags.append("#" + body)
    return tuple(tags)

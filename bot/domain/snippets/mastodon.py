"""Mastodon: graphemes, with every URL counted as the instance's reserved length.

Mastodon's StatusLengthValidator replaces each URL that twitter-text's extractor finds
(protocol required) by `characters_reserved_per_url` placeholder characters and counts
grapheme clusters. We use the Python port of the same extractor. Known deviations, all
rare in article titles: Mastodon also links dat/ipfs/gemini… schemes and ends paths on a
slightly different character set; and it counts `@user@domain` as `@user`, which we do
not, so mentions make our count higher (safe), never lower."""

from __future__ import annotations

from functools import lru_cache

from twitter_text import extract_urls_with_indices

from .text import grapheme_count
from .x import pieces

MAX_CHARACTERS = 500
CHARACTERS_RESERVED_PER_URL = 23


@lru_cache(maxsize=4096)
def _countable(piece: str, url_length: int) -> str:
    """The piece as Mastodon counts it: each URL replaced by `url_length` placeholders."""
    out: list[str] = []
    pos = 0
    for entity in extract_urls_with_indices(piece, extract_urls_without_protocol=False):
        start, end = entity["indices"]
        out += [piece[pos:start], "x" * url_length]
        pos = end
    out.append(piece[pos:])
    return "".join(out)


def mastodon_length(text: str, characters_reserved_per_url: int = CHARACTERS_RESERVED_PER_URL,
                    ) -> int:
    """Mastodon's count of `text` (measured piece by piece, see `x.pieces` for why)."""
    countable = (_countable(piece, characters_reserved_per_url) for piece in pieces(text))
    return grapheme_count("".join(countable))

"""X (Twitter): the weighted length of twitter-text config v3.

The counting tables (CJK and emoji weigh 2, every URL 23, NFC first) come from
twitter-text-parser, a port of Twitter's own library checked against its conformance
suite; re-deriving them here would drift from what X enforces."""

from __future__ import annotations

from functools import lru_cache

import regex
from twitter_text import parse_tweet
from twitter_text.config import config as _CONFIG
from twitter_text.has_invalid_characters import has_invalid_characters

LIMIT = 280
URL_LENGTH = 23

# twitter-text's own space characters (its `spaces_group`, less U+180E, no longer a space).
# Its URL regex runs in time quadratic in the length of a run of non-space characters
# (seconds for a few thousand emoji), so texts are measured piece by piece, one piece per
# run of spaces and the word after it, and pieces are cached across the many trial
# renders of one shortening. This changes no count: neither URLs nor emoji sequences
# contain these spaces, NFC never composes across them, a URL after a space sees the same
# preceding character, and a TLD's lookahead accepts a space and the end alike.
_PIECE = regex.compile(
    r"[\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*"
    r"[^\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*")


def pieces(text: str) -> list[str]:
    """`text` split before each run of spaces; the pieces join back to `text`."""
    return [piece for piece in _PIECE.findall(text) if piece]


@lru_cache(maxsize=8)
def _options(url_length: int) -> dict:
    return {**_CONFIG["defaults"], "transformed_url_length": url_length}


@lru_cache(maxsize=4096)
def _piece_length(piece: str, url_length: int) -> int:
    return parse_tweet(piece, _options(url_length)).weightedLength


def x_length(text: str, url_length: int = URL_LENGTH) -> int:
    """X's weighted length of `text`."""
    return sum(_piece_length(piece, url_length) for piece in pieces(text))


def x_valid(text: str, limit: int = LIMIT, url_length: int = URL_LENGTH) -> bool:
    """Whether X accepts `text`: not empty, within `limit`, no forbidden code points."""
    return 0 < x_length(text, url_length) <= limit and not has_invalid_characters(text)

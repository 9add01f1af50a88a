"""When a sent post's public counts are fetched back (issue 14): pure schedule arithmetic.

Engagement comes mostly in a post's first hours, so fetches thin out: 1 h, 6 h, 24 h and
72 h after sending, then never again. A fetch that happens late (a backlog, a 429 that
pushed it past a step) does not replay the steps it missed: the next one is the first step
still ahead of it, so a post costs at most four calls per account's rate limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

STEPS = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24), timedelta(hours=72))


def first_fetch_at(sent_at: datetime) -> datetime:
    return sent_at + STEPS[0]


def next_fetch_at(sent_at: datetime, fetched_at: datetime) -> datetime | None:
    """The first step after `fetched_at`, or None when the 72-hour fetch is done."""
    for step in STEPS:
        if sent_at + step > fetched_at:
            return sent_at + step
    return None


def deferred_fetch_at(now: datetime, retry_after: float | None, fallback: timedelta) -> datetime:
    """After a refused fetch: when the platform said its limit resets (a 429), or after
    `fallback` when it named no time (a 5xx, the network)."""
    wait = timedelta(seconds=retry_after) if retry_after else fallback
    return now + max(wait, timedelta(seconds=1))

"""When to poll a source next: pure arithmetic over plain values."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_poll_after_success(now: datetime, interval: int) -> datetime:
    return now + timedelta(seconds=interval)


def next_poll_after_failure(now: datetime, interval: int, failures: int, max_backoff: int,
                            retry_after: float | None = None,
                            rng: random.Random | None = None) -> datetime:
    """Exponential backoff: interval × 2^(failures-1), capped at `max_backoff`, never sooner
    than the remote asked. Up to 10 % jitter, so sources that failed together (one host down)
    do not all come back in the same second."""
    delay = min(interval * 2 ** max(failures - 1, 0), max_backoff)
    delay += delay * 0.1 * (rng or random).random()
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)

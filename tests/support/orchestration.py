"""Fixtures and helpers shared by the orchestration tests: settings on the test Redis with
a queue of their own, and a feed served by the local HTTP server."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
import redis

from tests.conftest import REDIS_URL
from tests.support.celeryworker import unique_queue


@pytest.fixture
def queued(settings):
    """The `settings` fixture (SQLite or PostgreSQL) plus the test Redis and a unique queue;
    the queue's keys are deleted afterwards."""
    yielded = settings.model_copy(update={"redis_url": REDIS_URL, "queue": unique_queue()})
    yield yielded
    flush(yielded.queue)


def flush(queue: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
    finally:
        client.close()


def rss(items: list[tuple[str, str]]) -> bytes:
    """A small RSS feed: (title, url) per item, published now."""
    now = format_datetime(datetime.now(timezone.utc))
    body = "".join(f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid>"
                   f"<pubDate>{now}</pubDate><description>{t}, in full.</description></item>"
                   for t, u in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title>'
            f"<link>https://news.example.org/</link>{body}</channel></rss>").encode()

"""Fetching sent posts' public counts back from the platforms (issue 14).

Each sent share post carries `metrics_next_at`: the dispatcher finds the due ones (bounded
per tick) and enqueues `pressbot.fetch_post_metrics` by id; the task calls `fetch_one`.
The schedule decays (bot.domain.post_metrics: 1 h, 6 h, 24 h, 72 h after sending). Claim,
then act, then record (DESIGN principle 2): the claim moves `metrics_next_at` a lease
ahead, so a second worker, or the same message delivered twice, does nothing, and a worker
that dies mid-fetch leaves the post due again when the lease ends. Nothing sleeps: a 429
records the platform's reset as the next due time and the dispatcher comes back then.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.config import Settings
from bot.domain.post_metrics import deferred_fetch_at, first_fetch_at, next_fetch_at
from bot.errors import PermanentError, TransientError
from bot.social.base import AuthError, Publisher
from bot.social.factory import build_publisher
from bot.store.db import session_scope
from bot.store.models import PostState, SharePost, SocialAccount, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)          # longer than one API call at a 30 s timeout
RETRY_FALLBACK = timedelta(minutes=15)   # a 5xx or network error that named no wait
AUTH_RETRY = timedelta(hours=24)      # refused credentials: an editor may fix them

COUNTS = ("likes", "reposts", "replies", "views")


def start_schedule(post: SharePost, sent_at: datetime) -> None:
    """A post just went out (again, after a re-share): its counts start over."""
    for name in COUNTS:
        setattr(post, name, None)
    post.metrics_at, post.metrics_note = None, None
    post.metrics_next_at = first_fetch_at(sent_at)


def due_posts(settings: Settings, now: datetime, limit: int) -> list[tuple[int, datetime]]:
    """(post id, due time) of sent posts whose next fetch has come, oldest first, on
    accounts that work (a paused account or one whose credentials were refused waits)."""
    with session_scope(settings.effective_database_url) as session:
        return [tuple(row) for row in session.execute(
            select(SharePost.id, SharePost.metrics_next_at).join(SocialAccount)
            .where(SharePost.state == PostState.SENT, SharePost.remote_id.is_not(None),
                   SharePost.metrics_next_at <= now, SocialAccount.active.is_(True),
                   SocialAccount.needs_attention.is_(None))
            .order_by(SharePost.metrics_next_at).limit(limit))]


def fetch_one(settings: Settings, post_id: int, *, now: datetime | None = None,
              publisher: Publisher | None = None) -> str:
    """Fetch one post's counts if they are due; returns what happened (for the log):
    "recorded", "not available", "deferred", "stopped" or "not due"."""
    now = now or utcnow()
    with session_scope(settings.effective_database_url) as session:
        claimed = session.execute(
            update(SharePost).where(SharePost.id == post_id, SharePost.state == PostState.SENT,
                                    SharePost.remote_id.is_not(None),
                                    SharePost.metrics_next_at <= now)
            .values(metrics_next_at=now + LEASE)).rowcount
        session.commit()
        if claimed != 1:
            return "not due"
        post = session.get(SharePost, post_id)
        account = session.get(SocialAccount, post.account_id)
        publisher = publisher or build_publisher(settings, account.platform, account.name,
                                                 account.credentials_encrypted, demo=account.demo)
        try:
            counts = publisher.metrics(post.remote_id)
        except TransientError as exc:
            post.metrics_next_at = deferred_fetch_at(now, exc.retry_after, RETRY_FALLBACK)
            post.metrics_note = f"{exc} (next try {post.metrics_next_at:%Y-%m-%d %H:%M} UTC)"
            return "deferred"
        except AuthError as exc:
            post.metrics_next_at = now + AUTH_RETRY
            post.metrics_note = str(exc)
            return "deferred"
        except PermanentError as exc:
            # The post is gone (deleted, hidden): no later fetch can succeed.
            post.metrics_next_at, post.metrics_note = None, str(exc)
            return "stopped"
        if counts is None:
            post.metrics_next_at = None
            post.metrics_note = f"not available: {account.platform} gives pressbot no counts"
            return "not available"
        for name in COUNTS:
            setattr(post, name, getattr(counts, name))
        post.metrics_at, post.metrics_note = now, None
        post.metrics_next_at = next_fetch_at(post.sent_at or now, now)
        return "recorded"


def metrics_dict(post: SharePost) -> dict:
    """The counts as the CLI and the API show them: null where the platform gives none."""
    return {"metrics": {name: getattr(post, name) for name in COUNTS}
            | {"at": post.metrics_at.isoformat() if post.metrics_at else None,
               "next_at": post.metrics_next_at.isoformat() if post.metrics_next_at else None,
               "note": post.metrics_note}}

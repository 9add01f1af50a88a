"""The real Celery app (bot.tasks.app) with shorter waits, for tests that need a retry to come
in seconds: bot.services.shares waits at least RETRY_BASE (2 minutes) before retrying a post,
even when the platform's reset comes sooner, and a delivery batch's claim (digests.LEASE)
lasts 5 minutes before another sender may take its rows over.
`celery -A tests.support.celery_app worker`."""

from __future__ import annotations

from datetime import timedelta

from bot.services import digests, shares
from bot.tasks import app  # noqa: F401  (what `celery -A` loads)

shares.RETRY_BASE = timedelta(seconds=1)
digests.LEASE = timedelta(seconds=3)

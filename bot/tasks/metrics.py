"""Fetching one sent post's public counts back. The service claims, fetches and records;
a 429 records the platform's reset as the post's next due time, and the dispatcher
enqueues it again then (no retry countdown held in a worker)."""

from __future__ import annotations

from bot.config import get_settings
from bot.services import post_metrics
from bot.tasks import app
from bot.tasks.base import call_service, log
from bot.tasks.config import LIMITS


@app.task(bind=True, name="pressbot.fetch_post_metrics",
          soft_time_limit=LIMITS["fetch_post_metrics"][0],
          time_limit=LIMITS["fetch_post_metrics"][1])
def fetch_post_metrics(self, post_id: int) -> None:
    outcome = call_service(self, post_metrics.fetch_one, get_settings(), post_id)
    if outcome is not None:
        log.info("post %s counts: %s", post_id, outcome)

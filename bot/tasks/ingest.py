"""Polling a source. The service records failures (with backoff) on the source itself."""

from __future__ import annotations

from bot.config import get_settings
from bot.services import ingest
from bot.tasks import app
from bot.tasks.base import call_service, log
from bot.tasks.config import LIMITS


@app.task(bind=True, name="pressbot.poll_source", soft_time_limit=LIMITS["poll_source"][0],
          time_limit=LIMITS["poll_source"][1])
def poll_source(self, source_id: int) -> None:
    report = call_service(self, ingest.poll_source, get_settings(), source_id)
    if report is not None:
        outcome = report.error or (f"{len(report.added)} added, {len(report.updated)} updated, "
                                   f"{len(report.unchanged)} unchanged")
        log.info("source %s %s: %s", source_id, report.status, outcome)

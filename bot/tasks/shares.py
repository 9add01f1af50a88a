"""Publishing one share post. The service claims, publishes and records; a transient
failure puts the post back as scheduled at the time the platform named, and the
dispatcher enqueues it again then."""

from __future__ import annotations

from bot.config import get_settings
from bot.services import shares
from bot.tasks import app
from bot.tasks.base import call_service, log
from bot.tasks.config import LIMITS


@app.task(bind=True, name="pressbot.publish_post", soft_time_limit=LIMITS["publish_post"][0],
          time_limit=LIMITS["publish_post"][1])
def publish_post(self, post_id: int) -> None:
    report = call_service(self, shares.publish_one, get_settings(), post_id)
    if report is None:
        return
    outcome = ("sent" if post_id in report.sent else "retry later" if post_id in report.retrying
               else "failed" if post_id in report.failed else "not due or taken by another worker")
    log.info("post %s: %s", post_id, outcome)

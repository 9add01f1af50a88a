"""Email digests: build a scheduled edition and fan its deliveries out in batch tasks
(default 500 recipients each: one task per recipient would cost more than the email)."""

from __future__ import annotations

from datetime import datetime

from bot.config import get_settings
from bot.services import digests, dispatch_email
from bot.services.dispatch import DELIVER_BATCH
from bot.store.models import utcnow
from bot.tasks import app, enqueuer
from bot.tasks.base import call_service, log
from bot.tasks.config import LIMITS


@app.task(bind=True, name="pressbot.build_edition", soft_time_limit=LIMITS["build_edition"][0],
          time_limit=LIMITS["build_edition"][1])
def build_edition(self, list_id: int, slot_iso: str) -> None:
    settings = get_settings()
    built = call_service(self, dispatch_email.build_scheduled, settings, list_id,
                         datetime.fromisoformat(slot_iso), utcnow())
    if built is None:
        return
    edition_id, due_rows = built
    if edition_id is None:
        log.info("list %s, slot %s: nothing new (skipped)", list_id, slot_iso)
        return
    batches = dispatch_email.batches_for(settings, due_rows)
    enqueue = enqueuer(settings, app)
    for _ in range(batches):  # the rows are committed: enqueue after commit
        enqueue(DELIVER_BATCH, [edition_id])
    log.info("list %s: edition %s built, %s deliveries in %s batch%s", list_id, edition_id,
             due_rows, batches, "" if batches == 1 else "es")


@app.task(bind=True, name="pressbot.deliver_batch", soft_time_limit=LIMITS["deliver_batch"][0],
          time_limit=LIMITS["deliver_batch"][1])
def deliver_batch(self, edition_id: int) -> None:
    settings = get_settings()
    report = call_service(self, dispatch_email.deliver_one_batch, settings, edition_id)
    if report is not None and report.claimed:
        log.info("edition %s batch: %s sent, %s deferred, %s failed, %s suppressed%s", edition_id,
                 report.sent, report.deferred, report.failed, report.suppressed,
                 f" ({report.error})" if report.error else "")
        # A tick fans an edition out in at most MAX_BATCH_MESSAGES messages and then waits for
        # the edition's due time to move; a bigger edition would wait REDISPATCH_AFTER for
        # each further round. So each batch that went well hands on to one more while rows
        # are still due: the fan-out keeps its width until the edition is done. Claims are
        # atomic, so a surplus message finds nothing and ends the chain.
        if not report.error and digests.due_count(settings, edition_id, utcnow()):
            enqueuer(settings, app)(DELIVER_BATCH, [edition_id])

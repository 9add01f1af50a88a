"""Reading the bounce mailbox on the dispatcher's tick (listmonk's "bounce mailbox").

Each tick (bot.services.dispatch) reads at most PRESSBOT_BOUNCE_MAILBOX_BATCH messages of
PRESSBOT_BOUNCE_MAILBOX_URL for at most PRESSBOT_BOUNCE_MAILBOX_TIMEOUT seconds, under the
dispatch lock (so two beats never read the same mailbox at once). Every message is
classified (bot.newsletter.inbound), acted on in its own transaction
(bot.services.bounces), and only then removed: a database failure leaves it for the next
tick, and acting twice on the same message changes nothing. Auto-replies and messages we
cannot use are removed too (moved, with PRESSBOT_BOUNCE_MAILBOX_MOVE_TO), or the first N
of them would block the mailbox for ever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from time import monotonic

from bot.config import Settings
from bot.errors import BadInput, TransientError
from bot.mail.mailbox import open_mailbox
from bot.newsletter.inbound import classify
from bot.services.bounces import Resolver, apply_inbound
from bot.store.db import session_scope

log = logging.getLogger(__name__)
ORIGIN = "bounce mailbox"


@dataclass
class MailboxReport:
    read: int = 0
    removed: int = 0
    results: list[dict] = field(default_factory=list)   # one per event (bounces.apply_event)
    error: str | None = None

    def to_json(self) -> dict:
        return {"read": self.read, "removed": self.removed, "results": self.results,
                "error": self.error}


def poll(settings: Settings, *, limit: int | None = None) -> MailboxReport:
    """One bounded pass over the mailbox. Raises TransientError when the server cannot be
    reached or refuses us, BadInput when the settings are unusable."""
    report = MailboxReport()
    started, budget = monotonic(), settings.bounce_mailbox_timeout
    limit = settings.bounce_mailbox_batch if limit is None else limit
    resolver = Resolver.from_settings(settings)
    with open_mailbox(settings.bounce_mailbox_url, timeout=budget,
                      move_to=settings.bounce_mailbox_move_to) as box:
        for key, raw in box.messages(limit):
            report.read += 1
            inbound = classify(raw, secret=resolver.secret, bounce_address=resolver.bounce_address,
                               unsubscribe_address=settings.unsubscribe_mailto)
            with session_scope(settings.effective_database_url) as session:
                done = apply_inbound(session, resolver, inbound, origin=ORIGIN)
            report.results += [{**d, "subject": inbound.subject[:200]} for d in done]
            box.remove(key)
            report.removed += 1
            if monotonic() - started > budget:
                break   # the rest waits for the next tick
    return report


def poll_on_tick(settings: Settings) -> dict | None:
    """The dispatcher's call: None without a mailbox configured; never raises for the
    mailbox's own failures (the tick's other work must go on), it logs and reports them."""
    if not settings.bounce_mailbox_url:
        return None
    try:
        report = poll(settings)
    except (TransientError, BadInput) as exc:
        log.warning("bounce mailbox: %s", exc)
        return MailboxReport(error=str(exc)).to_json()
    if report.read:
        log.info("bounce mailbox: %d read, %s", report.read,
                 ", ".join(f"{r.get('kind')} {r.get('outcome')}" for r in report.results))
    return report.to_json()

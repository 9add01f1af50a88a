"""An edition sent for real through a local SMTP server that refuses one address at RCPT."""

from __future__ import annotations

from datetime import datetime

from bot.mail.transport import SmtpTransport
from bot.services import digests
from tests.support.smtpserver import SmtpServer


def send_with_refusal(settings, list_name: str, refused: str, reply: str, at: datetime):
    """Build `list_name`'s edition for `at`, create its deliveries and send them; the server
    answers `reply` to RCPT TO `refused`. Returns (edition id, the send report)."""
    with SmtpServer() as smtp:
        smtp.handler.rcpt_replies[refused] = reply
        edition_id = digests.build_edition(settings, list_name, scheduled_for=at, now=at)
        digests.create_deliveries(settings, edition_id)
        with SmtpTransport(smtp.url, timeout=10) as transport:
            return edition_id, digests.send_edition(settings, edition_id, transport=transport, now=at)

"""Reading what comes back: delivery status notifications (RFC 3464) and abuse complaints
(ARF, RFC 5965). Pure parsing with the standard library; what to do about them is
`bot.services.subscribers.import_bounces`.

A hard bounce is `Action: failed` with a 5.x.x status: the mailbox does not take mail and
retrying will not change that. Anything else (4.x.x, `delayed`) is transient and only
reported. Both kinds of report carry a copy of the original message (or its headers); its
List-Unsubscribe URL holds our signed token, which identifies the recipient even when a
provider redacts the address in a complaint.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from bot.errors import BadInput

HARD, SOFT, DELAYED, COMPLAINT, FEEDBACK = "hard", "soft", "delayed", "complaint", "feedback"
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_URL = re.compile(r"<(https?://[^>\s]+)>")


class NotAReport(BadInput):
    """The message is neither a DSN nor an ARF report (an auto-reply, a person's answer…)."""


@dataclass(frozen=True)
class BounceEvent:
    kind: str                         # hard, soft, delayed, complaint, feedback (not abuse)
    recipient: str | None             # as the report gives it; None when absent or redacted
    action: str | None = None         # DSN Action, lower case
    status: str | None = None         # DSN Status, e.g. 5.1.1
    diagnostic: str | None = None     # DSN Diagnostic-Code, unfolded
    feedback_type: str | None = None  # ARF Feedback-Type, lower case
    list_unsubscribe: tuple[str, ...] = ()   # https URLs from the original message
    original_message_id: str | None = None
    # The original message's envelope sender as a provider's event reports it (our VERP
    # address, bot.newsletter.verp), and the provider's own id for the event.
    return_path: str | None = None
    event_id: str | None = None

    @property
    def detail(self) -> str:
        """One line for a report or a suppression record."""
        if self.kind in (COMPLAINT, FEEDBACK):
            return f"feedback-type {self.feedback_type}"
        return " ".join(p for p in (self.action, self.status, self.diagnostic) if p)


def parse_report(raw: bytes) -> list[BounceEvent]:
    """The events in one message (one per recipient of a DSN; one per complaint).

    Raises NotAReport for anything that is not a multipart/report we understand."""
    # compat32 never raises on the malformed headers real bounces are full of.
    message = email.message_from_bytes(raw, policy=policy.compat32)
    report = next((part for part in message.walk()
                   if part.get_content_type() == "multipart/report"), None)
    if report is None:
        raise NotAReport("not a delivery status notification or feedback report "
                         "(no multipart/report part)")
    children = report.get_payload()
    if not isinstance(children, list):
        raise NotAReport("multipart/report without parts")
    original = _original_headers(children)
    for child in children:
        kind = child.get_content_type()
        if kind == "message/delivery-status":
            return _dsn_events(child, original)
        if kind == "message/feedback-report":
            return _arf_events(child, original)
    report_type = report.get_param("report-type") or "none"
    raise NotAReport(f"report-type {report_type!s} is neither delivery-status nor feedback-report")


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    if isinstance(payload, str):  # a parser that left it as text
        return [HeaderParser().parsestr(chunk.strip() + "\n")
                for chunk in re.split(r"\r?\n\s*\r?\n", payload) if chunk.strip()]
    return []


def _field(block: Message, name: str) -> str | None:
    value = block.get(name)
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _address(field: str | None) -> str | None:
    """'rfc822; <alice@example.org>' → 'alice@example.org' (also the utf-8 type of RFC 6533)."""
    if not field:
        return None
    _, _, value = field.rpartition(";")
    value = value.strip().strip("<>").strip()
    return value if "@" in value else None


def _dsn_events(part: Message, original: Message | None) -> list[BounceEvent]:
    events = []
    # The first block is per-message (Reporting-MTA…); the rest are per-recipient.
    for block in _blocks(part):
        recipient = _address(_field(block, "Original-Recipient")) or _address(
            _field(block, "Final-Recipient"))
        action = (_field(block, "Action") or "").lower() or None
        if recipient is None and action is None:
            continue
        if action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: not a bounce
        status_match = _STATUS.search(_field(block, "Status") or "")
        status = status_match.group(0) if status_match else None
        if action == "delayed":
            kind = DELAYED
        else:
            kind = HARD if status and status.startswith("5") else SOFT
        events.append(BounceEvent(kind=kind, recipient=recipient, action=action, status=status,
                                  diagnostic=_field(block, "Diagnostic-Code"),
                                  **_from_original(original)))
    if not events and not any(_field(b, "Final-Recipient") for b in _blocks(part)):
        raise NotAReport("delivery-status report names no recipient")
    return events


def _arf_events(part: Message, original: Message | None) -> list[BounceEvent]:
    fields = _blocks(part)
    if not fields:
        raise NotAReport("feedback report without fields")
    block = fields[0]
    feedback_type = (_field(block, "Feedback-Type") or "").lower()
    if not feedback_type:
        raise NotAReport("feedback report without Feedback-Type")
    recipients = [_address(v) for v in block.get_all("Original-Rcpt-To") or []]
    recipients = [r for r in recipients if r]
    if not recipients and original is not None:
        recipients = [addr for _, addr in getaddresses(original.get_all("To") or []) if "@" in addr]
    kind = COMPLAINT if feedback_type == "abuse" else FEEDBACK
    extra = _from_original(original)
    return [BounceEvent(kind=kind, recipient=r, feedback_type=feedback_type, **extra)
            for r in recipients or [None]]


def _original_headers(children: list) -> Message | None:
    """The returned original message (message/rfc822) or its headers (text/rfc822-headers)."""
    for child in children:
        kind = child.get_content_type()
        if kind == "message/rfc822":
            inner = child.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0]
        if kind == "text/rfc822-headers":
            text = child.get_payload(decode=True) or b""
            return HeaderParser().parsestr(text.decode("utf-8", "replace"))
    return None


def _from_original(original: Message | None) -> dict:
    if original is None:
        return {}
    unsubscribe = " ".join(str(v) for v in original.get_all("List-Unsubscribe") or [])
    return {"list_unsubscribe": tuple(_URL.findall(unsubscribe)),
            "original_message_id": _field(original, "Message-ID")}

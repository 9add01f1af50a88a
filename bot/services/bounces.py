"""Acting on bounces and complaints (`pressbot bounces import FILE...`).

Hard bounce: the subscriber's status becomes bounced and the address is suppressed.
Complaint: unsubscribed from every list, status complained, suppressed. Soft bounces and
delays are only reported: the delivery's own retry handles them. The recipient is found
by the signed token in the returned message's List-Unsubscribe URL when there is one (it
survives providers that redact addresses in complaints), else by the reported address.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain.addresses import normalize_email
from bot.errors import BadInput
from bot.newsletter.bounces import COMPLAINT, HARD, BounceEvent, parse_report
from bot.newsletter.tokens import BadToken, read_token
from bot.store.db import session_scope
from bot.store.mailing import Subscriber
from bot.store.subscribers import record_complaint, record_hard_bounce


@dataclass
class BounceReport:
    hard: list[dict] = field(default_factory=list)          # suppressed, status bounced
    complaints: list[dict] = field(default_factory=list)    # unsubscribed, status complained
    soft: list[dict] = field(default_factory=list)          # reported only (soft, delayed, other feedback)
    unmatched: list[dict] = field(default_factory=list)     # no usable recipient address
    unparseable: list[dict] = field(default_factory=list)   # {"file", "reason"}

    def to_json(self) -> dict:
        return asdict(self)


def _recipient(session: Session, secret: str, event: BounceEvent) -> str | None:
    """The normalised address the event is about, or None."""
    for url in event.list_unsubscribe:
        _, _, token = url.rstrip("/").rpartition("/unsubscribe/")
        if not token:
            continue
        try:
            sid, _ = read_token(secret, "unsubscribe", token)
        except BadToken:
            continue
        subscriber = session.get(Subscriber, sid)
        if subscriber is not None:
            return subscriber.email
    try:
        return normalize_email(event.recipient) if event.recipient else None
    except BadInput:
        return None


def import_bounces(settings: Settings, paths: Iterable[str | Path]) -> BounceReport:
    """Apply every report in `paths` (one message per file). A file that is not a DSN or
    ARF report (an auto-reply, say) is named in the report and the rest go on."""
    report = BounceReport()
    secret = settings.effective_secret_key()
    for path in map(Path, paths):
        try:
            events = parse_report(path.read_bytes())
        except OSError as exc:
            report.unparseable.append({"file": str(path), "reason": exc.strerror or str(exc)})
            continue
        except BadInput as exc:
            report.unparseable.append({"file": str(path), "reason": str(exc)})
            continue
        # One transaction per file: a failure later on loses nothing already applied.
        with session_scope(settings.effective_database_url) as session:
            for event in events:
                _apply(session, secret, event, path, report)
    return report


def _apply(session: Session, secret: str, event: BounceEvent, path: Path, report: BounceReport) -> None:
    entry = {"file": str(path), "email": event.recipient, "kind": event.kind, "detail": event.detail}
    address = _recipient(session, secret, event) if event.kind in (HARD, COMPLAINT) else None
    if event.kind not in (HARD, COMPLAINT):
        report.soft.append(entry)
    elif address is None:
        report.unmatched.append(entry)
    elif event.kind == HARD:
        known = record_hard_bounce(session, address, detail=event.detail, origin=path.name)
        report.hard.append({**entry, "email": known.email if known else address, "subscriber": bool(known)})
    else:
        known = record_complaint(session, address, origin=path.name)
        report.complaints.append({**entry, "email": known.email if known else address,
                                  "subscriber": bool(known)})

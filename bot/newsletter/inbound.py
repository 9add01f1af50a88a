"""What a message in the bounce mailbox is: a bounce, a complaint, a `mailto:` unsubscribe,
an out-of-office reply, or something else. Pure: bytes in, a verdict out, no I/O.

The order matters, as in listmonk's mailbox scanner and Mailman's bounce runner:
1. an RFC 3464 / RFC 5965 report (`multipart/report`) is read by bot.newsletter.bounces;
2. an automatic reply (RFC 3834 `Auto-Submitted`, the vendors' `X-Autoreply`,
   `Precedence: auto_reply`, an "Automatic reply:" subject…) is ignored — checked only
   after 1, since MTAs mark their DSNs `Auto-Submitted: auto-replied` too;
3. a message to the unsubscribe address (or whose subject is "unsubscribe") is a
   `mailto:` unsubscribe from its sender (RFC 2369);
4. a non-standard bounce (old Exim, qmail, Exchange, Yahoo… texts) is recognised by
   flufl.bounce, Mailman's detectors (permanent failures are hard, temporary ones soft);
5. a message sent to a VERP address that none of the above explains is classified the way
   listmonk does it: a 5.x.x status or a "user unknown"-like phrase is hard, else soft.
Anything else is "other": the caller removes it like the rest (one unreadable message
must not block the mailbox) and reports it.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

import flufl.bounce

from bot.newsletter import verp
from bot.newsletter.bounces import HARD, SOFT, BounceEvent, NotAReport, parse_report

BOUNCE, AUTO_REPLY, UNSUBSCRIBE, OTHER = "bounce", "auto-reply", "unsubscribe", "other"

# Vendors' auto-reply subjects (Outlook/Exchange, Gmail, Thunderbird, in the languages the
# site publishes in and a few more): "Automatic reply: …", "Out of Office: …", "Abwesend".
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|"
    r"away from (?:the )?office|on vacation|vacation reply|abwesen|automatische antwort|"
    r"r[ée]ponse automatique|absence|ausencia|respuesta autom[aá]tica|risposta automatica|"
    r"رد تلقائي|الرد التلقائي|خارج المكتب)", re.I)
# Headers whose mere presence marks an auto-responder (Exchange, cPanel, Yahoo, mailers).
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation",
                 "X-Mail-Autoreply")
_UNSUBSCRIBE_SUBJECT = re.compile(r"^\s*(?:re:\s*)?unsubscribe\b", re.I)
# listmonk's fallbacks (internal/bounce/mailbox/pop.go) for a VERP-addressed message.
_SMTP_STATUS = re.compile(rb"(?mi)^(?:Status:\s*)?(?:\d{3}[\s-]+)?([45]\.\d{1,3}\.\d{1,3})\b")
_HARD_PHRASE = re.compile(
    rb"(?i)(NXDOMAIN|user unknown|address not found|mailbox not found|mailbox unavailable|"
    rb"does not exist|invalid recipient|no such user|recipient.{0,20}invalid|unknown.{0,10}user|"
    rb"account.{0,20}disabled|address.{0,20}disabled|permanent.{0,20}(?:failure|error))")


@dataclass(frozen=True)
class Inbound:
    kind: str                                # BOUNCE, AUTO_REPLY, UNSUBSCRIBE, OTHER
    events: tuple[BounceEvent, ...] = ()     # BOUNCE: one per failed recipient
    delivery_id: int | None = None           # from the VERP address it was sent to
    sender: str | None = None                # UNSUBSCRIBE: the From address
    references: tuple[str, ...] = ()         # UNSUBSCRIBE: In-Reply-To / References ids
    subject: str = ""
    reason: str = ""                         # one line for the log and the report


def classify(raw: bytes, *, secret: str, bounce_address: str | None,
             unsubscribe_address: str | None) -> Inbound:
    message = email.message_from_bytes(raw, policy=policy.compat32)
    subject = _decoded(message.get("Subject"))
    delivery_id = (verp.find_in_headers(secret, bounce_address, message)
                   if bounce_address else None)
    try:
        events = parse_report(raw)
    except NotAReport:
        pass
    else:
        return Inbound(BOUNCE, tuple(events), delivery_id, subject=subject,
                       reason="delivery status or feedback report")
    auto = _auto_reply(message, subject)
    if auto:
        return Inbound(AUTO_REPLY, delivery_id=delivery_id, subject=subject, reason=auto)
    if _is_unsubscribe(message, subject, unsubscribe_address):
        references = tuple(re.findall(r"<[^<>\s]+>", " ".join(
            str(v) for name in ("In-Reply-To", "References") for v in message.get_all(name) or [])))
        return Inbound(UNSUBSCRIBE, sender=parseaddr(str(message.get("From", "")))[1] or None,
                       references=references, subject=subject, reason="mailto: unsubscribe")
    events = _detected(message)
    if events:
        return Inbound(BOUNCE, events, delivery_id, subject=subject,
                       reason="non-standard bounce (flufl.bounce)")
    if delivery_id is not None:
        kind, why = _guess(raw)
        return Inbound(BOUNCE, (BounceEvent(kind=kind, recipient=None, diagnostic=why),),
                       delivery_id, subject=subject, reason=f"sent to a VERP address ({why})")
    return Inbound(OTHER, subject=subject, reason="neither a bounce, an unsubscribe nor an auto-reply")


def _decoded(value) -> str:
    """A header's text with RFC 2047 encoded words decoded ("=?utf-8?b?…?=" → "رد تلقائي")."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):  # a broken encoded word: keep the raw text
        text = str(value)
    return " ".join(text.split())


def _auto_reply(message: Message, subject: str) -> str:
    """Why the message is an automatic reply, or ''."""
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in _AUTO_HEADERS:
        if message.get(name) is not None:
            return f"{name} header"
    precedence = str(message.get("Precedence", "") or message.get("X-Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "auto-reply"):
        return f"Precedence: {precedence}"
    suppress = str(message.get("X-Auto-Response-Suppress", "")).lower()
    if "oof" in suppress or (suppress == "all" and _AUTO_SUBJECT.search(subject)):
        return "Exchange out-of-office"
    if _AUTO_SUBJECT.search(subject):
        return "automatic-reply subject"
    return ""


def _is_unsubscribe(message: Message, subject: str, unsubscribe_address: str | None) -> bool:
    if _UNSUBSCRIBE_SUBJECT.search(subject):
        return True
    if not unsubscribe_address:
        return False
    wanted = unsubscribe_address.lower().removeprefix("mailto:").partition("?")[0]
    addressed = [a.lower() for _, a in getaddresses(
        [str(v) for name in ("To", "Delivered-To", "X-Original-To", "Cc")
         for v in message.get_all(name) or []])]
    return wanted in addressed


def _detected(message: Message) -> tuple[BounceEvent, ...]:
    """Failures flufl.bounce's detectors find in a bounce that is not an RFC 3464 report."""
    try:
        temporary, permanent = flufl.bounce.all_failures(message)
    except Exception:  # noqa: BLE001 - a heuristic detector tripping over odd mail: not a bounce
        return ()
    events = [BounceEvent(kind=HARD, recipient=_text(a), diagnostic="permanent failure")
              for a in sorted(permanent)]
    events += [BounceEvent(kind=SOFT, recipient=_text(a), diagnostic="temporary failure")
               for a in sorted(temporary - permanent)]
    return tuple(e for e in events if e.recipient)


def _text(address: bytes | str) -> str | None:
    value = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    value = value.strip().strip("<>")
    return value if "@" in value else None


def _guess(raw: bytes) -> tuple[str, str]:
    """listmonk's classification of a bounce it cannot parse: an SMTP status decides,
    then phrases that mean the mailbox does not exist; soft by default."""
    for match in _SMTP_STATUS.finditer(raw):
        status = match[1].decode()
        return (HARD if status.startswith("5") else SOFT), f"status {status}"
    phrase = _HARD_PHRASE.search(raw)
    if phrase:
        return HARD, f"says {phrase[1].decode('ascii', 'replace').lower()!r}"
    return SOFT, "no status"

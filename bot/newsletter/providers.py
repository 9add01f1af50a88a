"""Email providers' bounce and complaint webhooks: checking that a request really comes from
the provider, and reading its events as BounceEvents. Pure: no network, no database (the
SNS signing certificate is fetched by the caller, bot.web.bounce_hooks).

Each provider signs differently (the way listmonk's internal/bounce/webhooks reads them):
- Amazon SES publishes through SNS: an RSA signature (SHA1 for SignatureVersion 1, SHA256
  for 2) over a canonical text of the notification, with a certificate that must come from
  `https://sns.<region>.amazonaws.com/SimpleNotificationService-….pem`. A valid signature
  proves only that *some* SNS topic sent it, so the topic must also be one of ours.
- Mailgun: hex HMAC-SHA256 of timestamp + token under the webhook signing key, in the body.
- Postmark: HTTP basic auth credentials we put in the webhook URL.
- SendGrid: ECDSA P-256 / SHA256 over timestamp + raw body, the public key from its
  settings page (base64 DER), the signature and timestamp in X-Twilio-Email-Event-Webhook-*.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from bot.errors import BadInput
from bot.newsletter.bounces import COMPLAINT, FEEDBACK, HARD, SOFT, BounceEvent

SNS_CERT_URL = re.compile(
    r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/SimpleNotificationService-[A-Za-z0-9]+\.pem$")
SNS_SUBSCRIBE_URL = re.compile(r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/\?")
_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class BadSignature(BadInput):
    """The request is not signed by the provider (or not for us): nothing is applied."""


def load_json(body: bytes, provider: str):
    try:
        return json.loads(body)
    except RecursionError:
        raise BadInput(f"{provider} webhook: JSON nested too deeply") from None
    except ValueError as exc:
        raise BadInput(f"{provider} webhook: the body is not JSON ({exc})") from None


# --- Amazon SES (SNS) ------------------------------------------------------------------


def sns_envelope(body: bytes) -> dict:
    data = load_json(body, "SES/SNS")
    if not isinstance(data, dict) or data.get("Type") not in _SNS_FIELDS:
        raise BadInput("SES/SNS webhook: not an SNS message (Type is not Notification, "
                       "SubscriptionConfirmation or UnsubscribeConfirmation)")
    for name in ("Signature", "SigningCertURL", "TopicArn", "Message", "MessageId"):
        if not isinstance(data.get(name), str):
            raise BadInput(f"SES/SNS webhook: {name} is missing")
    return data


def sns_string_to_sign(message: dict) -> bytes:
    """The canonical text SNS signs: each present field as "Name\\nvalue\\n", in order."""
    out = []
    for name in _SNS_FIELDS[message["Type"]]:
        if name in message and message[name] is not None:
            out.append(f"{name}\n{message[name]}\n")
    return "".join(out).encode("utf-8")


def verify_sns(message: dict, cert_pem: bytes, topics: list[str]) -> None:
    """Raises BadSignature unless `cert_pem` (fetched from message["SigningCertURL"], which
    the caller checked against SNS_CERT_URL) signed the message and the topic is ours."""
    if message["TopicArn"] not in topics:
        raise BadSignature(f"SES/SNS webhook: topic {message['TopicArn']!r} is not in "
                           "PRESSBOT_SES_TOPIC_ARNS")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise BadSignature(f"SES/SNS webhook: unknown SignatureVersion {message.get('SignatureVersion')!r}")
    try:
        key = x509.load_pem_x509_certificate(cert_pem).public_key()
        key.verify(base64.b64decode(message["Signature"], validate=True),
                   sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
    except (ValueError, TypeError, binascii.Error, InvalidSignature) as exc:
        raise BadSignature(f"SES/SNS webhook: bad signature ({type(exc).__name__})") from None


def ses_events(message: dict) -> list[BounceEvent]:
    """The bounces and complaints in an SES notification (SNS Message, itself JSON)."""
    data = load_json(message["Message"].encode("utf-8"), "SES")
    if not isinstance(data, dict):
        raise BadInput("SES webhook: Message is not a JSON object")
    kind = data.get("notificationType") or data.get("eventType")
    mail = data.get("mail") or {}
    common = {"return_path": mail.get("source"),
              "original_message_id": (mail.get("commonHeaders") or {}).get("messageId")
              or _header(mail.get("headers"), "Message-ID")}
    if kind == "Bounce":
        bounce = data.get("bounce") or {}
        hard = bounce.get("bounceType") == "Permanent"
        return [BounceEvent(kind=HARD if hard else SOFT, recipient=r.get("emailAddress"),
                            action=r.get("action"), status=r.get("status"),
                            diagnostic=r.get("diagnosticCode") or bounce.get("bounceSubType"),
                            event_id=bounce.get("feedbackId"), **common)
                for r in bounce.get("bouncedRecipients") or []]
    if kind == "Complaint":
        complaint = data.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType") or "abuse"
        return [BounceEvent(kind=FEEDBACK if feedback == "not-spam" else COMPLAINT,
                            recipient=r.get("emailAddress"), feedback_type=feedback,
                            event_id=complaint.get("feedbackId"), **common)
                for r in complaint.get("complainedRecipients") or []]
    return []   # Delivery, Send, Open…: nothing to do


def _header(headers, name: str) -> str | None:
    for item in headers or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
            return item.get("value")
    return None


# --- Mailgun ---------------------------------------------------------------------------


def verify_mailgun(signing_key: str, payload: dict) -> None:
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signature, dict):
        raise BadSignature("Mailgun webhook: no signature object")
    timestamp, token = str(signature.get("timestamp", "")), str(signature.get("token", ""))
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not (timestamp and token and hmac.compare_digest(expected, str(signature.get("signature", "")))):
        raise BadSignature("Mailgun webhook: bad signature")


def mailgun_events(payload: dict) -> list[BounceEvent]:
    data = payload.get("event-data") or {}
    event = data.get("event")
    headers = (data.get("message") or {}).get("headers") or {}
    message_id = headers.get("message-id")
    common = {"recipient": data.get("recipient"), "event_id": data.get("id"),
              "return_path": (data.get("envelope") or {}).get("sender"),
              "original_message_id": f"<{message_id.strip('<>')}>" if message_id else None}
    if event == "failed":
        status = data.get("delivery-status") or {}
        hard = data.get("severity") == "permanent"
        return [BounceEvent(kind=HARD if hard else SOFT, action="failed",
                            status=str(status.get("code") or "") or None,
                            diagnostic=status.get("description") or status.get("message")
                            or data.get("reason"), **common)]
    if event == "complained":
        return [BounceEvent(kind=COMPLAINT, feedback_type="abuse", **common)]
    return []


# --- Postmark --------------------------------------------------------------------------

_POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}


def verify_basic_auth(header: str | None, user: str, password: str) -> None:
    scheme, _, encoded = (header or "").partition(" ")
    try:
        given_user, _, given_password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, binascii.Error):
        raise BadSignature("Postmark webhook: missing or malformed basic auth") from None
    ok_user = hmac.compare_digest(given_user.encode(), user.encode())
    ok_password = hmac.compare_digest(given_password.encode(), password.encode())
    if scheme.lower() != "basic" or not (ok_user and ok_password):
        raise BadSignature("Postmark webhook: wrong basic auth credentials")


def postmark_events(payload: dict) -> list[BounceEvent]:
    record = payload.get("RecordType") if isinstance(payload, dict) else None
    common = {"recipient": payload.get("Email") if isinstance(payload, dict) else None,
              "event_id": str(payload.get("ID")) if isinstance(payload, dict) and payload.get("ID") else None}
    if record == "SpamComplaint":
        return [BounceEvent(kind=COMPLAINT, feedback_type="abuse", **common)]
    if record != "Bounce":
        return []
    kind = HARD if payload.get("Type") in _POSTMARK_HARD else SOFT
    return [BounceEvent(kind=kind, action="failed", diagnostic=" ".join(
        str(p) for p in (payload.get("Type"), payload.get("Description"), payload.get("Details")) if p),
        **common)]


# --- SendGrid --------------------------------------------------------------------------


def verify_sendgrid(public_key_b64: str, signature_b64: str | None, timestamp: str | None,
                    body: bytes) -> None:
    if not signature_b64 or not timestamp:
        raise BadSignature(f"SendGrid webhook: {SENDGRID_SIGNATURE} or {SENDGRID_TIMESTAMP} missing")
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    except (ValueError, binascii.Error):
        raise BadInput("PRESSBOT_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise BadInput("PRESSBOT_SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA key")
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), timestamp.encode() + body,
                   ec.ECDSA(hashes.SHA256()))
    except (ValueError, binascii.Error, InvalidSignature):
        raise BadSignature("SendGrid webhook: bad signature") from None


def sendgrid_events(payload) -> list[BounceEvent]:
    if not isinstance(payload, list):
        raise BadInput("SendGrid webhook: the body is not a JSON array of events")
    events = []
    for item in payload:
        if not isinstance(item, dict):
            continue
        common = {"recipient": item.get("email"), "event_id": item.get("sg_event_id"),
                  "original_message_id": item.get("smtp-id")}
        if item.get("event") == "bounce":
            # listmonk's reading: a "blocked" bounce, or one SendGrid classifies as
            # technical or content, says nothing about the mailbox itself.
            soft = item.get("type") == "blocked" or \
                str(item.get("bounce_classification", "")).lower() in ("technical", "content")
            events.append(BounceEvent(kind=SOFT if soft else HARD, action="failed",
                                      status=item.get("status"), diagnostic=item.get("reason"),
                                      **common))
        elif item.get("event") == "spamreport":
            events.append(BounceEvent(kind=COMPLAINT, feedback_type="abuse", **common))
    return events

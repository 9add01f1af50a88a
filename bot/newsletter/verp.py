"""VERP: a Return-Path of its own for every delivery, so a bounce names the message it answers.

With `PRESSBOT_BOUNCE_ADDRESS=bounces@news.example.org` the delivery 4711 goes out with the
envelope sender `bounces+d4711.<mac>@news.example.org`. Whatever the bounce looks like (an
RFC 3464 report, a 1990s Exim text, a provider event quoting the envelope sender), the
address it is sent *to* carries the delivery id.

The token is signed, not stored: `<mac>` is the first 12 hex digits of HMAC-SHA256 under
the secret key, so nothing is written per message on the send path, a retry carries the same
Return-Path, and a forged bounce to `bounces+d1.000000000000@` cannot suppress anyone. All
lower case and dot-separated: some MTAs fold the local part's case, and `+`/`.` pass every
relay unquoted. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import getaddresses

from bot.errors import BadInput

_MAC_LENGTH = 12
_TOKEN = re.compile(r"d(\d{1,18})\.([0-9a-f]{12})")
# The headers an MTA (or the mailbox's delivery agent) writes the envelope recipient into,
# most trustworthy first; To is last since the reply's own To may have been rewritten.
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To",
                    "Original-Recipient", "To")


def _mac(secret: str, delivery_id: int) -> str:
    return hmac.new(secret.encode(), f"verp:{delivery_id}".encode(),
                    hashlib.sha256).hexdigest()[:_MAC_LENGTH]


def split_address(bounce_address: str) -> tuple[str, str]:
    """('bounces', 'news.example.org') from the setting; BadInput names what is wrong."""
    local, at, domain = bounce_address.strip().rpartition("@")
    if not at or not local or not domain or "+" in local or not local.isascii() \
            or any(c in bounce_address for c in " <>(),;\"\r\n"):
        raise BadInput(f"PRESSBOT_BOUNCE_ADDRESS: {bounce_address!r} is not a plain address "
                       "like bounces@news.example.org (no '+': pressbot adds the token)")
    return local, domain.lower()


def return_path(secret: str, bounce_address: str, delivery_id: int) -> str:
    """The envelope sender for one delivery: `local+d<id>.<mac>@domain`."""
    local, domain = split_address(bounce_address)
    return f"{local}+d{delivery_id}.{_mac(secret, delivery_id)}@{domain}"


def read_token(secret: str, bounce_address: str, address: str | None) -> int | None:
    """The delivery id from one of our VERP addresses, or None (not ours, or a bad mac)."""
    if not address:
        return None
    local, domain = split_address(bounce_address)
    their_local, _, their_domain = address.strip().strip("<>").rpartition("@")
    prefix = f"{local}+".lower()
    if their_domain.lower() != domain or not their_local.lower().startswith(prefix):
        return None
    match = _TOKEN.fullmatch(their_local.lower()[len(prefix):])
    if not match:
        return None
    delivery_id = int(match[1])
    if not hmac.compare_digest(match[2], _mac(secret, delivery_id)):
        return None
    return delivery_id


def find_in_headers(secret: str, bounce_address: str, message) -> int | None:
    """The delivery id from the envelope-recipient headers of a message in the bounce
    mailbox (an email.message.Message), or None."""
    for name in ENVELOPE_HEADERS:
        values = [str(v) for v in message.get_all(name) or []]
        if name == "Original-Recipient":   # "rfc822;addr" (RFC 3464 style, some MDAs)
            values = [v.rpartition(";")[2] for v in values]
        for _, address in getaddresses(values):
            delivery_id = read_token(secret, bounce_address, address)
            if delivery_id is not None:
                return delivery_id
    return None

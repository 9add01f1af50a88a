"""Email addresses: one normal form for storing and comparing, and the hash that outlives
an erased address on the suppression list. Pure: no DNS lookups, no I/O."""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

from bot.errors import BadInput


def normalize_email(raw: str) -> str:
    """The validated, normalised address (Unicode NFC, IDNA domain checks, lower-case
    domain; the local part keeps its case, as RFC 5321 allows it to matter).

    Raises BadInput naming the address and what is wrong with it."""
    text = (raw or "").strip()
    if not text:
        raise BadInput("email address is empty")
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadInput(f"{text!r} is not a valid email address: {exc}") from None
    local, _, domain = valid.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_hash(normalized: str) -> str:
    """sha256 hex of the lower-cased address. Lower-cased because in practice no mailbox
    provider distinguishes case, so `Alice@x` and `alice@x` must meet on the suppression
    list."""
    return hashlib.sha256(normalized.strip().lower().encode("utf-8")).hexdigest()

"""Signed links for confirming, unsubscribing and managing preferences.

A token is `[subscriber_id, list_id]` signed with the site's secret and a salt per purpose,
so a token can be neither forged nor enumerated (the ids are readable, but changing them
breaks the signature), and an unsubscribe token will not confirm anyone. Tokens are
stateless: nothing is stored, so a link in a year-old email still works.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from bot.config import Settings
from bot.errors import BadInput

DAY = 24 * 3600
# Confirmation links are short-lived (an unconfirmed sign-up should lapse); unsubscribe
# and preference links sit in old emails and must still work when someone finds one.
MAX_AGE = {"confirm": 7 * DAY, "unsubscribe": 365 * DAY, "preferences": 365 * DAY}
PURPOSES = tuple(MAX_AGE)


class BadToken(BadInput):
    """Forged, expired, for another purpose, or not a token at all."""


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"pressbot-{purpose}")


def make_token(secret: str, purpose: str, subscriber_id: int, list_id: int | None) -> str:
    return _serializer(secret, purpose).dumps([int(subscriber_id),
                                               None if list_id is None else int(list_id)])


def read_token(secret: str, purpose: str, token: str, max_age: int | None = None) -> tuple[int, int | None]:
    """(subscriber_id, list_id) from a token made for `purpose`; BadToken otherwise."""
    if purpose not in MAX_AGE:
        raise BadToken(f"unknown token purpose {purpose!r}")
    try:
        payload = _serializer(secret, purpose).loads(
            token or "", max_age=MAX_AGE[purpose] if max_age is None else max_age)
    except BadData as exc:  # bad signature, expired, undecodable
        raise BadToken(f"this {purpose} link is invalid or has expired ({type(exc).__name__})") from None
    if not (isinstance(payload, list) and len(payload) == 2 and _is_id(payload[0])
            and (payload[1] is None or _is_id(payload[1]))):
        raise BadToken(f"this {purpose} link is malformed")
    return payload[0], payload[1]


def _is_id(value: object) -> bool:
    # bool is an int subclass; a signed `true` is not an id.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class TokenSigner:
    """Makes tokens for many recipients: the same tokens as `make_token` (readable by
    `read_token`) at about a third of the cost, because the signers are built once and
    the tiny JSON payload is encoded directly (zlib never shortens it, so itsdangerous
    would not compress it either). For the per-recipient path of a delivery."""

    def __init__(self, secret: str, base_url: str | None = None):
        self._signers = {p: _serializer(secret, p).make_signer() for p in PURPOSES}
        self._base = (base_url or "").rstrip("/")

    def token(self, purpose: str, subscriber_id: int, list_id: int | None) -> str:
        payload = f"[{int(subscriber_id)},{'null' if list_id is None else int(list_id)}]"
        return self._signers[purpose].sign(base64_encode(payload)).decode("ascii")

    def url(self, purpose: str, subscriber_id: int, list_id: int | None) -> str:
        return f"{self._base}/{purpose}/{self.token(purpose, subscriber_id, list_id)}"


def _url(settings: Settings, purpose: str, subscriber_id: int, list_id: int | None) -> str:
    token = make_token(settings.effective_secret_key(), purpose, subscriber_id, list_id)
    return f"{settings.base_url.rstrip('/')}/{purpose}/{token}"


def confirm_url(settings: Settings, subscriber_id: int, list_id: int | None) -> str:
    return _url(settings, "confirm", subscriber_id, list_id)


def unsubscribe_url(settings: Settings, subscriber_id: int, list_id: int | None) -> str:
    return _url(settings, "unsubscribe", subscriber_id, list_id)


def preferences_url(settings: Settings, subscriber_id: int, list_id: int | None) -> str:
    return _url(settings, "preferences", subscriber_id, list_id)

"""Account credentials at rest: Fernet-encrypted with a key derived from the secret key,
so a copy of the database alone does not give away anyone's tokens."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.errors import PermanentError


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"pressbot social credentials v1").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_credentials(secret_key: str, credentials: dict[str, str]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(credentials).encode()).decode()


def decrypt_credentials(secret_key: str, token: str) -> dict[str, str]:
    try:
        return json.loads(_fernet(secret_key).decrypt(token.encode()))
    except InvalidToken:
        raise PermanentError("stored credentials cannot be decrypted: was the secret key "
                             "changed? Add the account's credentials again") from None

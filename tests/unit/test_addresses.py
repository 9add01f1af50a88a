"""Address normal form and the suppression hash."""

from __future__ import annotations

import hashlib

import pytest

from bot.domain.addresses import email_hash, normalize_email
from bot.errors import BadInput


@pytest.mark.parametrize("raw, expected", [
    ("Alice@Example.ORG", "Alice@example.org"),          # domain lower-cased, local part kept
    ("  bob@example.com\n", "bob@example.com"),         # surrounding whitespace is not part of it
    ("zoë@Exämple.org", "zoë@exämple.org"),              # internationalised, NFC
    ("x@BÜCHER.de", "x@bücher.de"),
])
def test_normalize(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw, needle", [
    ("no-at-sign.example.org", "@"),
    ("two@@example.org", "example.org"),
    ("alice@localhost", "localhost"),
    ("alice@example", "period"),
    ("spaces in@example.org", "SPACE"),
])
def test_invalid_addresses_name_the_address_and_the_reason(raw, needle):
    with pytest.raises(BadInput) as info:
        normalize_email(raw)
    assert repr(raw) in str(info.value) or raw in str(info.value)
    assert needle in str(info.value)


def test_empty_address_is_bad_input():
    with pytest.raises(BadInput, match="empty"):
        normalize_email("   ")


def test_hash_is_sha256_of_the_lower_cased_address():
    assert email_hash("Alice@example.org") == hashlib.sha256(b"alice@example.org").hexdigest()
    assert email_hash("Alice@example.org") == email_hash("alice@example.org")
    assert email_hash("alice@example.org") != email_hash("alice@example.com")
    assert len(email_hash("a@b.org")) == 64

"""Signed tokens: they verify, they are scoped, and they refuse everything else."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from bot.config import Settings
from bot.newsletter import tokens
from bot.newsletter.tokens import (
    BadToken,
    TokenSigner,
    confirm_url,
    make_token,
    preferences_url,
    read_token,
    unsubscribe_url,
)

SECRET = "s3cret-for-tests-only-0123456789"


@pytest.mark.parametrize("purpose", tokens.PURPOSES)
def test_round_trip(purpose):
    assert read_token(SECRET, purpose, make_token(SECRET, purpose, 17, 3)) == (17, 3)
    assert read_token(SECRET, purpose, make_token(SECRET, purpose, 17, None)) == (17, None)


@pytest.mark.parametrize("made, used", [("confirm", "unsubscribe"), ("unsubscribe", "confirm"),
                                        ("preferences", "unsubscribe"), ("unsubscribe", "preferences")])
def test_a_token_for_one_purpose_does_not_work_for_another(made, used):
    with pytest.raises(BadToken):
        read_token(SECRET, used, make_token(SECRET, made, 17, 3))


def test_another_secret_is_refused():
    with pytest.raises(BadToken):
        read_token(SECRET, "unsubscribe", make_token("another-secret", "unsubscribe", 17, 3))


def test_editing_the_ids_breaks_the_signature():
    """The ids are readable; changing them to reach another subscriber must fail."""
    token = make_token(SECRET, "unsubscribe", 17, 3)
    payload, rest = token.split(".", 1)
    other = make_token(SECRET, "unsubscribe", 18, 3).split(".", 1)[0]
    assert other != payload
    with pytest.raises(BadToken):
        read_token(SECRET, "unsubscribe", f"{other}.{rest}")
    assert make_token(SECRET, "unsubscribe", 17, 4) != token


@pytest.mark.parametrize("garbage", ["", "x", "a.b.c", "WzEsMl0.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                     "../../etc/passwd"])
def test_garbage_is_refused(garbage):
    with pytest.raises(BadToken):
        read_token(SECRET, "confirm", garbage)


@pytest.mark.parametrize("payload", [[1], [1, 2, 3], ["1", 2], [True, 2], [0, 2], [1, -2], {"a": 1}, "x"])
def test_a_signed_but_malformed_payload_is_refused(payload):
    forged = URLSafeTimedSerializer(SECRET, salt="pressbot-unsubscribe").dumps(payload)
    with pytest.raises(BadToken, match="malformed"):
        read_token(SECRET, "unsubscribe", forged)


def test_expiry(monkeypatch):
    token = make_token(SECRET, "confirm", 5, 6)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 24 * 3600)   # a week and a day later
    with pytest.raises(BadToken, match="expired"):
        read_token(SECRET, "confirm", token)


def test_unsubscribe_links_outlive_confirmation_links(monkeypatch):
    confirm, unsub = make_token(SECRET, "confirm", 5, 6), make_token(SECRET, "unsubscribe", 5, 6)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 300 * 24 * 3600)
    assert read_token(SECRET, "unsubscribe", unsub) == (5, 6)
    with pytest.raises(BadToken):
        read_token(SECRET, "confirm", confirm)
    monkeypatch.setattr(time, "time", lambda: real() + 370 * 24 * 3600)
    with pytest.raises(BadToken):
        read_token(SECRET, "unsubscribe", unsub)


def test_explicit_max_age():
    token = make_token(SECRET, "unsubscribe", 5, 6)
    assert read_token(SECRET, "unsubscribe", token, max_age=60) == (5, 6)


def test_fast_signer_makes_tokens_read_token_accepts():
    signer = TokenSigner(SECRET, "https://news.example.org/")
    for purpose in tokens.PURPOSES:
        assert read_token(SECRET, purpose, signer.token(purpose, 123456, 7)) == (123456, 7)
        assert read_token(SECRET, purpose, signer.token(purpose, 9, None)) == (9, None)
    with pytest.raises(BadToken):
        read_token(SECRET, "confirm", signer.token("unsubscribe", 9, 1))
    url = signer.url("unsubscribe", 9, 1)
    assert url.startswith("https://news.example.org/unsubscribe/")
    assert read_token(SECRET, "unsubscribe", url.rsplit("/", 1)[1]) == (9, 1)


def test_url_helpers(tmp_path):
    settings = Settings(home=tmp_path, base_url="https://news.example.org", secret_key=SECRET)
    for helper, purpose in ((confirm_url, "confirm"), (unsubscribe_url, "unsubscribe"),
                            (preferences_url, "preferences")):
        url = helper(settings, 41, 2)
        prefix = f"https://news.example.org/{purpose}/"
        assert url.startswith(prefix)
        assert read_token(SECRET, purpose, url[len(prefix):]) == (41, 2)


def test_url_helpers_use_the_generated_key_when_none_is_configured(tmp_path):
    settings = Settings(home=tmp_path / "home")
    url = unsubscribe_url(settings, 1, 2)
    key = (tmp_path / "home" / "secret_key").read_text().strip()
    assert read_token(key, "unsubscribe", url.rsplit("/", 1)[1]) == (1, 2)

"""Pure parts of the CLI and the webhook."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.cli import parse_since
from bot.errors import BadInput
from bot.web.hooks import sign, signature_problem


def test_since_accepts_dates_and_durations():
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert parse_since("2026-11-01T10:00:00+02:00").utcoffset() == timedelta(hours=2)
    ago = datetime.now(timezone.utc) - parse_since("12h")
    assert timedelta(hours=11, minutes=59) < ago < timedelta(hours=12, minutes=1)
    with pytest.raises(BadInput, match="--since"):
        parse_since("last tuesday")


def test_signature_covers_the_timestamp_and_needs_a_secret():
    body, now = b'{"title": "x"}', 1_800_000_000

    def problem(secret, sent_body, signature, stamp=str(now)):
        return signature_problem(secret, sent_body, signature, stamp, now=now, max_skew=300)

    good = sign("s3cret", body, now)
    assert good.startswith("sha256=") and problem("s3cret", body, good) is None
    assert "bad" in problem("s3cret", body + b" ", good)
    assert "bad" in problem("other", body, good)
    assert "bad" in problem("s3cret", body, good, str(now + 1))   # the time is signed too
    assert "secret" in problem(None, body, good)   # no secret configured: nobody can sign
    assert "missing" in problem("s3cret", body, None)
    assert "missing" in problem("s3cret", body, good, None)
    assert "Unix time" in problem("s3cret", body, good, "yesterday")

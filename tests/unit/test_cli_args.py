"""Pure parts of the CLI and the webhook."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.cli import parse_since
from bot.errors import BadInput
from bot.web.hooks import sign, signature_ok


def test_since_accepts_dates_and_durations():
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert parse_since("2026-11-01T10:00:00+02:00").utcoffset() == timedelta(hours=2)
    ago = datetime.now(timezone.utc) - parse_since("12h")
    assert timedelta(hours=11, minutes=59) < ago < timedelta(hours=12, minutes=1)
    with pytest.raises(BadInput, match="--since"):
        parse_since("last tuesday")


def test_signature_is_checked_in_constant_time_and_needs_a_secret():
    body = b'{"title": "x"}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and signature_ok("s3cret", body, good)
    assert not signature_ok("s3cret", body + b" ", good)
    assert not signature_ok("other", body, good)
    assert not signature_ok(None, body, good)   # no secret configured: nobody can sign
    assert not signature_ok("s3cret", body, None)

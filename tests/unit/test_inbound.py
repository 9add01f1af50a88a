"""VERP addresses and the bounce mailbox's classification of what arrives: pure logic, on
the sample messages in tests/data/bounces/."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import BadInput
from bot.newsletter import verp
from bot.newsletter.inbound import AUTO_REPLY, BOUNCE, OTHER, UNSUBSCRIBE, classify

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
SECRET = "unit-secret"
BOUNCES = "bounces@gazette.example.org"


def sample(name: str, delivered_to: str = "bounces@gazette.example.org") -> bytes:
    return (DATA / name).read_bytes().replace(b"{delivered_to}", delivered_to.encode())


def verdict(raw: bytes):
    return classify(raw, secret=SECRET, bounce_address=BOUNCES,
                    unsubscribe_address="mailto:unsubscribe@gazette.example.org")


# -- VERP ---------------------------------------------------------------------------------


def test_return_path_round_trips_and_is_signed():
    address = verp.return_path(SECRET, BOUNCES, 4711)
    assert address.startswith("bounces+d4711.") and address.endswith("@gazette.example.org")
    assert verp.read_token(SECRET, BOUNCES, address) == 4711
    assert verp.read_token(SECRET, BOUNCES, f"<{address.upper()}>") == 4711   # case folded in transit
    assert verp.read_token("another-secret", BOUNCES, address) is None
    forged = address.replace("d4711.", "d4712.")
    assert verp.read_token(SECRET, BOUNCES, forged) is None
    assert verp.read_token(SECRET, BOUNCES, address.replace("gazette", "other")) is None
    assert verp.read_token(SECRET, BOUNCES, "news@gazette.example.org") is None
    assert verp.return_path(SECRET, BOUNCES, 4711) == address          # retries: same path


@pytest.mark.parametrize("setting", ["bounces+x@example.org", "no-at-sign", "a b@example.org", "@x.org"])
def test_an_unusable_bounce_address_is_named(setting):
    with pytest.raises(BadInput, match="PRESSBOT_BOUNCE_ADDRESS"):
        verp.return_path(SECRET, setting, 1)


# -- classification -----------------------------------------------------------------------


def test_a_dsn_to_a_verp_address_names_its_delivery():
    address = verp.return_path(SECRET, BOUNCES, 31)
    got = verdict(b"Delivered-To: " + address.encode() + b"\n" + sample("postfix-hard.eml"))
    assert got.kind == BOUNCE and got.delivery_id == 31
    assert [(e.kind, e.status) for e in got.events] == [("hard", "5.1.1")]


def test_a_qmail_bounce_is_read_by_flufl_bounce():
    got = verdict(sample("qmail-hard.eml", verp.return_path(SECRET, BOUNCES, 8)))
    assert got.kind == BOUNCE and got.delivery_id == 8
    assert [(e.kind, e.recipient) for e in got.events] == [("hard", "old.reader@example.net")]


def test_a_bounce_nobody_can_parse_is_classified_like_listmonk_when_it_came_to_a_verp_address():
    address = verp.return_path(SECRET, BOUNCES, 5)
    raw = (f"Delivered-To: {address}\nFrom: postmaster@example.net\nSubject: Returned mail\n\n"
           "Your message could not be delivered.\n550 5.2.1 mailbox disabled\n").encode()
    got = verdict(raw)
    assert got.kind == BOUNCE and got.delivery_id == 5 and got.events[0].kind == "hard"
    soft = verdict(raw.replace(b"550 5.2.1 mailbox disabled", b"452 4.2.2 over quota"))
    assert soft.events[0].kind == "soft"
    # The same text to an address that is not ours (or a forged token) is nothing we act on.
    assert verdict(raw.replace(address.encode(), b"bounces+d5.000000000000@gazette.example.org")
                   ).kind == OTHER


@pytest.mark.parametrize("name", ["out-of-office.eml", "exchange-oof.eml", "arabic-vacation.eml"])
def test_out_of_office_replies_are_recognised(name):
    # Sent to a VERP address, with "user unknown" in the text: still only an auto-reply.
    got = verdict(sample(name, verp.return_path(SECRET, BOUNCES, 9)))
    assert got.kind == AUTO_REPLY, got.reason
    assert got.events == ()


def test_a_dsn_marked_auto_submitted_is_still_a_bounce():
    assert b"Auto-Submitted: auto-replied" in sample("postfix-hard.eml")
    assert verdict(sample("postfix-hard.eml")).kind == BOUNCE


def test_mailto_unsubscribe_by_address_or_subject():
    to_address = verdict(b"From: Sam <sam@example.org>\nTo: unsubscribe@gazette.example.org\n"
                         b"Subject: please\nIn-Reply-To: <e3.s4.0123456789@gazette.example.org>\n\n\n")
    assert to_address.kind == UNSUBSCRIBE and to_address.sender == "sam@example.org"
    assert to_address.references == ("<e3.s4.0123456789@gazette.example.org>",)
    by_subject = verdict(b"From: sam@example.org\nTo: bounces@gazette.example.org\n"
                         b"Subject: Unsubscribe\n\n\n")
    assert by_subject.kind == UNSUBSCRIBE
    assert verdict(b"From: sam@example.org\nTo: bounces@gazette.example.org\n"
                   b"Subject: Thanks for the story\n\nGreat piece.\n").kind == OTHER

"""The A/B subject test's pure rules (bot.domain.ab_test) and its mark in link tokens: the
settings checked with the field named, the sample drawn exactly and the same way twice, the
winner by clicks per delivered message (tie or none: A), old three-element tokens still read."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from itsdangerous import URLSafeSerializer

from bot.domain import ab_test
from bot.errors import BadInput
from bot.newsletter.tracking import BadLink, Link, LinkSigner


def test_without_subject_b_there_is_no_test_and_the_numbers_are_not_looked_at():
    assert ab_test.check_plan("  Hello  ", "", "nonsense", "999", max_subject=200) == ("Hello", None)
    assert ab_test.check_plan("", None, max_subject=200) == ("", None)


def test_defaults_and_given_values():
    assert ab_test.check_plan("A", "B", max_subject=200)[1] == {
        "subject_b": "B", "sample_percent": 20, "decide_after_hours": 4}
    assert ab_test.check_plan("A", "B", "50", " 72 ", max_subject=200)[1] == {
        "subject_b": "B", "sample_percent": 50, "decide_after_hours": 72}


@pytest.mark.parametrize("a, b, percent, hours, message", [
    ("", "B", None, None, "subject b: an A/B test needs subject A"),
    ("Same", "same ", None, None, "subject b: the same as subject A"),
    ("A", "B\r\nBcc: x", None, None, "subject b: one line"),
    ("A\nB", "B", None, None, "subject: one line"),
    ("A", "B" * 11, None, None, "subject b: 11 characters; keep it under 10"),
    ("A", "B", 1, None, "sample: 1 is outside 2–50 percent"),
    ("A", "B", 51, None, "sample: 51 is outside 2–50 percent"),
    ("A", "B", "2.5", None, "sample: '2.5' is not a whole number"),
    ("A", "B", None, 0, "decide after: 0 is outside 1–72 hours"),
    ("A", "B", None, 73, "decide after: 73 is outside 1–72 hours"),
])
def test_bad_settings_name_the_field(a, b, percent, hours, message):
    with pytest.raises(BadInput, match="^" + message.replace("(", r"\(")):
        ab_test.check_plan(a, b, percent, hours, max_subject=10)


def test_the_sample_is_the_share_asked_split_evenly_and_drawn_the_same_way_again():
    ids = list(range(1, 51))
    drawn = ab_test.assign(42, ids, 20)
    assert len(drawn) == 10 and sorted(drawn.values()) == ["a"] * 5 + ["b"] * 5
    assert ab_test.assign(42, list(reversed(ids)), 20) == drawn       # order does not matter
    assert set(ab_test.assign(43, ids, 20)) != set(drawn)              # another campaign, others
    assert set(drawn) != set(range(1, 11))                             # not the first to sign up
    odd = ab_test.assign(1, list(range(1, 102)), 11)                   # 11.11 → 11: 6 A, 5 B
    assert sorted(odd.values()).count("a") == 6 and len(odd) == 11


@pytest.mark.parametrize("recipients, percent, size", [(0, 20, 0), (1, 20, 1), (3, 20, 2),
                                                       (50, 2, 2), (1000, 50, 500), (7, 50, 4)])
def test_sample_size(recipients, percent, size):
    assert ab_test.sample_size(recipients, percent) == size


@pytest.mark.parametrize("clicks, delivered, winner", [
    ({"a": 1, "b": 3}, {"a": 5, "b": 5}, ("b", "clicks")),
    ({"a": 3, "b": 3}, {"a": 5, "b": 10}, ("a", "clicks")),     # per delivered message
    ({"a": 2, "b": 4}, {"a": 5, "b": 10}, ("a", "tie")),
    ({}, {"a": 5, "b": 5}, ("a", "no_clicks")),
    ({"a": 0, "b": 0}, {"a": 0, "b": 0}, ("a", "no_clicks")),
    ({"b": 1}, {"a": 0, "b": 5}, ("b", "clicks")),
])
def test_winner(clicks, delivered, winner):
    assert ab_test.pick_winner(clicks, delivered) == winner


def test_decide_at_is_the_hours_after_the_sample():
    ab = {"decide_after_hours": 4, "sample_at": "2026-12-01T06:00:00+00:00"}
    assert ab_test.decide_at(ab) == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert ab_test.decide_at({"decide_after_hours": 4}) is None


def test_link_tokens_carry_the_subject_letter_and_old_ones_still_read():
    signer = LinkSigner("secret")
    link = Link(7, 3, "https://example.org/a", "b")
    assert signer.read_link(signer.link_token(link)) == link
    plain = Link(7, 3, "https://example.org/a")
    assert signer.read_link(signer.link_token(plain)) == plain
    # A token as every message before the A/B test carried it.
    old = URLSafeSerializer("secret", salt="pressbot-link").dumps([7, 3, "https://example.org/a"])
    assert signer.read_link(old) == Link(7, 3, "https://example.org/a", "")
    forged = URLSafeSerializer("secret", salt="pressbot-link").dumps([7, 3, "https://example.org/a", "z"])
    with pytest.raises(BadLink):
        signer.read_link(forged)

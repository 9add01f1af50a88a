"""A campaign's A/B subject test (issue 14), as plain functions: the editor's settings
checked, the sample drawn, the winner picked. No I/O (bot.services.ab_tests does that).

How a test runs: when the campaign goes out, a sample of the list (`sample_percent`, split
evenly) gets subject A or B; the rest is held. `decide_after_hours` after the sample went
out, the subject with more reader clicks per delivered message wins (a tie, or no click
at all, goes to A: the editor's first choice), and the rest get the winner's subject.

Letters on a delivery row (`subject_variant`): "a" and "b" for the sample, "w" for the
rest, which gets the winner's subject. Normal editions leave it NULL.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from bot.errors import BadInput

A, B, WINNER = "a", "b", "w"
LETTERS = (A, B, WINNER)
DEFAULT_SAMPLE_PERCENT = 20
SAMPLE_PERCENT_RANGE = (2, 50)
DEFAULT_DECIDE_AFTER_HOURS = 4
DECIDE_AFTER_RANGE = (1, 72)
# Why the winner won, as stored (the edition page words it).
BY_CLICKS, TIE, NO_CLICKS = "clicks", "tie", "no_clicks"


def check_subject(what: str, subject: str | None, max_length: int) -> str:
    """A subject as stored: trimmed, one line, at most `max_length` characters."""
    subject = (subject or "").strip()
    if "\n" in subject or "\r" in subject:
        raise BadInput(f"{what}: one line, please (a subject cannot hold a line break)")
    if len(subject) > max_length:
        raise BadInput(f"{what}: {len(subject)} characters; keep it under {max_length}")
    return subject


def _whole(what: str, value, bounds: tuple[int, int], unit: str) -> int:
    low, high = bounds
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise BadInput(f"{what}: {value!r} is not a whole number of {unit}") from None
    if not low <= number <= high:
        raise BadInput(f"{what}: {number} is outside {low}–{high} {unit}")
    return number


def check_plan(subject_a: str | None, subject_b: str | None, sample_percent=None,
               decide_after_hours=None, *, max_subject: int) -> tuple[str, dict | None]:
    """(subject A, the test's settings or None). Without subject B there is no test and the
    sample and hours are not looked at; with it, subject A is required and must differ."""
    a = check_subject("subject", subject_a, max_subject)
    b = check_subject("subject b", subject_b, max_subject)
    if not b:
        return a, None
    if not a:
        raise BadInput("subject b: an A/B test needs subject A as well")
    if a.casefold() == b.casefold():
        raise BadInput("subject b: the same as subject A; write a different one to test")
    percent = _whole("sample", DEFAULT_SAMPLE_PERCENT if sample_percent in (None, "") else sample_percent,
                     SAMPLE_PERCENT_RANGE, "percent")
    hours = _whole("decide after", DEFAULT_DECIDE_AFTER_HOURS if decide_after_hours in (None, "")
                   else decide_after_hours, DECIDE_AFTER_RANGE, "hours")
    return a, {"subject_b": b, "sample_percent": percent, "decide_after_hours": hours}


def sample_size(recipients: int, percent: int) -> int:
    """How many of `recipients` get the test: `percent` of them, rounded, but at least two
    (one per subject) and never more than there are."""
    if recipients <= 0:
        return 0
    return min(recipients, max(2, round(recipients * percent / 100)))


def _draw(edition_id: int, subscriber_id: int) -> bytes:
    return hashlib.sha256(f"ab:{edition_id}:{subscriber_id}".encode()).digest()


def assign(edition_id: int, ids: list[int], percent: int) -> dict[int, str]:
    """Delivery key (subscriber id) → "a" | "b" for the sample; the others are not in it.
    Deterministic (a hash of edition and subscriber: a re-run draws the same people) and
    not tied to sign-up order; A and B alternate down the draw, so they differ by one at
    most."""
    drawn = sorted(set(ids), key=lambda i: (_draw(edition_id, i), i))
    return {i: (A if n % 2 == 0 else B)
            for n, i in enumerate(drawn[:sample_size(len(drawn), percent)])}


def decide_at(ab: dict) -> datetime | None:
    """When the winner is picked: `decide_after_hours` after the sample went out."""
    sent = ab.get("sample_at")
    if not sent:
        return None
    return datetime.fromisoformat(sent) + timedelta(hours=int(ab["decide_after_hours"]))


def pick_winner(clicks: dict[str, int], delivered: dict[str, int]) -> tuple[str, str]:
    """(letter, reason): the subject with more reader clicks per delivered message. A tie,
    or no click at all, keeps A."""
    if not clicks.get(A) and not clicks.get(B):
        return A, NO_CLICKS
    # Cross-multiplied: no float compares. A side nothing reached has rate 0.
    a_rate = clicks.get(A, 0) * delivered.get(B, 0) if delivered.get(A) else 0
    b_rate = clicks.get(B, 0) * delivered.get(A, 0) if delivered.get(B) else 0
    if delivered.get(A) and not delivered.get(B):
        return A, BY_CLICKS
    if delivered.get(B) and not delivered.get(A):
        return B, BY_CLICKS
    if a_rate == b_rate:
        return A, TIE
    return (A, BY_CLICKS) if a_rate > b_rate else (B, BY_CLICKS)

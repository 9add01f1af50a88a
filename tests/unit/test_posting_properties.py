"""next_slot over arbitrary small inputs: what it returns keeps every rule, no earlier
minute would have, and it is never later than the implementation it replaced (kept in
posting_reference.py), which stepped a minute at a time where it could not jump."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.posting import PostingRules, Timeline, in_quiet_hours, next_slot
from tests.unit import posting_reference

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A week around the spring and autumn changes in Europe and the US, so quiet hours cross DST.
BASES = [datetime(2026, 3, 27, tzinfo=timezone.utc), datetime(2026, 10, 23, tzinfo=timezone.utc),
         datetime(2026, 3, 6, tzinfo=timezone.utc), datetime(2026, 11, 28, tzinfo=timezone.utc)]
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]
HOUR = timedelta(hours=1)

# Minutes from the base: anywhere in three days, or on a 10-minute grid in the first four
# hours, where posts crowd together and land exactly an hour or a gap apart.
minutes = st.one_of(st.integers(min_value=0, max_value=3 * 24 * 60),
                    st.integers(min_value=0, max_value=24).map(lambda n: n * 10))
clock = st.builds(lambda h, m: time(h, m), st.integers(0, 23), st.sampled_from([0, 15, 30]))
rules_strategy = st.builds(
    lambda per_hour, gap, quiet, tz: PostingRules(
        max_per_hour=per_hour, min_gap=timedelta(minutes=gap),
        quiet_start=quiet[0] if quiet else None, quiet_end=quiet[1] if quiet else None, tz=tz),
    st.integers(0, 5), st.sampled_from([0, 1, 10, 15, 30, 60, 90]),
    st.one_of(st.none(), st.tuples(clock, clock).filter(lambda q: q[0] != q[1])),
    st.sampled_from(ZONES))


def keeps_rules(slot: datetime, taken: list[datetime], rules: PostingRules) -> bool:
    """The rules, checked the plain way: quiet hours, the gap to every post, and every
    rolling hour containing the slot."""
    if in_quiet_hours(slot, rules):
        return False
    if any(abs(t - slot) < rules.min_gap for t in taken):
        return False
    if rules.max_per_hour > 0:
        points = sorted(taken + [slot])
        for start in points:
            if start <= slot < start + HOUR and \
                    sum(start <= t < start + HOUR for t in points) > rules.max_per_hour:
                return False
    return True


@SETTINGS
@given(base=st.sampled_from(BASES), earliest=minutes, offsets=st.lists(minutes, max_size=8),
       rules=rules_strategy)
def test_the_slot_keeps_every_rule_and_no_earlier_minute_would(base, earliest, offsets, rules):
    start = base + timedelta(minutes=earliest)
    taken = [base + timedelta(minutes=m) for m in offsets]
    slot = next_slot(start, taken, rules)
    assert slot >= start
    assert keeps_rules(slot, taken, rules)
    # Every boundary (a post ± the gap, a post + 1 h, a quiet end) falls on a whole minute
    # here, so checking each minute before the slot checks every candidate.
    minute = start
    while minute < slot:
        assert not keeps_rules(minute, taken, rules), f"{minute} was free, {slot} was given"
        minute += timedelta(minutes=1)
    assert slot <= posting_reference.next_slot(start, taken, rules)


@SETTINGS
@given(base=st.sampled_from(BASES), offsets=st.lists(minutes, max_size=6),
       count=st.integers(1, 25), rules=rules_strategy)
def test_placing_in_a_row_from_a_cursor_equals_asking_afresh_each_time(base, offsets, count, rules):
    """What the scheduler does for a batch: start each search at the previous slot. The
    free slots only shrink as posts are added, so this gives what a search from the start
    would, without walking the whole backlog again."""
    taken = [base + timedelta(minutes=m) for m in offsets]
    timeline, cursor = Timeline(rules, taken), base
    for _ in range(count):
        expected = next_slot(base, taken, rules)
        cursor = timeline.place(cursor)
        assert cursor == expected
        taken.append(expected)


def test_removing_a_slot_frees_it_again():
    rules = PostingRules(max_per_hour=1, min_gap=timedelta(minutes=5))
    t0 = BASES[-1]
    timeline = Timeline(rules)
    first, second = timeline.place(t0), timeline.place(t0)
    assert (first, second) == (t0, t0 + HOUR)
    timeline.remove(first)
    assert timeline.next_slot(t0) == t0

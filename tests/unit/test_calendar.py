"""The calendar's shaping (bot.domain.calendar): filters, one row per article, today first,
the week. Pure functions over plain dicts, so plain dicts here."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.domain import calendar as shape
from bot.errors import BadInput

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


def edition(list_name: str, status: str = "scheduled", minutes: int = 0) -> dict:
    return {"kind": "edition", "key": f"edition-{list_name}-{minutes}", "list": list_name,
            "status": status, "when": T0 + timedelta(minutes=minutes)}


def post(article: int, account: str, status: str = "scheduled", minutes: int = 0) -> dict:
    return {"kind": "post", "key": f"post-{article}-{account}", "article_id": article,
            "title": f"Article {article}", "account": account, "platform": "x",
            "status": status, "when": T0 + timedelta(minutes=minutes)}


ITEMS = [edition("morning"), edition("evening", "sent"), post(1, "gazette-x"),
         post(1, "gazette-bsky", "failed"), post(2, "gazette-x", "sent")]


@pytest.mark.parametrize("filters, keys", [
    (shape.Filters(), [i["key"] for i in ITEMS]),
    (shape.Filters(list="morning"), ["edition-morning-0"]),
    (shape.Filters(account="gazette-x"), ["post-1-gazette-x", "post-2-gazette-x"]),
    (shape.Filters(list="evening", account="gazette-bsky"), ["edition-evening-0", "post-1-gazette-bsky"]),
    (shape.Filters(status="sent"), ["edition-evening-0", "post-2-gazette-x"]),
    (shape.Filters(account="gazette-x", status="sent"), ["post-2-gazette-x"]),
])
def test_filters_narrow_digests_by_list_posts_by_account_and_both_by_status(filters, keys):
    assert [i["key"] for i in shape.filtered(ITEMS, filters)] == keys


def test_an_unknown_status_is_refused_naming_the_field_and_blanks_mean_no_filter():
    with pytest.raises(BadInput, match="status: 'posted' is not one of"):
        shape.Filters.of(status="posted")
    assert shape.Filters.of(" ", "", None) == shape.Filters() and not shape.Filters().active


def test_fourteen_articles_on_four_accounts_make_fourteen_rows_with_four_chips_each():
    accounts = ["x", "mastodon", "bluesky", "telegram"]
    items = [post(a, acc, minutes=a * 10 + n) for n, acc in enumerate(accounts) for a in range(14)]
    items.append(edition("morning", minutes=35))

    rows = shape.article_rows(items)

    assert len(rows) == 15
    articles = [r for r in rows if r["kind"] == "article"]
    assert [r["article_id"] for r in articles] == list(range(14))
    assert all([p["account"] for p in r["posts"]] == accounts for r in articles)
    # Each row sits at its first post's time; the edition between articles 3 and 4.
    assert [r["when"] for r in rows] == sorted(r["when"] for r in rows)
    assert rows[4]["kind"] == "edition"


def test_today_comes_first_then_the_days_ahead_then_the_days_before_latest_first():
    today = date(2026, 12, 2)
    days = [(today + timedelta(days=n), [n]) for n in (-2, -1, 0, 1, 2)]

    ahead, earlier = shape.today_first(days, today)

    assert [d for d, _ in ahead] == [today, today + timedelta(days=1), today + timedelta(days=2)]
    assert [d for d, _ in earlier] == [today - timedelta(days=1), today - timedelta(days=2)]


def test_a_week_is_monday_to_sunday_with_empty_days_kept():
    wednesday = date(2026, 12, 2)
    monday = shape.week_start(wednesday)
    assert monday == date(2026, 11, 30) and shape.week_start(monday) == monday

    week = shape.week([(wednesday, ["something"])], monday)

    assert [d.isoformat() for d, _ in week][::6] == ["2026-11-30", "2026-12-06"]
    assert [rows for _, rows in week] == [[], [], ["something"], [], [], [], []]

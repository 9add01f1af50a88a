"""Shaping the calendar for people: filters, one row per article, today first, weeks.

Plain functions over the timeline's items (bot.services.planning.timeline): dicts with a
`kind` ("edition" or "post"), `when` (aware UTC) and `status`; editions carry `list`,
posts `article_id`, `title`, `account` and `platform`. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.errors import BadInput

# Every status a calendar item can have: editions' and share posts' (a shared "scheduled",
# "sent", "failed", "skipped" means the same thing to an editor on both).
EDITION_STATES = ("scheduled", "pending", "sending", "sent", "skipped", "failed", "cancelled")
POST_STATES = ("scheduled", "claimed", "sent", "failed", "skipped")
STATES = tuple(dict.fromkeys(EDITION_STATES + POST_STATES))


@dataclass(frozen=True)
class Filters:
    """What an editor narrows the calendar to. `list` narrows the digests, `account` the
    share posts; naming only one of them shows only that kind (asking for one list's
    digests is not asking for every post as well). `status` narrows both."""

    list: str | None = None
    account: str | None = None
    status: str | None = None

    @classmethod
    def of(cls, list: str | None = None, account: str | None = None,
           status: str | None = None) -> "Filters":
        clean = [(value or "").strip() or None for value in (list, account, status)]
        if clean[2] is not None and clean[2] not in STATES:
            raise BadInput(f"status: {clean[2]!r} is not one of {', '.join(STATES)}")
        return cls(*clean)

    @property
    def active(self) -> bool:
        return any((self.list, self.account, self.status))

    def keeps(self, item: dict) -> bool:
        if self.status and item["status"] != self.status:
            return False
        if item["kind"] == "edition":
            return self.list == item["list"] if self.list else self.account is None
        return self.account == item["account"] if self.account else self.list is None


def filtered(items: list[dict], filters: Filters) -> list[dict]:
    return [item for item in items if filters.keeps(item)]


def article_rows(items: list[dict]) -> list[dict]:
    """One day's items as rows: each digest edition its own row; each article's share posts
    together in one row (`kind` "article", its `posts` by time, one chip per account),
    placed at its first post's time. 14 articles × 4 accounts make 14 rows, not 56."""
    rows: list[dict] = []
    articles: dict[int, dict] = {}
    for item in sorted(items, key=lambda i: i["when"]):
        if item["kind"] != "post":
            rows.append(item)
            continue
        row = articles.get(item["article_id"])
        if row is None:
            row = articles[item["article_id"]] = {
                "kind": "article", "key": f"article-{item['article_id']}",
                "article_id": item["article_id"], "title": item["title"],
                "when": item["when"], "posts": []}
            rows.append(row)
        row["posts"].append(item)
    return rows


def today_first(days: list[tuple[date, list]], today: date,
                ) -> tuple[list[tuple[date, list]], list[tuple[date, list]]]:
    """(today and the days after it, in order; the days before it, latest first): what is
    coming is read first, what went out just before follows."""
    ahead = [day for day in days if day[0] >= today]
    earlier = [day for day in days if day[0] < today]
    return sorted(ahead, key=lambda d: d[0]), sorted(earlier, key=lambda d: d[0], reverse=True)


def week_start(day: date) -> date:
    """The Monday of `day`'s week (ISO weeks)."""
    return day - timedelta(days=day.weekday())


def week(days: list[tuple[date, list]], monday: date) -> list[tuple[date, list]]:
    """Seven (day, rows) pairs from `monday`, an empty list for a day with nothing."""
    found = dict(days)
    return [(monday + timedelta(days=n), found.get(monday + timedelta(days=n), []))
            for n in range(7)]

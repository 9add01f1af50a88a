"""Which articles an edition carries, and in what order (pure: plain dicts in and out).

An article dict has at least "id", "title", "published" (ISO string or datetime) and
"categories"; it may have "first_seen", the moment pressbot first ingested it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable


def _when(value) -> datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def arrival(article: dict) -> datetime | None:
    """When the article became news *to us*. The first-seen time is what makes each article
    land in exactly one edition: a story backdated by its CMS, or ingested late, still
    appears once; the published time is the fallback for data that lacks it."""
    return _when(article.get("first_seen")) or _when(article.get("published"))


def backfill_floor(window_start: datetime, period: timedelta) -> datetime:
    """The oldest publication date a regular edition takes. An article first seen inside
    the window but published before this is backfill (an archive imported, a feed of 2019
    stories added today): it stays in the archive. One schedule period of grace before the
    window start keeps a story published just before the last edition but first seen after
    it. An article whose date is unknown is judged by when it was first seen alone."""
    return window_start - period


def matches(article_categories: Iterable[str], wanted: Iterable[str]) -> bool:
    """Any category in common, case-insensitively; an empty filter takes everything."""
    wanted = {w.casefold() for w in wanted}
    return not wanted or bool(wanted & {c.casefold() for c in article_categories or ()})


def _newest_first(articles: list[dict]) -> list[dict]:
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(articles, key=lambda a: (_when(a.get("published")) or epoch, a.get("id") or 0),
                  reverse=True)


def select_articles(articles: list[dict], *, since: datetime | None, until: datetime,
                    categories: set[str], max_articles: int) -> list[dict]:
    """The articles that arrived in [since, until) and match the filter: the newest is the
    lead story, the rest follow grouped by their first category (groups ordered by their
    newest article, newest first inside a group; uncategorised ones last).

    The cap is applied before grouping so that it always drops the oldest stories, never a
    recent one that happens to sit in a late group. Each returned dict is a copy with a
    "section" key (its group's category, "" for the lead and uncategorised ones)."""
    eligible = [a for a in articles
                if (when := arrival(a)) is not None and (since is None or when >= since)
                and when < until and matches(a.get("categories") or (), categories)]
    chosen = _newest_first(eligible)[:max(0, max_articles)]
    if not chosen:
        return []
    lead, rest = chosen[0], chosen[1:]
    groups: dict[str, list[dict]] = {}
    for article in rest:  # already newest first, so group order follows each group's newest
        groups.setdefault(_section(article), []).append(article)
    uncategorised = groups.pop("", [])
    ordered = [dict(lead, section="")]
    for section, members in groups.items():
        ordered.extend(dict(a, section=section) for a in members)
    ordered.extend(dict(a, section="") for a in uncategorised)
    return ordered


def _section(article: dict) -> str:
    categories = article.get("categories") or ()
    return categories[0] if categories else ""


def for_topics(articles: list[dict], topics: Iterable[str]) -> list[dict]:
    """What a subscriber who chose `topics` gets of an edition (empty topics: all of it)."""
    return [a for a in articles if matches(a.get("categories") or (), topics)]


def variant_key(language: str | None, topics: Iterable[str]) -> str:
    """Identifies one rendering of an edition: subscribers with the same key get the same
    HTML (rendered and inlined once) apart from their personal links."""
    normalised = sorted({t.strip().casefold() for t in topics if t and t.strip()})
    return f"{(language or '').strip().lower() or '-'}|{','.join(normalised)}"

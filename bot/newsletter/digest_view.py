"""What a digest shows of each article, and how the stories are grouped. Pure: plain
dicts in, plain dicts out, for the templates.

Language and direction. An article's block carries the article's own `lang` and `dir`;
the words the digest adds to it (the byline's "By", the date, the read time, "Read
more") are in the article's language when the catalogue has it, so the block reads as
one language; otherwise in the list's, and then that run carries the list's `lang`
(`meta_lang`). Dates and numbers are isolated (<bdi> in HTML, FSI/PDI in text) so they
keep their order inside a line of the other direction.

Sections. Grouping every story by its first category gave eight headings for eight
stories: a heading is worth it only when it gathers at least two stories. So a category
gets a section when at least two of the remaining stories (the lead aside) have it first,
in the order of first appearance; the rest go into one "More news" block at the end. A
list can name its sections instead (`sections`): each story goes into the first of them
that is among its categories, in the list's order, the rest into "More news".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_decimal

from bot.newsletter.catalogue import MESSAGES, messages
from bot.newsletter.values import (direction, http_url, language, local_day, locale, plain,
                                   short_date, tag_url)

# A comfortable reading speed for news prose (Medium and Ghost use 265 and 275; news
# readers skim less than blog readers do).
WORDS_PER_MINUTE = 230
MIN_SECTION = 2
# The lead image spans the 536 px column; its height attribute (Outlook sizes by it, other
# clients by `height: auto`) comes from the image's own size when the source gave it, else
# from the 1.91:1 shape Open Graph images are made in.
LEAD_WIDTH = 536
DEFAULT_RATIO = 630 / 1200


@dataclass(frozen=True)
class ListChrome:
    """The list's side of an article block: its language, time zone and campaign."""

    lang: str
    tz: ZoneInfo
    campaign: str


def _fold(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .:;,!?…")


def summary_without_title(title: str, summary: str) -> str:
    """The summary, unless it only repeats the title (a .txt article's first paragraph is
    often its title again): then what follows the title, or nothing."""
    folded_title, folded = _fold(title), _fold(summary)
    if not folded_title or not folded.startswith(folded_title):
        return summary
    # Drop as many words from the front as the title has.
    rest = summary.split()[len(title.split()):]
    return " ".join(rest).lstrip(" .:;,-–—") if rest else ""


def read_minutes(words: Any) -> int:
    try:
        count = int(words or 0)
    except (TypeError, ValueError):
        return 0
    return max(1, math.ceil(count / WORDS_PER_MINUTE)) if count > 0 else 0


def image_height(article: dict, width: int = LEAD_WIDTH) -> int:
    try:
        ratio = float(article["image_height"]) / float(article["image_width"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        ratio = DEFAULT_RATIO
    if not 0.2 <= ratio <= 3:   # a banner or a strip: not what the source meant
        ratio = DEFAULT_RATIO
    return round(width * ratio)


def plural(forms: dict[str, str], loc: Locale, count: int) -> str:
    form = forms.get(loc.plural_form(count), forms["other"])
    return form.format(n=format_decimal(count, locale=loc))


def article_view(article: dict, chrome: ListChrome) -> dict:
    lang = language(article.get("language") or chrome.lang)
    meta_lang = lang if lang in MESSAGES else chrome.lang
    t, loc = messages(meta_lang), locale(meta_lang)
    url = tag_url(article.get("url"), chrome.campaign)
    title = plain(article.get("title")) or (url or "")
    author = plain(article.get("author"))
    minutes = read_minutes(article.get("words"))
    categories = [plain(c) for c in article.get("categories") or () if plain(c)]
    return {
        "title": title, "url": url,
        "summary": summary_without_title(title, plain(article.get("summary"))),
        "image": http_url(article.get("image")),
        # The image's own description; empty (decorative) rather than the headline, which
        # sits right next to it and a screen reader would read twice.
        "image_alt": plain(article.get("image_alt")) or plain(article.get("image_caption")),
        "lang": lang, "dir": direction(lang),
        "meta_lang": meta_lang, "meta_dir": direction(meta_lang),
        # "By " and "" around the author, who is isolated (<bdi>) between them.
        "author": author, "by": tuple(t["by"].split("{author}", 1)) if author else ("", ""),
        "image_height": image_height(article),
        "date": short_date(local_day(article.get("published"), chrome.tz), loc)
        if article.get("date_known", True) else "",
        "read_time": plural(t["read_time"], loc, minutes) if minutes else "",
        "read_more": t["read_more"],
        "category": categories[0] if categories else "",
        "categories": categories,
    }


def sections(views: list[dict], other_label: str, configured: tuple[str, ...] = ()) -> list[dict]:
    """[{label, articles}] for the stories after the lead (see the module's docstring)."""
    groups: dict[str, dict] = {}
    rest: list[dict] = []
    if configured:
        order = {_fold(name): name for name in configured if _fold(name)}
        for name in order.values():
            groups[_fold(name)] = {"label": name, "articles": []}
        for view in views:
            key = next((k for k in map(_fold, view["categories"]) if k in order), None)
            (groups[key]["articles"] if key else rest).append(view)
    else:
        counts: dict[str, int] = {}
        for view in views:
            if view["category"]:
                counts[_fold(view["category"])] = counts.get(_fold(view["category"]), 0) + 1
        for view in views:
            key = _fold(view["category"]) if view["category"] else ""
            if key and counts[key] >= MIN_SECTION:
                groups.setdefault(key, {"label": view["category"], "articles": []})
                groups[key]["articles"].append(view)
            else:
                rest.append(view)
    result = [g for g in groups.values() if g["articles"]]
    if rest:
        result.append({"label": other_label, "articles": rest})
    return result

"""Composing one share post for one platform: render the template, then fit the text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import jinja2

from bot.errors import BadInput

from . import bluesky, telegram
from .hashtags import hashtags_from_categories
from .links import tag_url
from .rules import PlatformRules, check_platform, default_rules, fits, platform_length
from .templates import load_template, render, template_from_text
from .text import plain, shorten


class SnippetTooLong(BadInput):
    """Even with summary, hashtags and title gone, the text (the URL and the template's
    own words) is over the platform's limit. The URL is never cut, so nothing can help."""


@dataclass(frozen=True)
class SnippetInput:
    """What a share post is made from. `title`, `summary` and `categories` are plain text
    (as stored: entities decoded once at ingest); markup in them is shown literally."""

    title: str
    summary: str
    url: str
    categories: tuple[str, ...] = ()
    site_name: str = ""
    language: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Snippet:
    """A composed post. `url` is the campaign-tagged link, `length` the platform's own
    count of `text`. Bluesky's `text` shows the link as its client does (short, "..."),
    the facet carries `url`; Bluesky fills `facets` and `card`; Telegram `parse_mode` and
    `link_preview` (sendMessage's `link_preview_options`)."""

    platform: str
    text: str
    url: str
    length: int
    limit: int
    hashtags: tuple[str, ...] = ()
    facets: list[dict] = field(default_factory=list, hash=False)
    card: dict | None = field(default=None, hash=False)
    parse_mode: str | None = None
    link_preview: dict | None = field(default=None, hash=False)

    def to_json(self) -> dict:
        """What `pressbot share compose --json` prints."""
        out = {"platform": self.platform, "text": self.text, "url": self.url,
               "length": self.length, "limit": self.limit}
        if self.platform == "bluesky":
            out["facets"] = self.facets
        return out


@dataclass(frozen=True)
class _Parts:
    """The template's variables, plain text; shortening replaces them one at a time."""

    title: str
    summary: str
    hashtags: tuple[str, ...]
    url: str
    site_name: str
    language: str


# A summary cut shorter than this many graphemes is dropped instead.
SUMMARY_MIN_KEEP = 12
_SPACES = re.compile(r" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Remove what empty variables leave behind: doubled spaces, edge spaces, runs of
    blank lines. Variables hold no doubled spaces or newlines, so only template glue
    changes."""
    lines = [_SPACES.sub(" ", line).strip(" ") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _values(platform: str, parts: _Parts) -> dict:
    values = {"title": parts.title, "summary": parts.summary, "url": parts.url,
              "hashtags": list(parts.hashtags), "site_name": parts.site_name,
              "language": parts.language}
    if platform == "telegram":
        esc = telegram.escape_text
        values = {**{k: esc(v) for k, v in values.items() if isinstance(v, str)},
                  "url": telegram.escape_attribute(parts.url),
                  "hashtags": [esc(tag) for tag in parts.hashtags]}
    return values


def _render(platform: str, template: jinja2.Template, parts: _Parts) -> str:
    # NFC last as well: X counts the NFC form, and a template's own text could start
    # with a combining mark that composes with what a variable ends with.
    text = unicodedata.normalize("NFC", _tidy(render(template, _values(platform, parts))))
    if platform == "telegram":
        telegram.check_markup(text, f"telegram template {template.name or '(text)'}")
    return text


def _fit(platform: str, rules: PlatformRules, template: jinja2.Template, parts: _Parts,
         ) -> tuple[_Parts, str]:
    """Shorten until the text fits: the summary first, then hashtags from the end, then
    the title (and a site name a template shows), never the URL."""

    def attempt(candidate: _Parts) -> str | None:
        text = _render(platform, template, candidate)
        return text if fits(platform, text, rules) else None

    def shortened(current: _Parts, name: str, min_keep: int = 1) -> _Parts:
        value = getattr(current, name)
        if not value:
            return current
        best = shorten(value, lambda cut: attempt(replace(current, **{name: cut})) is not None,
                       min_keep)
        return replace(current, **{name: best})

    text = attempt(parts)
    if text is not None:
        return parts, text
    parts = shortened(parts, "summary", SUMMARY_MIN_KEEP)
    while (text := attempt(parts)) is None and parts.hashtags:
        parts = replace(parts, hashtags=parts.hashtags[:-1])
    for name in ("title", "site_name"):
        if text is None:
            parts = shortened(parts, name)
            text = attempt(parts)
    if text is None:
        raise SnippetTooLong(
            f"{platform}: the link {parts.url} and the template's own text are longer than "
            f"the limit of {rules.limit}")
    return parts, text


def _template(platform: str, template: str | None,
              templates_dir: Path | Sequence[Path] | None) -> jinja2.Template:
    if template is not None:
        return template_from_text(template)
    return load_template(platform, templates_dir)


def compose(platform: str, item: SnippetInput, *, campaign: str,
            default_hashtags: Iterable[str] = (), template: str | None = None,
            rules: PlatformRules | None = None,
            templates_dir: Path | Sequence[Path] | None = None) -> Snippet:
    """The share post for `item` on `platform` ("x", "mastodon", "bluesky", "telegram").

    An empty title falls back to the site name; with neither, the post is the summary,
    the link and the hashtags. `template` is template text to use instead of the file
    `templates_dir/social/<platform>.txt` (several folders: the first that has it).
    Raises BadInput (unknown platform, a URL that is not http(s), a broken template) or
    SnippetTooLong."""
    platform = check_platform(platform)
    rules = rules or default_rules(platform)
    url = tag_url(item.url, platform, campaign)
    site_name = plain(item.site_name)
    title = plain(item.title) or site_name
    summary = plain(item.summary)
    tags = hashtags_from_categories((*item.categories, *default_hashtags), title)
    parts = _Parts(title, summary, tags, url, site_name, plain(item.language))
    parts, text = _fit(platform, rules, _template(platform, template, templates_dir), parts)
    extra: dict = {}
    if platform == "bluesky":
        # Posted as Bluesky's client posts it: the link's short text, the full URL in its facet.
        text, link_facets = bluesky.post_text(text, url)
        extra = {"facets": link_facets, "card": bluesky.card(url, title, summary, item.image)}
    elif platform == "telegram":
        extra = {"parse_mode": "HTML", "link_preview": telegram.link_preview(url)}
    return Snippet(platform=platform, text=text, url=url,
                   length=platform_length(platform, text, rules), limit=rules.limit,
                   hashtags=parts.hashtags, **extra)

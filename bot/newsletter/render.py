"""Rendering emails once per variant (DESIGN principle 3).

A digest variant is one (list language × topic set): Jinja renders it and premailer inlines
its CSS here, once. What differs per recipient (name, unsubscribe and preference links) is
not known yet: the output carries the placeholders below, which `bot.newsletter.mime`
fills in while it assembles each message. They are plain ASCII without &, <, > or quotes, so
autoescaping and premailer leave them as they are, and content that happens to contain one
is defused before rendering.

Templates live in `templates/email/<name>/{subject.txt, body.txt, body.html}`, extending
`templates/email/_base/`. HTML is rendered by an autoescaping environment, text and subject
by a plain one (as zulip does): titles and summaries are plain text, so `<script>` in a
title reaches the HTML as `&lt;script&gt;`.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
import premailer
from babel import Locale
from babel.dates import format_date

from bot import resources
from bot.errors import PermanentError
from bot.newsletter import brand as brands
from bot.newsletter.catalogue import messages
from bot.newsletter.digest_view import ListChrome, article_view, plural, sections
from bot.newsletter.values import MARKER, RTL_LANGUAGES, isolate, tag_url  # noqa: F401 (public here)
from bot.newsletter.values import direction as _direction
from bot.newsletter.values import http_url as _http_url
from bot.newsletter.values import language as _language
from bot.newsletter.values import locale as _locale
from bot.newsletter.values import plain as _plain

# The templates pressbot ships (the package's copy, or the checkout's templates/).
DEFAULT_TEMPLATES_DIR = resources.default_templates_dir()

NAME = "%%PB:NAME%%"
UNSUBSCRIBE_URL = "%%PB:UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%PB:PREFERENCES_URL%%"
# "Hello Ana," needs other words than "Hello," in most languages, so the greeting is a
# choice made per recipient: IF_NAME <with name> ELSE <without> END. mime.prepare splits it
# into two prepared bodies; build() only picks one.
IF_NAME, ELSE, END = "%%PB:IF_NAME%%", "%%PB:ELSE%%", "%%PB:END%%"

# Gmail clips an HTML part over 102 KiB behind a "[Message clipped]" link, which hides the
# footer with the unsubscribe link. Keep a margin for what build() adds per recipient:
# two links of a few hundred bytes each and a name (html-escaped) in two places.
CLIP_LIMIT = 102 * 1024
RECIPIENT_ALLOWANCE = 4 * 1024
CLIP_BUDGET = CLIP_LIMIT - RECIPIENT_ALLOWANCE

# A preheader longer than this is cut: previews show ~90-140 characters, the rest is noise.
PREHEADER_LIMIT = 140


class TemplateFailed(PermanentError):
    """A template could not be rendered; the message names its file and line."""

    def __init__(self, message: str, template: str | None = None, lineno: int | None = None):
        super().__init__(message)
        self.template = template
        self.lineno = lineno


@dataclass(frozen=True)
class ListInfo:
    """What the renderer needs of a mailing list (no database session)."""

    name: str
    title: str
    language: str = "en"
    from_name: str = ""
    from_email: str = ""
    reply_to: str | None = None
    timezone: str = "UTC"
    template: str = "digest"   # templates/email/<template>/{subject.txt,body.txt,body.html}
    # Brand (None: the site's default, bot.newsletter.brand) and named sections.
    logo_url: str | None = None
    brand_color: str | None = None
    footer_text: str | None = None
    copyright_holder: str | None = None
    sections: tuple[str, ...] = ()

    @classmethod
    def from_model(cls, mlist: Any) -> ListInfo:
        """From a `bot.store.mailing.MailingList` (or anything with the same attributes)."""
        return cls(name=mlist.name, title=mlist.title, language=mlist.language or "en",
                   from_name=mlist.from_name, from_email=mlist.from_email,
                   reply_to=mlist.reply_to, timezone=mlist.timezone or "UTC",
                   template=getattr(mlist, "template", None) or "digest",
                   logo_url=getattr(mlist, "logo_url", None),
                   brand_color=getattr(mlist, "brand_color", None),
                   footer_text=getattr(mlist, "footer_text", None),
                   copyright_holder=getattr(mlist, "copyright_holder", None),
                   sections=tuple(getattr(mlist, "sections", None) or ()))


@dataclass(frozen=True)
class SiteInfo:
    site_name: str
    base_url: str
    templates_dir: Path | None = None   # None: the templates pressbot ships
    templates_overlay: Path | None = None   # PRESSBOT_TEMPLATES: wins over templates_dir
    # The brand of lists that have none of their own (PRESSBOT_BRAND_*).
    brand_logo_url: str | None = None
    brand_color: str = brands.DEFAULT_COLOR
    brand_footer: str | None = None
    brand_copyright: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SiteInfo:
        return cls(settings.site_name, settings.base_url, Path(settings.templates_dir),
                   getattr(settings, "templates", None),
                   brand_logo_url=settings.brand_logo_url, brand_color=settings.brand_color,
                   brand_footer=settings.brand_footer, brand_copyright=settings.brand_copyright)

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        base = self.templates_dir or DEFAULT_TEMPLATES_DIR
        return resources.as_dirs([self.templates_overlay, base] if self.templates_overlay else base)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    articles: int = 0   # articles in this variant
    omitted: int = 0    # of which left out to stay under the clip limit


# --- environments and errors -------------------------------------------------------------

@lru_cache(maxsize=8)
def _environments(dirs: tuple[Path, ...]) -> tuple[jinja2.Environment, jinja2.Environment]:
    """(html, text) environments, built on first use (DESIGN principle 5); the loader
    re-reads a template that changed on disk. StrictUndefined: a misspelt variable fails
    the edition instead of silently vanishing from every mail."""
    loader = resources.loader(dirs)
    options = dict(loader=loader, undefined=jinja2.StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
    environments = (jinja2.Environment(autoescape=True, **options),
                    jinja2.Environment(autoescape=False, **options))
    environments[1].filters["isolate"] = isolate   # HTML uses <bdi>
    return environments


def _template_frame(exc: BaseException, dirs: tuple[Path, ...]) -> tuple[str | None, int | None]:
    """The innermost template file and line in `exc`'s traceback (Jinja rewrites its
    frames so that they carry the template's file name and line)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(tuple(str(d) for d in dirs)):
            return frame.filename, frame.lineno
    return None, None


def _render(site: SiteInfo, name: str, context: dict, *, html: bool) -> str:
    dirs = site.template_dirs
    root = dirs[0]
    env = _environments(dirs)[0 if html else 1]
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or str(root / name)
        raise TemplateFailed(f"{where}, line {exc.lineno}: {exc.message}",
                             where, exc.lineno) from exc
    except jinja2.TemplateNotFound as exc:
        missing = str(root / (exc.name or name))
        elsewhere = "".join(f" (nor in {d})" for d in dirs[1:])
        raise TemplateFailed(f"{missing}: template not found{elsewhere}", missing) from exc
    except Exception as exc:  # noqa: BLE001 - whatever a template does wrong stops the edition
        where, lineno = _template_frame(exc, dirs)
        where = where or str(root / name)
        raise TemplateFailed(f"{where}, line {lineno}: {type(exc).__name__}: {exc}",
                             where, lineno) from exc


def inline_css(html: str) -> str:
    """premailer, once per variant. The data-premailer="ignore" <style> block (the @media
    and dark-mode rules) passes through untouched; the other one is inlined and dropped
    (keeping it too would only add bytes towards the clip limit). Classes stay: the @media
    rules select on them. No height or width attribute from CSS: `height:auto` would become
    height="auto", not a valid value (it takes a number), and a fluid image's `width:100%`
    would replace the pixel width Outlook sizes it by; the templates write both."""
    try:
        return premailer.Premailer(
            html, keep_style_tags=False, strip_important=False, remove_classes=False,
            disable_validation=True, allow_network=False, disable_basic_attributes=["height", "width"],
            cssutils_logging_level=logging.CRITICAL).transform()
    except Exception as exc:  # noqa: BLE001 - premailer raises many kinds
        raise TemplateFailed(f"CSS inlining failed: {type(exc).__name__}: {exc}") from exc


# --- the digest --------------------------------------------------------------------------

def select_articles(content: dict, topics: tuple[str, ...] = ()) -> list[dict]:
    """The snapshot's articles for one topic set (empty: all), in the snapshot's order.
    The delivery side can call this to skip a variant that would be empty."""
    articles = list(content.get("articles") or [])
    if not topics:
        return articles
    wanted = {topic.casefold() for topic in topics}
    return [a for a in articles
            if wanted & {str(c).casefold() for c in a.get("categories") or ()}]


def _more_label(t: dict, locale: Locale, count: int) -> str:
    return plural(t["more_stories"], locale, count) + " — " + t["read_web_version"]


def _greeting(t: dict) -> str:
    return IF_NAME + t["greeting_named"].format(name=NAME) + ELSE + t["greeting"] + END


def _edition_date(content: dict) -> date:
    try:
        return date.fromisoformat(str(content.get("date"))[:10])
    except ValueError:
        raise PermanentError(f"edition {content.get('edition_id')}: no valid date "
                             f"({content.get('date')!r})") from None


def _subscribe_url(site: SiteInfo, mlist: ListInfo) -> str:
    """The public sign-up page for this list, for readers of a forwarded copy."""
    base = _http_url(site.base_url)
    if not base:
        return ""
    return f"{base.rstrip('/')}/subscribe?list={quote(mlist.name, safe='')}&lang={_language(mlist.language)}"


def _chrome(content: dict, mlist: ListInfo, site: SiteInfo) -> dict:
    """What every email of the list shows around its content: language and direction,
    brand, the copyright line, the links of the header and footer."""
    language = _language(mlist.language)
    locale = _locale(language)
    t = messages(language)
    brand = brands.resolve(mlist, site)
    day = _edition_date(content) if content else date.today()
    return {"lang": language, "dir": _direction(language), "t": t, "site": site,
            "list": mlist, "locale": locale, "brand": brand,
            # Where text starts, for clients that drop dir (Outlook.com keeps styles).
            "align": "right" if _direction(language) == "rtl" else "left",
            "copyright": t["copyright"].format(year=day.year, holder=brand.copyright_holder),
            "subscribe_url": _subscribe_url(site, mlist)}


def _digest_base(content: dict, mlist: ListInfo, site: SiteInfo) -> dict:
    chrome = _chrome(content, mlist, site)
    t, locale = chrome["t"], chrome["locale"]
    return {**chrome,
            "date_long": format_date(_edition_date(content), format="long", locale=locale),
            "web_url": _http_url(content.get("web_url")) or _http_url(site.base_url) or "",
            "greeting": _greeting(t), "intro": _plain(content.get("intro")),
            # Isolated: an English site name inside an Arabic sentence keeps its full stop.
            "why": t["why"].format(list=isolate(mlist.title), site=isolate(site.site_name)),
            "unsubscribe_url": UNSUBSCRIBE_URL, "preferences_url": PREFERENCES_URL}


def _digest_context(base: dict, views: list[dict], omitted: int) -> dict:
    t, lead = base["t"], (views[0] if views else None)
    preheader = (lead["summary"] or lead["title"]) if lead else base["list"].title
    if len(preheader) > PREHEADER_LIMIT:
        preheader = preheader[:PREHEADER_LIMIT - 1].rstrip() + "…"
    return {**base, "lead": lead, "groups": sections(views[1:], t["other"], base["list"].sections),
            "more": _more_label(t, base["locale"], omitted) if omitted else "",
            "preheader": preheader}


def render_digest(content: dict, mlist: ListInfo, *, settings_view: SiteInfo,
                  topics: tuple[str, ...] = (), budget: int = CLIP_BUDGET) -> RenderedEmail:
    """One digest variant: the edition snapshot `content` for `mlist`'s language and the
    subscribers who chose `topics` (empty: everything). Lead story first, then the rest
    grouped by category; trimmed from the end when the HTML would be clipped by Gmail."""
    site = settings_view
    base = _digest_base(content, mlist, site)
    chrome = ListChrome(base["lang"], _zone(mlist.timezone), _campaign(content, mlist))
    views = [article_view(a, chrome) for a in select_articles(content, topics)]
    keep, omitted = len(views), 0
    ratio = 1.0   # inlined size / rendered size, learnt from the last premailer run
    while True:
        context = _digest_context(base, views[:keep], omitted)
        # An editor's subject for this edition (scheduled digests, issue 14) wins over the template's.
        subject = _one_line(content.get("subject") or "") or _one_line(
            _render(site, f"email/{mlist.template}/subject.txt", context, html=False))
        context["subject"] = subject
        raw = _render(site, f"email/{mlist.template}/body.html", context, html=True)
        # premailer is the slow step (~1 s on 300 KB): trim on the estimated size first,
        # and inline only a candidate that may fit.
        estimate = int(len(raw.encode("utf-8")) * ratio)
        if keep and estimate > budget:
            keep = _shrink(keep, estimate, budget)
        else:
            html = inline_css(raw)
            size = len(html.encode("utf-8"))
            if size <= budget or not keep:
                break
            ratio = size / len(raw.encode("utf-8"))
            keep = _shrink(keep, size, budget)
        omitted = len(views) - keep
    text = _render(site, f"email/{mlist.template}/body.txt", context, html=False)
    return RenderedEmail(subject, _tidy(text), html, len(views), omitted)


def _campaign(content: dict, mlist: ListInfo) -> str:
    return f"{mlist.name}-{_edition_date(content).isoformat()}"


def article_links(content: dict, mlist: ListInfo) -> dict[str, int | None]:
    """Each article link exactly as render_digest writes it (UTM-tagged) → the article's
    id: what click tracking rewrites (bot.newsletter.tracking)."""
    campaign = _campaign(content, mlist)
    links: dict[str, int | None] = {}
    for article in content.get("articles") or ():
        url = tag_url(article.get("url"), campaign)
        if url:
            links.setdefault(url, article.get("id"))
    return links


def _shrink(keep: int, size: int, budget: int = CLIP_BUDGET) -> int:
    """Fewer articles, in proportion to the overshoot: a few renders, not one per article."""
    return max(0, min(keep - 1, keep * budget // size))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError, OSError):  # unknown name (ZoneInfoNotFoundError), bad path
        return ZoneInfo("UTC")


def _one_line(text: str) -> str:
    """A subject: the template's lines joined (no-break spaces inside a line are kept)."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _tidy(text: str) -> str:
    """Plain text without trailing spaces or runs of blank lines left by empty blocks.
    The "-- " signature separator keeps its space: mail clients look for it exactly."""
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


# --- the confirmation --------------------------------------------------------------------

def render_confirmation(mlist: ListInfo, site: SiteInfo, confirm_url: str,
                        name: str | None = None) -> RenderedEmail:
    """The double opt-in email. One recipient, so the name is rendered in, not left as a
    placeholder; there is no unsubscribe link (they are not subscribed yet)."""
    name = _plain(name)
    url = _http_url(confirm_url)
    if url is None:
        raise PermanentError(f"confirmation link is not an http(s) URL: {confirm_url!r}")
    chrome = _chrome({}, mlist, site)
    t = chrome["t"]
    context = {**chrome, "web_url": "", "confirm_url": url,
               "greeting": t["greeting_named"].format(name=isolate(name)) if name else t["greeting"],
               "subject": "", "preheader": t["confirm_intro"].format(
                   list=mlist.title, site=site.site_name),
               # Names isolated: an English site name keeps its full stop in Arabic.
               "intro": t["confirm_intro"].format(list=isolate(mlist.title),
                                                  site=isolate(site.site_name))}
    subject = _one_line(_render(site, "email/confirm/subject.txt", context, html=False))
    context["subject"] = subject
    html = inline_css(_render(site, "email/confirm/body.html", context, html=True))
    text = _render(site, "email/confirm/body.txt", context, html=False)
    return RenderedEmail(subject, _tidy(text), html)

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
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import jinja2
import premailer
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from bot import resources

from bot.errors import PermanentError
from bot.newsletter.catalogue import messages

# The templates pressbot ships (the package's copy, or the checkout's templates/).
DEFAULT_TEMPLATES_DIR = resources.default_templates_dir()

MARKER = "%%PB:"
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

RTL_LANGUAGES = frozenset({"ar", "he", "iw", "fa", "ur", "ps", "yi", "ckb", "dv", "sd", "ug"})
_UTM_OURS = ("utm_source", "utm_medium", "utm_campaign")
# Characters legal in a URI as they are; others (spaces, quotes, non-ASCII) get encoded.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
# A "%" not starting an escape makes the URL invalid, and could start a placeholder.
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ASCII_SPACE = re.compile(r"\s+", re.ASCII)


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

    @classmethod
    def from_model(cls, mlist: Any) -> ListInfo:
        """From a `bot.store.mailing.MailingList` (or anything with the same attributes)."""
        return cls(name=mlist.name, title=mlist.title, language=mlist.language or "en",
                   from_name=mlist.from_name, from_email=mlist.from_email,
                   reply_to=mlist.reply_to, timezone=mlist.timezone or "UTC",
                   template=getattr(mlist, "template", None) or "digest")


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
    return (jinja2.Environment(autoescape=True, **options),
            jinja2.Environment(autoescape=False, **options))


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
    rules select on them. No height attribute from CSS: `height:auto` would become
    height="auto", which is not a valid value for the attribute (it takes a number)."""
    try:
        return premailer.Premailer(
            html, keep_style_tags=False, strip_important=False, remove_classes=False,
            disable_validation=True, allow_network=False, disable_basic_attributes=["height"],
            cssutils_logging_level=logging.CRITICAL).transform()
    except Exception as exc:  # noqa: BLE001 - premailer raises many kinds
        raise TemplateFailed(f"CSS inlining failed: {type(exc).__name__}: {exc}") from exc


# --- values ------------------------------------------------------------------------------

def _defuse(text: str) -> str:
    """Content must not be able to smuggle in a placeholder (and get, say, the recipient's
    unsubscribe link): break the marker with an invisible zero-width non-joiner."""
    return text.replace(MARKER, "%%PB\u200c:")


def _plain(value: Any) -> str:
    """One paragraph of plain text: control characters out (lxml refuses some), runs of
    ASCII white space as one space; no-break spaces stay (French typography needs them)."""
    text = _CONTROLS.sub("", str(value or ""))
    return _defuse(_ASCII_SPACE.sub(" ", text).strip())


def _language(code: str | None) -> str:
    return (code or "en").replace("_", "-").split("-")[0].lower() or "en"


def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def _direction(code: str) -> str:
    return "rtl" if _language(code) in RTL_LANGUAGES else "ltr"


def _http_url(url: Any) -> str | None:
    """An http(s) URL with a valid escape syntax, or None (no javascript:, data:, …)."""
    url = str(url or "").strip()
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return _BARE_PERCENT.sub("%25", quote(url, safe=_URI_SAFE))


def tag_url(url: Any, campaign: str) -> str | None:
    """`url` with utm_source=newsletter, utm_medium=email, utm_campaign=<campaign>; the
    URL's own query is kept in order, except earlier values of these three."""
    clean = _http_url(url)
    if clean is None:
        return None
    parts = urlsplit(clean)
    kept = [segment for segment in parts.query.split("&")
            if segment and unquote_plus(segment.split("=", 1)[0]).lower() not in _UTM_OURS]
    kept += ["utm_source=newsletter", "utm_medium=email",
             "utm_campaign=" + quote(campaign, safe="")]
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", "&".join(kept),
                       parts.fragment))


def _local_date(value: Any, tz: ZoneInfo, locale: Locale, fmt: str = "medium") -> str:
    """An ISO date or date-time, as a date in the list's time zone and language."""
    if not value:
        return ""
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return ""
    if len(text) > 10:   # a time of day: UTC unless it says otherwise (DESIGN principle 8)
        parsed = parsed.replace(tzinfo=parsed.tzinfo or timezone.utc).astimezone(tz)
    return format_date(parsed.date(), format=fmt, locale=locale)


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


def _article_view(article: dict, campaign: str, tz: ZoneInfo, locale: Locale,
                  list_language: str) -> dict:
    language = _language(article.get("language") or list_language)
    url = tag_url(article.get("url"), campaign)
    title = _plain(article.get("title")) or (url or "")
    return {"title": title, "url": url, "summary": _plain(article.get("summary")),
            "image": _http_url(article.get("image")), "lang": language,
            "dir": _direction(language), "date": _local_date(article.get("published"), tz, locale),
            "category": _plain((article.get("categories") or [""])[0])}


def _groups(views: list[dict], other_label: str) -> list[dict]:
    """Articles grouped by their first category, groups in order of first appearance;
    articles without one go last, under `other_label`."""
    groups: dict[str, list[dict]] = {}
    for view in views:
        groups.setdefault(view["category"], []).append(view)
    uncategorised = groups.pop("", None)
    result = [{"label": label, "articles": items} for label, items in groups.items()]
    if uncategorised:
        result.append({"label": other_label, "articles": uncategorised})
    return result


def _more_label(t: dict, locale: Locale, count: int) -> str:
    forms = t["more_stories"]
    form = forms.get(locale.plural_form(count), forms["other"])
    return form.format(n=format_decimal(count, locale=locale)) + " — " + t["read_web_version"]


def _greeting(t: dict) -> str:
    return IF_NAME + t["greeting_named"].format(name=NAME) + ELSE + t["greeting"] + END


def _edition_date(content: dict) -> date:
    try:
        return date.fromisoformat(str(content.get("date"))[:10])
    except ValueError:
        raise PermanentError(f"edition {content.get('edition_id')}: no valid date "
                             f"({content.get('date')!r})") from None


def _digest_base(content: dict, mlist: ListInfo, site: SiteInfo) -> dict:
    language = _language(mlist.language)
    locale = _locale(language)
    t = messages(language)
    return {"lang": language, "dir": _direction(language), "t": t, "site": site,
            "list": mlist, "locale": locale,
            "date_long": format_date(_edition_date(content), format="long", locale=locale),
            "web_url": _http_url(content.get("web_url")) or _http_url(site.base_url) or "",
            "greeting": _greeting(t), "intro": _plain(content.get("intro")),
            "why": t["why"].format(list=mlist.title, site=site.site_name),
            "unsubscribe_url": UNSUBSCRIBE_URL, "preferences_url": PREFERENCES_URL}


def _digest_context(base: dict, views: list[dict], omitted: int) -> dict:
    t, lead = base["t"], (views[0] if views else None)
    preheader = (lead["summary"] or lead["title"]) if lead else base["list"].title
    if len(preheader) > 140:   # previews show ~90-140 characters; the rest is noise
        preheader = preheader[:139].rstrip() + "…"
    return {**base, "lead": lead, "groups": _groups(views[1:], t["other"]),
            "more": _more_label(t, base["locale"], omitted) if omitted else "",
            "preheader": preheader}


def render_digest(content: dict, mlist: ListInfo, *, settings_view: SiteInfo,
                  topics: tuple[str, ...] = ()) -> RenderedEmail:
    """One digest variant: the edition snapshot `content` for `mlist`'s language and the
    subscribers who chose `topics` (empty: everything). Lead story first, then the rest
    grouped by category; trimmed from the end when the HTML would be clipped by Gmail."""
    site = settings_view
    base = _digest_base(content, mlist, site)
    campaign = f"{mlist.name}-{_edition_date(content).isoformat()}"
    tz = _zone(mlist.timezone)
    views = [_article_view(a, campaign, tz, base["locale"], base["lang"])
             for a in select_articles(content, topics)]
    keep, omitted = len(views), 0
    ratio = 1.0   # inlined size / rendered size, learnt from the last premailer run
    while True:
        context = _digest_context(base, views[:keep], omitted)
        subject = _one_line(_render(site, f"email/{mlist.template}/subject.txt", context, html=False))
        context["subject"] = subject
        raw = _render(site, f"email/{mlist.template}/body.html", context, html=True)
        # premailer is the slow step (~1 s on 300 KB): trim on the estimated size first,
        # and inline only a candidate that may fit.
        estimate = int(len(raw.encode("utf-8")) * ratio)
        if keep and estimate > CLIP_BUDGET:
            keep = _shrink(keep, estimate)
        else:
            html = inline_css(raw)
            size = len(html.encode("utf-8"))
            if size <= CLIP_BUDGET or not keep:
                break
            ratio = size / len(raw.encode("utf-8"))
            keep = _shrink(keep, size)
        omitted = len(views) - keep
    text = _render(site, f"email/{mlist.template}/body.txt", context, html=False)
    return RenderedEmail(subject, _tidy(text), html, len(views), omitted)


def _shrink(keep: int, size: int) -> int:
    """Fewer articles, in proportion to the overshoot: a few renders, not one per article."""
    return max(0, min(keep - 1, keep * CLIP_BUDGET // size))


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
    language = _language(mlist.language)
    t = messages(language)
    name = _plain(name)
    url = _http_url(confirm_url)
    if url is None:
        raise PermanentError(f"confirmation link is not an http(s) URL: {confirm_url!r}")
    context = {"lang": language, "dir": _direction(language), "t": t, "site": site,
               "list": mlist, "web_url": "", "confirm_url": url,
               "greeting": t["greeting_named"].format(name=name) if name else t["greeting"],
               "subject": "", "preheader": t["confirm_intro"].format(
                   list=mlist.title, site=site.site_name)}
    subject = _one_line(_render(site, "email/confirm/subject.txt", context, html=False))
    context["subject"] = subject
    html = inline_css(_render(site, "email/confirm/body.html", context, html=True))
    text = _render(site, "email/confirm/body.txt", context, html=False)
    return RenderedEmail(subject, _tidy(text), html)

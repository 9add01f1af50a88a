"""The public pages: subscribe (double opt-in), confirm, unsubscribe (RFC 8058 one-click),
preferences, and the archive with each edition's web version. In English, French and
Arabic (bot.web.i18n).

What these pages may reveal: nothing about whether an address is subscribed. The
subscribe form answers the same "check your inbox" redirect for a new, a pending, an
already subscribed and a suppressed address, and for a bot that filled the honeypot; the
confirmation email goes out after the answer (a background task), so the time taken does
not tell either. Pages behind a signed link (confirm, unsubscribe, preferences) speak to
whoever holds the link, which came by email to the address itself.

CSRF: the subscribe and preferences forms carry the session's token (`verify_csrf` on
those routes only). The unsubscribe POST does not: mail clients send it with neither
cookies nor token (RFC 8058), and the signed token in the URL is the authority; the same
holds for the confirm POST. Both links' GET only asks for the click (link scanners)."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from babel.dates import format_date, get_day_names
from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.domain.addresses import normalize_email
from bot.domain.schedules import parse_schedule
from bot.errors import BadInput, PressbotError
from bot.newsletter.tokens import BadToken, make_token
from bot.services import archive, subscribers, throttle
from bot.web.i18n import LANGUAGES, MESSAGES, Translator, negotiate
from bot.web.security import settings_of, verify_csrf
from bot.web.templating import flash, render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Five sign-ups per client address in ten minutes: enough for a household behind one
# address trying a typo again, too few to mail-bomb someone through our form.
SUBSCRIBE_LIMIT = 5
SUBSCRIBE_WINDOW = timedelta(minutes=10)
HONEYPOT_FIELD = "website"
# The web version is the email itself: inline styles (premailer's output) and remote
# images, no scripts, and, as a top-level page, framed by nobody.
WEB_VERSION_CSP = ("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
                   "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


# -- Shared helpers -------------------------------------------------------------------------------


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _language_links(request: Request, t: Translator) -> list[dict]:
    """The switcher: this page in each language (a GET of the same path, query kept)."""
    kept = {k: v for k, v in request.query_params.items() if k != "lang"}
    return [{"lang": lang, "name": MESSAGES[lang]["language_name"],
             "url": f"{request.url.path}?{urlencode({**kept, 'lang': lang})}", "current": lang == t.lang}
            for lang in LANGUAGES]


def _page(request: Request, name: str, t: Translator, context: dict | None = None, *,
          status_code: int = 200, headers: dict | None = None):
    ctx = {"language_links": _language_links(request, t)}
    ctx.update(context or {})
    return render(request, f"public/{name}", ctx, status_code=status_code, translator=t,
                  headers=headers)


def _message(request: Request, t: Translator, title: str, body: str, *, status_code: int = 200,
             links: list[tuple[str, str]] = (), headers: dict | None = None):
    """A page that only says something: a result, or why a link does not work."""
    return _page(request, "message.html", t, {"title": title, "body": body, "links": list(links)},
                 status_code=status_code, headers=headers)


def _bad_link(request: Request, purpose: str, t: Translator | None = None):
    t = t or negotiate(request)
    body = t("bad_confirm_body") if purpose == "confirm" else t("bad_link_body")
    return _message(request, t, t("bad_link_title"), body, status_code=400,
                    links=[(t("nav_subscribe"), f"/subscribe?lang={t.lang}")])


def _titles(lists: list[dict]) -> str:
    return ", ".join(m["title"] for m in lists)


def schedule_text(schedule: str | None, zone: str, t: Translator) -> str:
    """A list's rhythm in the reader's language: "Every Monday at 08:00 (Europe/Paris)"."""
    if not schedule:
        return t("schedule_none")
    try:
        parsed = parse_schedule(schedule)
    except BadInput:
        return t("schedule_none")
    clock = parsed.at.strftime("%H:%M")
    if parsed.weekday is None:
        return t("schedule_daily", time=clock, zone=zone)
    day = get_day_names("wide", locale=t.lang)[parsed.weekday]
    return t("schedule_weekly", day=day, time=clock, zone=zone)


def _with_rhythm(lists: list[dict], t: Translator) -> list[dict]:
    return [{**m, "rhythm": schedule_text(m.get("schedule"), m.get("timezone") or "UTC", t)}
            for m in lists]


# -- Subscribe ------------------------------------------------------------------------------------


def _subscribe_page(request: Request, t: Translator, lists: list[dict], *, chosen: list[str],
                    email: str = "", name: str = "", language: str | None = None,
                    error: str | None = None, status_code: int = 200, focus: str | None = None):
    only = [m for m in lists if m["name"] in chosen] if len(chosen) == 1 else []
    title = t("subscribe_title_one", list=only[0]["title"]) if only else t("subscribe_title")
    return _page(request, "subscribe.html", t, {
        "title": title, "lists": _with_rhythm(lists, t), "chosen": chosen, "email": email,
        "name": name, "language": language or t.lang, "error": error,
        "honeypot_field": HONEYPOT_FIELD, "languages": _language_choices(),
        "action": f"/subscribe?lang={t.lang}", "focus": focus,
    }, status_code=status_code)


def _language_choices(current: str | None = None) -> list[tuple[str, str]]:
    choices = [(lang, MESSAGES[lang]["language_name"]) for lang in LANGUAGES]
    if current and current not in LANGUAGES:
        choices.append((current, current))   # kept as it is (set by an import, say)
    return choices


@router.get("/subscribe")
def subscribe_form(request: Request, list_name: str | None = Query(None, alias="list")):
    lists = subscribers.list_lists(settings_of(request))
    named = next((m for m in lists if m["name"] == list_name), None)
    t = negotiate(request, named["language"] if named else None)
    if not lists:
        return _message(request, t, t("subscribe_title"), t("no_lists"))
    chosen = [named["name"]] if named else ([lists[0]["name"]] if len(lists) == 1 else [])
    return _subscribe_page(request, t, lists, chosen=chosen)


@router.post("/subscribe", dependencies=[Depends(verify_csrf)])
def subscribe_submit(request: Request, background: BackgroundTasks, email: str = Form(""),
                     name: str = Form(""), language: str = Form(""),
                     lists: list[str] = Form([]), website: str = Form("")):
    settings = settings_of(request)
    t = negotiate(request)
    allowed, wait = throttle.hit(settings, f"subscribe:client:{_client(request)}",
                                 limit=SUBSCRIBE_LIMIT, window=SUBSCRIBE_WINDOW)
    if not allowed:
        return _message(request, t, t("too_many_title"),
                        t("too_many_body", minutes=max(1, -(-wait // 60))), status_code=429,
                        headers={"Retry-After": str(wait)})
    if website.strip():   # only a bot fills a field nobody can see: act as if all went well
        return _check_inbox_redirect(t)
    available = subscribers.list_lists(settings)
    known = {m["name"] for m in available}
    chosen = [n for n in dict.fromkeys(lists) if n in known]
    redo = dict(chosen=chosen, email=email, name=name, language=language, status_code=422)
    try:
        normalize_email(email)
    except BadInput:
        return _subscribe_page(request, t, available, error=t("error_email"), focus="email", **redo)
    if not chosen:
        return _subscribe_page(request, t, available, error=t("error_lists"), focus="lists", **redo)
    wanted_language = language if language in LANGUAGES else None
    confirmations = [subscribers.subscribe(
        settings, email, list_name, name=name.strip()[:200] or None, language=wanted_language,
        method="web", origin=_client(request)) for list_name in chosen]
    # None: already on the list, or the address left or is suppressed. Nothing is sent,
    # and the answer below is the same.
    confirmations = [c for c in confirmations if c is not None]
    # One round of confirmation emails per address per PRESSBOT_CONFIRM_RESEND_HOURS: the
    # form cannot be used to fill a stranger's inbox. The answer is the same either way.
    if confirmations and subscribers.claim_confirmation(settings, confirmations[0].subscriber_id):
        for confirmation in confirmations:
            background.add_task(_send_confirmation, settings, confirmation.subscriber_id,
                                confirmation.list_id)
    return _check_inbox_redirect(t)


def _check_inbox_redirect(t: Translator) -> RedirectResponse:
    return RedirectResponse(f"/subscribe/check?lang={t.lang}", status_code=303)


def _send_confirmation(settings, subscriber_id: int, list_id: int) -> None:
    """After the answer has gone: a failure is logged, the sign-up stays pending, and the
    reader can fill in the form again (which sends a new link once the resend window is over)."""
    try:
        subscribers.send_confirmation(settings, subscriber_id, list_id)
    except PressbotError as exc:
        log.warning("confirmation email for subscriber %s, list %s not sent: %s",
                    subscriber_id, list_id, exc)


@router.get("/subscribe/check")
def subscribe_check(request: Request):
    t = negotiate(request)
    return _page(request, "check_inbox.html", t)


# -- Confirm --------------------------------------------------------------------------------------


def _preferences_link(request: Request, subscriber_id: int, list_id: int | None, t: Translator):
    token = make_token(settings_of(request).effective_secret_key(), "preferences", subscriber_id, list_id)
    return (t("manage_preferences"), f"/preferences/{token}?lang={t.lang}")


@router.get("/confirm/{token}")
def confirm_landing(request: Request, token: str):
    """Link scanners follow GETs: this page only asks for the click, as unsubscribe does."""
    try:
        details = subscribers.link_details(settings_of(request), "confirm", token)
    except BadToken:
        return _bad_link(request, "confirm")
    t = negotiate(request, details["language"])
    return _page(request, "confirm.html", t, {
        "question": t("confirm_question", lists=_titles(details["lists"])),
        "action": f"/confirm/{token}?lang={t.lang}"})


@router.post("/confirm/{token}")
def confirm(request: Request, token: str):
    """The reader's click. No CSRF token: the signed token in the URL is the authority (a
    forged post could only confirm what the address's owner was sent a link for)."""
    settings = settings_of(request)
    try:
        outcome = subscribers.confirm(settings, token, method="web", origin=_client(request))
        details = subscribers.link_details(settings, "confirm", token)
    except BadToken:
        return _bad_link(request, "confirm")
    t = negotiate(request, details["language"])
    # confirm() refuses quietly (an address that left, a withdrawn sign-up): say so.
    if not all(m["active"] for m in details["lists"]) or not details["lists"]:
        return _message(request, t, t("confirm_refused_title"), t("confirm_refused_body"))
    return _message(request, t, t("confirmed_title"),
                    t("confirmed_body", lists=_titles(outcome["lists"])),
                    links=[_preferences_link(request, outcome["subscriber_id"], details["list_id"], t)])


# -- Unsubscribe ----------------------------------------------------------------------------------


@router.get("/unsubscribe/{token}")
def unsubscribe_landing(request: Request, token: str):
    """Link scanners follow GETs: this page only asks for the click."""
    try:
        details = subscribers.link_details(settings_of(request), "unsubscribe", token)
    except BadToken:
        return _bad_link(request, "unsubscribe")
    t = negotiate(request, details["language"])
    question = (t("unsubscribe_question", lists=_titles(details["lists"])) if details["lists"]
                else t("unsubscribe_question_all"))
    return _page(request, "unsubscribe.html", t, {"question": question,
                                                  "action": f"/unsubscribe/{token}?lang={t.lang}"})


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str,
                one_click: str | None = Form(None, alias="List-Unsubscribe")):
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, without cookies or a
    CSRF token; our own landing page's button posts here too."""
    settings = settings_of(request)
    method = "one-click" if one_click == "One-Click" else "web"
    try:
        details = subscribers.link_details(settings, "unsubscribe", token)
        outcome = subscribers.unsubscribe(settings, token, method=method, origin=_client(request))
    except BadToken:
        return _bad_link(request, "unsubscribe")
    t = negotiate(request, details["language"])
    lists = outcome["lists"] or details["lists"]
    body = (t("unsubscribed_body", lists=_titles(lists)) if lists else t("unsubscribed_body_all"))
    links = []
    if outcome["email"] is not None:
        links.append(_preferences_link(request, details["subscriber_id"], details["list_id"], t))
    return _message(request, t, t("unsubscribed_title"), body, links=links)


@router.get("/unsubscribe")
@router.get("/preferences")
def personal_link_help(request: Request):
    """Where the web version's unsubscribe and preference links lead: the reader's own
    link is in their email; this page cannot know who they are, and must not ask."""
    t = negotiate(request)
    return _message(request, t, t("personal_link_title"), t("personal_link_body"),
                    links=[(t("nav_subscribe"), f"/subscribe?lang={t.lang}")])


# -- Preferences ----------------------------------------------------------------------------------
# The model has no frequency setting: each list has its own schedule (a daily list, a weekly
# one), so the page offers "how often" as the choice of lists, each shown with its rhythm.


def _preferences_page(request: Request, token: str, prefs: dict, t: Translator, *,
                      error: str | None = None, status_code: int = 200):
    current = next((m for m in prefs["lists"] if m["name"] == prefs["list"]), None)
    return _page(request, "preferences.html", t, {
        "prefs": prefs, "lists": _with_rhythm(prefs["lists"], t), "topic_list": current,
        "ended": prefs["status"] in subscribers.ENDED, "error": error,
        "languages": _language_choices(prefs["language"]),
        "language": prefs["language"] or (current or {}).get("language") or t.lang,
        "action": f"/preferences/{token}?lang={t.lang}",
    }, status_code=status_code)


@router.get("/preferences/{token}")
def preferences_form(request: Request, token: str):
    try:
        prefs = subscribers.get_preferences(settings_of(request), token)
    except BadToken:
        return _bad_link(request, "preferences")
    t = negotiate(request, prefs["language"])
    return _preferences_page(request, token, prefs, t)


@router.post("/preferences/{token}", dependencies=[Depends(verify_csrf)])
def preferences_submit(request: Request, token: str, lists: list[str] = Form([]),
                       topics: list[str] = Form([]), topics_text: str | None = Form(None),
                       language: str = Form("")):
    settings = settings_of(request)
    chosen_topics = topics if topics_text is None else topics_text.split(",")
    try:
        prefs = subscribers.get_preferences(settings, token)
        t = negotiate(request, prefs["language"])
        prefs = subscribers.update_preferences(
            settings, token, lists=lists,
            topics=chosen_topics if prefs["list"] is not None else None,
            language=language or None, origin=_client(request))
    except BadToken:
        return _bad_link(request, "preferences")
    except subscribers.CannotResubscribe:
        return _preferences_page(request, token, prefs, t, error=t("error_cannot_resubscribe"),
                                 status_code=422)
    except BadInput:   # a tampered form: a list or a language that is not offered
        return _preferences_page(request, token, prefs, t, error=t("error_form"),
                                 status_code=422)
    # Someone who just chose Arabic for their emails reads the rest in Arabic too.
    if prefs["language"] in LANGUAGES:
        t = Translator(prefs["language"])
    flash(request, t("saved"))
    return RedirectResponse(f"/preferences/{token}?lang={t.lang}", status_code=303)


# -- Archive and web version ----------------------------------------------------------------------


@router.get("/editions")
@router.get("/archive")
def archive_index(request: Request, list_name: str | None = Query(None, alias="list")):
    settings = settings_of(request)
    lists = subscribers.list_lists(settings)
    named = next((m for m in lists if m["name"] == list_name), None)
    t = negotiate(request, named["language"] if named else None)
    try:
        editions = archive.published_editions(settings, list_name or None)
    except archive.NotPublished:
        return _message(request, t, t("not_found_title"), t("list_not_found_body"), status_code=404,
                        links=[(t("all_lists"), f"/editions?lang={t.lang}")])
    for edition in editions:
        edition["day"] = format_date(edition["date"].date(), format="long", locale=t.lang)
    title = t("archive_title_list", list=named["title"]) if named else t("archive_title")
    return _page(request, "archive.html", t, {"title": title, "editions": editions, "lists": lists,
                                               "current": named["name"] if named else None})


@router.get("/editions/{edition_id}")
def web_version(request: Request, edition_id: str):
    settings = settings_of(request)
    asked = request.query_params.get("lang")
    try:
        page = archive.web_version(settings, int(edition_id),
                                   asked if asked in LANGUAGES else None)
    except (ValueError, archive.NotPublished):
        t = negotiate(request)
        return _message(request, t, t("not_found_title"), t("not_found_body"), status_code=404,
                        links=[(t("nav_archive"), f"/editions?lang={t.lang}")])
    return HTMLResponse(page.html, headers={"content-security-policy": WEB_VERSION_CSP,
                                            "cache-control": "public, max-age=300"})

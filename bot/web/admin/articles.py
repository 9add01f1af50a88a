"""Dashboard pages: articles and their share posts, one card per account, each editable
before it goes out, with the platform's own length count (live, through `…/length`) and a
preview shaped as the platform shows the post (bot.domain.snippets.preview)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from bot.domain.snippets import preview
from bot.domain.snippets.text import plain
from bot.errors import BadInput
from bot.services import articles, ingest, planning, share_edits, shares
from bot.web.security import settings_of
from bot.web.templating import admin_translator, flash, local_time, refused, render, zone_name

router = APIRouter()

PAGE_SIZE = 25


@router.get("/articles")
def article_list(request: Request, q: str = "", page: int = 1):
    page = max(page, 1)
    rows, total = articles.search_articles(settings_of(request), q, offset=(page - 1) * PAGE_SIZE,
                                           limit=PAGE_SIZE)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render(request, "admin/articles.html",
                  {"articles": rows, "q": q, "page": page, "pages": pages, "total": total})


@router.get("/articles/{article_id}")
def article_page(request: Request, article_id: int):
    return _article_page(request, article_id)


def _article_page(request: Request, article_id: int, *, errors: dict[int, str] | None = None,
                  drafts: dict[int, str] | None = None, status_code: int = 200):
    """The page; after a refused save, with the editor's text kept in its card and the
    reason shown under it (`errors` and `drafts` by account id)."""
    settings = settings_of(request)
    article = articles.get_article(settings, article_id)
    if article is None:
        raise HTTPException(404, f"no article with id {article_id}")
    cards = share_edits.article_shares(settings, article_id)
    for card in cards:
        draft = (drafts or {}).get(card["account_id"])
        if draft is not None:
            length, limit = share_edits.share_length(settings, card["account_id"], draft)
            card.update(text=draft, length=length, over=length > limit)
        card["error"] = (errors or {}).get(card["account_id"])
        _add_preview(card, article)
    source = next((s for s in ingest.list_sources(settings) if s["id"] == article["source_id"]), None)
    return render(request, "admin/article.html",
                  {"article": article, "cards": cards, "source": source},
                  status_code=status_code)


def _add_preview(card: dict, article: dict) -> None:
    """The card's post as its platform shows it: the body (links as their shown text,
    Telegram's HTML formatted) and the link card with the article's image."""
    link = card.get("link") or article.get("url") or ""
    card["preview"] = preview.body(card["platform"], card["text"] or "", link)
    card["link_card"] = preview.link_card(link, article.get("title") or "",
                                          plain(article.get("summary") or ""), article.get("image"))


def _to(article_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/admin/articles/{article_id}{anchor}", status_code=303)


def _site_time(request: Request, value: str) -> datetime:
    """A datetime-local field, read in the editor's time zone (and kept in it, for messages)."""
    tz = zone_name(request)
    return planning.parse_local(value, tz, "time").astimezone(ZoneInfo(tz))


@router.post("/articles/{article_id}/accounts/{account_id}/length")
def text_length(request: Request, article_id: int, account_id: int, text: str = Form("")):
    """The live counter: the text's length as the account's platform counts it."""
    try:
        length, limit = share_edits.share_length(settings_of(request), account_id, text)
    except BadInput as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return {"length": length, "limit": limit, "over": length > limit}


@router.post("/articles/{article_id}/posts/{post_id}/text")
def save_text(request: Request, article_id: int, post_id: int, account_id: int = Form(...),
              text: str = Form("")):
    settings = settings_of(request)
    try:
        post = share_edits.edit_share(settings, post_id, text)
    except BadInput as exc:
        reason = admin_translator(request)("a.art_not_saved", reason=exc)
        return _article_page(request, article_id, errors={account_id: reason},
                             drafts={account_id: text}, status_code=422)
    length, limit = share_edits.share_length(settings, account_id, text)
    flash(request, admin_translator(request)("a.flash_text_saved", account=post["account"],
                                             length=length, limit=limit))
    return _to(article_id, f"#account-{account_id}")


@router.post("/articles/{article_id}/posts/{post_id}/reschedule")
def reschedule(request: Request, article_id: int, post_id: int, at: str = Form("")):
    t = admin_translator(request)
    with refused(request, t("a.not_rescheduled")):
        post = share_edits.reschedule_share(settings_of(request), post_id, _site_time(request, at))
        flash(request, t("a.flash_post_rescheduled", account=post["account"],
                         when=_local(request, post["scheduled_at"])))
    return _to(article_id)


@router.post("/articles/{article_id}/posts/{post_id}/now")
def now(request: Request, article_id: int, post_id: int):
    t = admin_translator(request)
    with refused(request, t("a.not_posted")):
        post = share_edits.post_now(settings_of(request), post_id)
        if post["waiting_for"]:
            flash(request, t("a.flash_post_waits", account=post["account"],
                             reason=post["waiting_for"]), "warn")
        else:
            flash(request, t("a.flash_post_now", account=post["account"]))
    return _to(article_id)


@router.post("/articles/{article_id}/posts/{post_id}/skip")
def skip(request: Request, article_id: int, post_id: int):
    t = admin_translator(request)
    with refused(request, t("a.not_skipped")):
        post = shares.skip_share(settings_of(request), post_id)
        flash(request, t("a.flash_post_skipped", account=post["account"]))
    return _to(article_id)


@router.post("/articles/{article_id}/posts/{post_id}/reshare")
def reshare(request: Request, article_id: int, post_id: int):
    t = admin_translator(request)
    with refused(request, t("a.not_shared_again")):
        post = share_edits.reshare(settings_of(request), post_id)
        flash(request, t("a.flash_shared_again", account=post["account"],
                         when=_local(request, post["scheduled_at"])))
    return _to(article_id)


@router.post("/articles/{article_id}/accounts/{account_id}/schedule")
def schedule(request: Request, article_id: int, account_id: int, text: str = Form(""),
             at: str = Form("")):
    """A post for an account that has none for this article yet."""
    settings = settings_of(request)
    try:
        when = _site_time(request, at) if at.strip() else None
        post = share_edits.new_share(settings, article_id, account_id, text=text, at=when)
    except BadInput as exc:
        reason = admin_translator(request)("a.art_not_scheduled_because", reason=exc)
        return _article_page(request, article_id, errors={account_id: reason},
                             drafts={account_id: text}, status_code=422)
    flash(request, admin_translator(request)("a.flash_post_scheduled", account=post["account"],
                                             when=_local(request, post["scheduled_at"])))
    return _to(article_id, f"#account-{account_id}")


def _local(request: Request, value: str) -> str:
    return f"{local_time(value, request)} ({zone_name(request)})"

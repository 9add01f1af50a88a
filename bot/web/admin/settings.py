"""Dashboard pages: settings, for admins only (the router's `require_admin`; an editor gets
403). Sources (add, remove, test fetch), lists and their schedules, social accounts (add,
check credentials, pause, resume) and editor users."""

from __future__ import annotations

import re
from dataclasses import replace

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from bot.domain.masking import mask_text, mask_url
from bot.domain.snippets import PLATFORMS
from bot.errors import BadInput, PressbotError
from bot.services import editors, ingest, shares, subscribers
from bot.social.factory import OPTIONAL, REQUIRED
from bot.store.editors import Role
from bot.store.models import SourceKind
from bot.web.security import require_admin, settings_of
from bot.web.templating import admin_translator, flash, render

router = APIRouter(dependencies=[Depends(require_admin)])

# No files sources from the web: a path typed here must not make the server read its own
# files (issue 11); they are ingested with `pressbot ingest PATH` on the server.
SOURCE_KINDS = (SourceKind.FEED, SourceKind.WORDPRESS)
# Credential fields that are secrets: password inputs, never filled back in.
PUBLIC_CREDENTIALS = {"api_base_url", "api_host", "base_url", "api_base", "handle", "chat_id"}
LIST_FIELDS = ("name", "title", "from_name", "from_email", "reply_to", "language", "template",
               "schedule", "timezone", "max_articles", "categories")
# Where an account's credentials come from, as bot.services.shares words it, and the
# catalogue key that words it in the editor's language (one not listed shows as it is).
CREDENTIAL_ORIGINS = {"stored (encrypted)": "a.set_cred_stored", "settings": "a.set_cred_settings",
                      "none (outbox)": "a.set_cred_outbox",
                      "none: demo account (outbox only)": "a.set_cred_demo"}


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _readable(error: BadInput | str) -> str:
    """Service messages name CLI options ("--max-articles: …"); on a page the field is meant."""
    return re.sub(r"(?<![\w-])--(?=[a-z])", "", str(error))


@router.get("/settings")
def overview(request: Request):
    settings = settings_of(request)
    return render(request, "admin/settings.html", {
        "counts": {"sources": len(ingest.list_sources(settings)),
                   "lists": len(subscribers.list_lists(settings)),
                   "accounts": len(shares.list_accounts(settings)),
                   "users": len(editors.list_users(settings))}})


# -- Sources --------------------------------------------------------------------------------------


def _sources_page(request: Request, *, error: str | None = None, form: dict | None = None,
                  trial: ingest.FetchTrial | None = None, status_code: int = 200):
    return render(request, "admin/settings_sources.html", {
        "sources": ingest.list_sources(settings_of(request)), "kinds": SOURCE_KINDS,
        "error": error, "form": form or {"url": "", "kind": ""}, "trial": trial},
        status_code=status_code)


@router.get("/settings/sources")
def sources_page(request: Request):
    return _sources_page(request)


@router.post("/settings/sources")
def add_source(request: Request, url: str = Form(""), kind: str = Form("")):
    try:
        source_id = ingest.add_source(settings_of(request), url.strip(), kind or None,
                                      from_web=True)
    except BadInput as exc:
        return _sources_page(request, error=_readable(exc), form={"url": url, "kind": kind}, status_code=422)
    flash(request, admin_translator(request)("a.set_flash_source_added", id=source_id, url=url.strip()))
    return _see("/admin/settings/sources")


@router.post("/settings/sources/{source_id}/remove")
def remove_source(request: Request, source_id: int):
    t = admin_translator(request)
    if ingest.remove_source(settings_of(request), source_id):
        flash(request, t("a.set_flash_source_removed", id=source_id))
    else:
        flash(request, t("a.set_flash_no_source", id=source_id), "error")
    return _see("/admin/settings/sources")


@router.post("/settings/sources/{source_id}/test")
def test_source(request: Request, source_id: int):
    """Fetch now and show what the source holds; stores nothing, so the page is rendered
    straight from the POST (reloading it simply fetches again)."""
    try:
        trial = ingest.trial_fetch(settings_of(request), source_id)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.set_not_fetched", reason=str(exc)), "error")
        return _see("/admin/settings/sources")
    # The stored URL may carry a password (https://user:pass@cms…): shown masked.
    trial = replace(trial, url=mask_url(trial.url), error=mask_text(trial.error))
    return _sources_page(request, trial=trial)


# -- Lists and schedules --------------------------------------------------------------------------


def _list_form(values: dict | None = None) -> dict:
    form = {key: "" for key in LIST_FIELDS}
    form.update({"language": "en", "template": "digest", "timezone": "UTC", "max_articles": "10"})
    for key, value in (values or {}).items():
        form[key] = ", ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    return form


def _field_of(message: str) -> str:
    """Which field a service's message is about, to show it next to that field."""
    for prefix, name in (("schedule", "schedule"), ("timezone", "timezone"), ("template", "template"),
                         ("max-articles", "max_articles"), ("language", "language"),
                         ("list name", "name"), ("title", "title")):
        if message.startswith(prefix):
            return name
    return "form"


def _list_options(form: dict) -> dict:
    """The service's keyword arguments from the posted form; BadInput for a non-number."""
    try:
        max_articles = int(form["max_articles"])
    except ValueError:
        raise BadInput(f"--max-articles: {form['max_articles']!r} is not a number") from None
    return dict(title=form["title"], from_email=form["from_email"], from_name=form["from_name"],
                reply_to=form["reply_to"].strip() or None, language=form["language"].strip() or "en",
                template=form["template"], schedule=form["schedule"].strip() or None,
                timezone=form["timezone"].strip() or "UTC", max_articles=max_articles,
                categories=[c for c in form["categories"].split(",") if c.strip()])


async def posted_form(request: Request) -> dict[str, str]:
    """Every posted text field (a dependency, so the routes stay plain sync functions)."""
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def posted_list(form: dict[str, str] = Depends(posted_form)) -> dict:
    """The list form as posted; a field left out counts as empty."""
    return _list_form({key: form.get(key, "") for key in LIST_FIELDS})


def _lists_page(request: Request, *, form: dict | None = None, errors: dict | None = None,
                status_code: int = 200):
    settings = settings_of(request)
    return render(request, "admin/settings_lists.html", {
        "lists": subscribers.list_lists(settings), "templates": subscribers.list_templates(settings),
        "form": form or _list_form(), "errors": errors or {}}, status_code=status_code)


@router.get("/settings/lists")
def lists_page(request: Request):
    return _lists_page(request)


@router.post("/settings/lists")
def add_list(request: Request, form: dict = Depends(posted_list)):
    try:
        subscribers.add_list(settings_of(request), form["name"].strip(), **_list_options(form))
    except BadInput as exc:
        message = _readable(exc)
        return _lists_page(request, form=form, errors={_field_of(message): message}, status_code=422)
    flash(request, admin_translator(request)("a.set_flash_list_added", name=form["name"].strip()))
    return _see("/admin/settings/lists")


def _edit_page(request: Request, name: str, form: dict, errors: dict | None = None, status_code: int = 200):
    return render(request, "admin/settings_list_edit.html", {
        "name": name, "form": form, "errors": errors or {},
        "templates": subscribers.list_templates(settings_of(request))}, status_code=status_code)


@router.get("/settings/lists/{list_name}")
def edit_list_page(request: Request, list_name: str):
    try:
        current = subscribers.get_list(settings_of(request), list_name)
    except BadInput as exc:
        flash(request, admin_translator(request)("a.set_list_not_found", reason=str(exc)), "error")
        return _see("/admin/settings/lists")
    return _edit_page(request, list_name, _list_form(current))


@router.post("/settings/lists/{list_name}")
def edit_list(request: Request, list_name: str, form: dict = Depends(posted_list)):
    form["name"] = list_name
    try:
        subscribers.update_list(settings_of(request), list_name, **_list_options(form))
    except BadInput as exc:
        message = _readable(exc)
        return _edit_page(request, list_name, form, {_field_of(message): message}, status_code=422)
    flash(request, admin_translator(request)("a.set_flash_list_saved", name=list_name))
    return _see("/admin/settings/lists")


# -- Social accounts ------------------------------------------------------------------------------


def credential_fields() -> dict[str, list[dict]]:
    """Per platform, the credential inputs the add form shows."""
    return {platform: [{"key": key, "required": key in REQUIRED[platform],
                        "secret": key not in PUBLIC_CREDENTIALS}
                       for key in REQUIRED[platform] + OPTIONAL[platform]]
            for platform in PLATFORMS}


def _account_options(form: dict[str, str]) -> dict:
    platform = form.get("platform", "")
    credentials = {field["key"]: form.get(f"cred-{platform}-{field['key']}", "").strip()
                   for field in credential_fields().get(platform, [])}
    numbers = {}
    for key, label in (("max_per_hour", "max posts an hour"), ("min_gap_minutes", "minimum gap")):
        try:
            numbers[key] = int(form.get(key) or 0)
        except ValueError:
            raise BadInput(f"{label}: {form.get(key)!r} is not a number") from None
    if numbers["max_per_hour"] < 1 or numbers["min_gap_minutes"] < 0:
        raise BadInput("max posts an hour must be at least 1, the minimum gap at least 0")
    return dict(credentials={k: v for k, v in credentials.items() if v} or None,
                hashtags=[t.lstrip("#") for t in re.split(r"[\s,]+", form.get("hashtags", "")) if t.strip("#")],
                campaign=form.get("campaign", "").strip() or "social", quiet=form.get("quiet", "").strip() or None,
                tz=form.get("timezone", "").strip() or "UTC", **numbers)


def _accounts_page(request: Request, *, error: str | None = None, form: dict | None = None,
                   status_code: int = 200):
    # Only the non-secret fields are kept for a form shown again; secrets are typed again.
    kept = {k: v for k, v in (form or {}).items()
            if not k.startswith("cred-") or k.rsplit("-", 1)[-1] in PUBLIC_CREDENTIALS}
    return render(request, "admin/settings_accounts.html", {
        "accounts": shares.list_accounts(settings_of(request)), "platforms": PLATFORMS,
        "fields": credential_fields(), "error": error, "credential_origins": CREDENTIAL_ORIGINS,
        "form": {"max_per_hour": "4", "min_gap_minutes": "10", "timezone": "UTC", "campaign": "social",
                 **kept}}, status_code=status_code)


@router.get("/settings/accounts")
def accounts_page(request: Request):
    return _accounts_page(request)


@router.post("/settings/accounts")
def add_account(request: Request, form: dict = Depends(posted_form)):
    # Every posted field: the credential inputs depend on the platform chosen.
    name, platform = form.get("name", "").strip(), form.get("platform", "")
    try:
        if not name:
            raise BadInput("name: give the account a name (e.g. gazette-mastodon)")
        shares.add_account(settings_of(request), name, platform, **_account_options(form))
    except BadInput as exc:
        return _accounts_page(request, error=_readable(exc), form=form, status_code=422)
    flash(request, admin_translator(request)("a.set_flash_account_added", name=name, platform=platform))
    return _see("/admin/settings/accounts")


@router.post("/settings/accounts/check")
def check_account(request: Request, name: str = Form("")):
    t = admin_translator(request)
    try:
        who = shares.check_account(settings_of(request), name)
    except PressbotError as exc:
        flash(request, t("a.set_flash_check_failed", name=name, reason=str(exc)), "error")
    else:
        flash(request, t("a.set_flash_check_ok", name=name, who=who))
    return _see("/admin/settings/accounts")


@router.post("/settings/accounts/pause")
def pause_account(request: Request, name: str = Form("")):
    return _set_active(request, name, False)


@router.post("/settings/accounts/resume")
def resume_account(request: Request, name: str = Form("")):
    return _set_active(request, name, True)


def _set_active(request: Request, name: str, active: bool):
    t = admin_translator(request)
    try:
        shares.set_account_active(settings_of(request), name, active)
    except BadInput as exc:
        flash(request, t("a.set_not_changed", reason=str(exc)), "error")
    else:
        flash(request, t("a.set_flash_resumed" if active else "a.set_flash_paused", name=name))
    return _see("/admin/settings/accounts")


# -- Editor users ---------------------------------------------------------------------------------


def _users_page(request: Request, *, error: str | None = None, form: dict | None = None,
                status_code: int = 200):
    return render(request, "admin/settings_users.html", {
        "users": editors.list_users(settings_of(request)), "roles": Role.ALL, "error": error,
        "form": form or {"email": "", "name": "", "role": Role.EDITOR}}, status_code=status_code)


@router.get("/settings/users")
def users_page(request: Request):
    return _users_page(request)


@router.post("/settings/users")
def add_user(request: Request, email: str = Form(""), name: str = Form(""), role: str = Form(Role.EDITOR),
             password: str = Form("")):
    try:
        added = editors.add_user(settings_of(request), email, password, role=role, name=name.strip() or None)
    except BadInput as exc:
        return _users_page(request, error=str(exc), form={"email": email, "name": name, "role": role},
                           status_code=422)
    t = admin_translator(request)
    flash(request, t("a.set_flash_user_added", email=added.email, role=t(f"a.role_{added.role}")))
    return _see("/admin/settings/users")


@router.post("/settings/users/{user_id}/role")
def change_role(request: Request, user_id: int, role: str = Form("")):
    return _update_user(request, user_id, role=role)


@router.post("/settings/users/{user_id}/active")
def change_active(request: Request, user_id: int, active: str = Form("")):
    return _update_user(request, user_id, active=active == "1")


def _update_user(request: Request, user_id: int, **change):
    t = admin_translator(request)
    try:
        user = editors.update_user(settings_of(request), user_id, **change)
    except BadInput as exc:
        flash(request, t("a.set_not_changed", reason=str(exc)), "error")
    else:
        if "role" in change:
            flash(request, t("a.set_flash_user_role", email=user.email, role=t(f"a.role_{user.role}")))
        else:
            flash(request, t("a.set_flash_user_enabled" if change["active"] else "a.set_flash_user_disabled",
                             email=user.email))
    return _see("/admin/settings/users")

"""`pressbot lists`, `pressbot subscribers` and `pressbot bounces`."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from bot.cli.common import app, err, fail, lazy_module, out, settings_with_schema
from bot.errors import BadInput, PressbotError

# Loaded when a command first uses them, not by `pressbot --help` (bot/cli/common.py).
bounce_service = lazy_module("bot.services.bounces")
subscriber_data = lazy_module("bot.services.subscriber_data")
subscribers = lazy_module("bot.services.subscribers")

lists_app = typer.Typer(no_args_is_help=True, help="Newsletters: sender, schedule, filter.")
subscribers_app = typer.Typer(no_args_is_help=True, help="Subscribers: add, import, export, show, remove.")
bounces_app = typer.Typer(no_args_is_help=True, help="Bounce and complaint reports.")
app.add_typer(lists_app, name="lists")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(bounces_app, name="bounces")


def _operator() -> str:
    """Who ran the command, for the consent record."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def _print_json(data) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


# -- lists ----------------------------------------------------------------------------------------


@lists_app.command("add")
def lists_add(
    name: str = typer.Argument(..., help="Short name (a-z, 0-9, - and _); goes into List-Id."),
    title: str = typer.Option(..., help="The newsletter's title, as readers see it."),
    from_email: str = typer.Option(..., help="Sender address."),
    from_name: str = typer.Option(..., help="Sender name."),
    reply_to: Optional[str] = typer.Option(None, help="Reply-To address."),
    language: str = typer.Option("en", help="Language of the digest (en, fr, ar…)."),
    template: str = typer.Option("digest", help="Template folder under templates/email/."),
    schedule: Optional[str] = typer.Option(None, help="'daily 07:00' or 'weekly mon 08:00'."),
    timezone_: str = typer.Option("UTC", "--timezone", help="Time zone of the schedule."),
    max_articles: int = typer.Option(10, help="Most articles in one digest."),
    category: List[str] = typer.Option([], help="Only articles in this category; repeat."),
    only_language: List[str] = typer.Option(
        [], help="Only articles in this language (en, fr…); repeat. Default: every language."),
    section: List[str] = typer.Option(
        [], help="A section heading, in order; repeat. Default: a section per category "
                 "with at least two stories."),
    logo_url: Optional[str] = typer.Option(None, help="Masthead image (https). Default: PRESSBOT_BRAND_LOGO_URL."),
    brand_color: Optional[str] = typer.Option(None, help="Brand colour, #rrggbb. Default: PRESSBOT_BRAND_COLOR."),
    footer: Optional[str] = typer.Option(
        None, help="Footer: publisher and postal address (CAN-SPAM); \\n between lines. "
                   "Default: PRESSBOT_BRAND_FOOTER."),
    copyright_: Optional[str] = typer.Option(None, "--copyright", help="Copyright holder. Default: the site name."),
) -> None:
    """Create a newsletter."""
    settings = settings_with_schema()
    try:
        list_id = subscribers.add_list(
            settings, name, title=title, from_email=from_email, from_name=from_name,
            reply_to=reply_to, language=language, template=template, schedule=schedule,
            timezone=timezone_, max_articles=max_articles, categories=category,
            languages=only_language, sections=section, logo_url=logo_url,
            brand_color=brand_color, copyright_holder=copyright_,
            footer_text=footer.replace("\\n", "\n") if footer else None)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"list {list_id}: {name}", highlight=False)
    if not (footer or settings.brand_footer):
        err.print("note: no postal address in the footer yet: the law (CAN-SPAM) wants one in "
                  "every newsletter (--footer, or PRESSBOT_BRAND_FOOTER for all lists)", highlight=False)


@lists_app.command("list")
def lists_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List newsletters with their confirmed subscriber counts."""
    rows = subscribers.list_lists(settings_with_schema())
    if as_json:
        _print_json(rows)
        return
    table = Table("name", "title", "from", "language", "schedule", "subscribers")
    for r in rows:
        schedule = f"{r['schedule']} {r['timezone']}" if r["schedule"] else "-"
        table.add_row(r["name"], r["title"], f"{r['from_name']} <{r['from_email']}>", r["language"],
                      schedule, str(r["subscribers"]))
    out.print(table)


@lists_app.command("show")
def lists_show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one newsletter."""
    try:
        row = subscribers.get_list(settings_with_schema(), name)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        _print_json(row)
        return
    for key, value in row.items():
        out.print(f"{key}: {value}", highlight=False)


# -- subscribers ----------------------------------------------------------------------------------


@subscribers_app.command("add")
def subscribers_add(
    email: str,
    list_name: str = typer.Option(..., "--list", help="The list's name."),
    name: Optional[str] = typer.Option(None, help="The subscriber's name."),
    language: Optional[str] = typer.Option(None, help="The subscriber's language."),
    topic: List[str] = typer.Option([], help="Only these categories; repeat."),
    confirmed: bool = typer.Option(False, "--confirmed",
                                   help="You hold their consent: skip the confirmation email."),
) -> None:
    """Add a subscriber: pending with a confirmation email, or confirmed at once."""
    settings = settings_with_schema()
    try:
        if confirmed:
            result = subscribers.add_confirmed(settings, email, list_name, name=name, language=language,
                                               topics=topic, method="cli", origin=_operator())
        else:
            request = subscribers.subscribe(settings, email, list_name, name=name, language=language,
                                            topics=topic, method="cli", origin=_operator())
            result = request and request.subscriber_id
    except BadInput as exc:
        fail(str(exc))
    if result is None:
        fail(f"{email} was not added: it is already on {list_name}, or it unsubscribed, "
             f"bounced or complained before", 1)
    if confirmed:
        out.print(f"subscriber {result}: {email} confirmed on {list_name}", highlight=False)
        return
    _send_confirmation(settings, request)


def _send_confirmation(settings, request: subscribers.ConfirmationRequest) -> None:
    try:
        reply = subscribers.send_confirmation(settings, request.subscriber_id, request.list_id)
    except PressbotError as exc:
        out.print(f"subscriber {request.subscriber_id}: {request.email} pending; confirmation "
                  f"link: {request.confirm_url}", highlight=False, soft_wrap=True)
        fail(f"the confirmation email could not be sent: {exc}", 1)
    out.print(f"subscriber {request.subscriber_id}: {request.email} pending; confirmation sent "
              f"({reply})", highlight=False, soft_wrap=True)


@subscribers_app.command("import")
def subscribers_import(
    file: Path = typer.Argument(..., help="CSV with the columns email, name, language, topics."),
    list_name: str = typer.Option(..., "--list", help="The list's name."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import subscribers you hold consent for; bad rows are named by line, the rest imported."""
    try:
        report = subscriber_data.import_csv(settings_with_schema(), file, list_name, origin=file.name)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        _print_json(report.to_json())
        return
    out.print(f"{file}: {report.imported} imported, {report.already} already on {list_name}, "
              f"{len(report.skipped)} skipped, {len(report.duplicates)} duplicates, "
              f"{len(report.invalid)} invalid", highlight=False)
    for label, problems in (("invalid", report.invalid), ("duplicate", report.duplicates),
                            ("skipped", report.skipped)):
        for p in problems:
            err.print(f"  {file.name}:{p.line}: {label}: {p.email or '(empty)'}: {p.reason}", highlight=False)


@subscribers_app.command("export")
def subscribers_export(
    list_name: str = typer.Option(..., "--list", help="The list's name."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Export a list's confirmed subscribers as CSV (the import format)."""
    try:
        text = subscriber_data.export_csv(settings_with_schema(), list_name)
    except BadInput as exc:
        fail(str(exc))
    if out_file is None:
        sys.stdout.write(text)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out_file}: cannot be written ({exc.strerror})")
    err.print(f"{text.count(chr(10)) - 1} subscribers written to {out_file}", highlight=False)


@subscribers_app.command("list")
def subscribers_list(
    list_name: Optional[str] = typer.Option(None, "--list", help="Only this list's subscribers."),
    status: Optional[str] = typer.Option(None, help="pending, confirmed, unsubscribed, bounced "
                                                    "or complained."),
    search: str = typer.Option("", help="Part of the address or name."),
    limit: int = typer.Option(100, min=1, help="Most rows shown, oldest first."),
    offset: int = typer.Option(0, min=0, help="Rows to skip (the next page)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Subscribers with their status and lists (`subscribers export` for a whole list)."""
    from bot.services.subscriber_search import find_subscribers

    statuses = ("pending", "confirmed", "unsubscribed", "bounced", "complained")
    if status is not None and status not in statuses:
        fail(f"--status: {status!r} is not one of {', '.join(statuses)}")
    try:
        rows = find_subscribers(settings_with_schema(), text=search, list_name=list_name,
                                status=status, limit=limit, offset=offset)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "email", "name", "status", "lists", "since")
    for r in rows:
        table.add_row(str(r["id"]), r["email"] or "(erased)", r["name"] or "", r["status"],
                      ", ".join(r["lists"]), (r["confirmed_at"] or r["created_at"] or "")[:16].replace("T", " "))
    out.print(table)


@subscribers_app.command("show")
def subscribers_show(email: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Everything held about one address (the data export a subscriber may ask for)."""
    try:
        data = subscriber_data.export_subscriber(settings_with_schema(), email)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        _print_json(data)
        return
    profile = data["subscriber"] or {}
    out.print(f"{data['email']}: {profile.get('status', 'not a subscriber')}", highlight=False)
    if data["suppression"]:
        out.print(f"  suppressed: {data['suppression']['reason']} since {data['suppression']['since']}",
                  highlight=False)
    for s in data["subscriptions"]:
        out.print(f"  {s['list']}: {'active' if s['active'] else 'inactive'}"
                  + (f" (topics: {', '.join(s['topics'])})" if s["topics"] else ""), highlight=False)
    for c in data["consents"]:
        out.print(f"  {c['at']} {c['action']} via {c['method']}"
                  + (f" on {c['list']}" if c["list"] else "") + (f" from {c['origin']}" if c["origin"] else ""),
                  highlight=False)
    out.print(f"  {len(data['deliveries'])} deliveries", highlight=False)


@subscribers_app.command("remove")
def subscribers_remove(email: str) -> None:
    """Erase a subscriber: the address leaves the database, its hash stays suppressed."""
    try:
        result = subscriber_data.erase_subscriber(settings_with_schema(), email)
    except BadInput as exc:
        fail(str(exc))
    if result["erased"]:
        out.print(f"erased; {result['deliveries_kept']} deliveries kept without the address",
                  highlight=False)
    else:
        out.print("no subscriber with that address; its hash is on the suppression list", highlight=False)


# -- bounces --------------------------------------------------------------------------------------


@bounces_app.command("import")
def bounces_import(
    files: List[Path] = typer.Argument(..., metavar="FILE...", help="DSN or ARF messages, one per file."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Suppress hard bounces, unsubscribe complaints; report the rest."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}")
    report = bounce_service.import_bounces(settings_with_schema(), files)
    if as_json:
        _print_json(report.to_json())
        return
    out.print(f"{len(report.hard)} hard bounces suppressed, {len(report.complaints)} complaints "
              f"unsubscribed, {len(report.soft)} soft or delayed (no change), "
              f"{len(report.unmatched)} without a usable address", highlight=False)
    for entry in report.hard + report.complaints:
        out.print(f"  {entry['kind']}: {entry['email']} ({entry['detail']})", highlight=False)
    for entry in report.unparseable:
        err.print(f"  [yellow]not a bounce report:[/yellow] {entry['file']}: {entry['reason']}",
                  highlight=False)

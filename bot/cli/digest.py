"""`pressbot digest render|preview|send` and `pressbot deliveries list`."""

from __future__ import annotations

import json
import webbrowser
from datetime import timedelta
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from bot.cli.common import app, err, fail, lazy_module, out, settings_with_schema
from bot.errors import BadInput, PressbotError

# Loaded when a command first uses them, not by `pressbot --help` (bot/cli/common.py).
digests = lazy_module("bot.services.digests")
previews = lazy_module("bot.services.previews")
mailing = lazy_module("bot.store.mailing")
models = lazy_module("bot.store.models")

digest_app = typer.Typer(no_args_is_help=True, help="Email digests: render, preview, send.")
deliveries_app = typer.Typer(no_args_is_help=True, help="Deliveries of digests to subscribers.")
app.add_typer(digest_app, name="digest")
app.add_typer(deliveries_app, name="deliveries")


@digest_app.command("render")
def digest_render(
    to: str = typer.Option(..., "--to", help="A subscriber of the list, or any address "
                                             "(then rendered as a test send is)."),
    list_name: Optional[str] = typer.Option(None, "--list", help="The list (default: the only one)."),
    out_file: Path = typer.Option(..., "--out", help="Where to write the .eml file."),
) -> None:
    """Write the complete message an address would get from the list's next digest: the
    edition waiting to go out, else the next one as it would be built now (nothing is
    stored). A subscriber gets their own variant and links; another address a preview
    as a test send is."""
    settings = settings_with_schema()
    try:
        rendered = previews.render_for(settings, to, list_name)
    except BadInput as exc:
        fail(str(exc))
    except PressbotError as exc:
        fail(str(exc), 1)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(rendered.message)
    which = (f"edition {rendered.edition_id}" if rendered.edition_id
             else "the next edition (a preview; nothing stored)")
    whom = "" if rendered.subscriber else f" ({to} is not subscribed: links lead nowhere)"
    err.print(f"{which}{whom}: {len(rendered.message):,} bytes written to {out_file}",
              highlight=False)


@digest_app.command("preview")
def digest_preview(
    list_name: Optional[str] = typer.Option(None, "--list", help="The list (default: the only one)."),
    open_browser: bool = typer.Option(True, "--open/--no-open", help="Open it in a browser if there is one."),
) -> None:
    """Write the list's next digest as HTML to the data folder and open it."""
    settings = settings_with_schema()
    try:
        path = previews.preview_file(settings, list_name)
    except BadInput as exc:
        fail(str(exc))
    except PressbotError as exc:
        fail(str(exc), 1)
    out.print(str(path), highlight=False, soft_wrap=True)
    if open_browser and settings.display:
        webbrowser.open(path.resolve().as_uri())


def _send_one(settings, edition_id: int, lease: timedelta | None) -> digests.BatchReport:
    if digests.edition_info(settings, edition_id)["status"] == mailing.EditionStatus.PENDING:
        digests.create_deliveries(settings, edition_id)
    total = digests.due_count(settings, edition_id)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"edition {edition_id}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True,
                  disable=total == 0) as progress:
        task = progress.add_task("sending", total=total)
        report = digests.send_edition(settings, edition_id, lease=lease,
                                      progress=lambda batch: progress.advance(task, batch.claimed - batch.released))
    out.print(f"edition {edition_id}: {report.sent} sent, {report.deferred} deferred, "
              f"{report.failed} failed, {report.suppressed} suppressed", highlight=False)
    return report


@digest_app.command("send")
def digest_send(
    list_name: str = typer.Option(..., "--list", help="The list to send."),
    lease: Optional[float] = typer.Option(
        None, min=1, help="Seconds a claimed batch stays reserved for this sender (default "
                          "300); after a crash, other senders take its rows over after this."),
) -> None:
    """Finish any interrupted edition of the list, then build the edition for now from the
    articles since the last one and deliver it in this process."""
    settings = settings_with_schema()
    warning = settings.insecure_links_warning()
    if warning:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    lease_td = timedelta(seconds=lease) if lease else None
    try:
        for edition_id in digests.unfinished_editions(settings, list_name):
            _send_one(settings, edition_id, lease_td)
        now = models.utcnow()
        edition_id = digests.build_edition(settings, list_name, now=now,
                                           scheduled_for=now.replace(second=0, microsecond=0))
        if edition_id is None:
            out.print(f"{list_name}: nothing new since the last edition (skipped)", highlight=False)
            return
        info = digests.edition_info(settings, edition_id)
        if info["status"] == mailing.EditionStatus.FAILED:
            fail(f"edition {edition_id} failed: {info['error']}", 1)
        if info["status"] in (mailing.EditionStatus.PENDING, mailing.EditionStatus.SENDING):
            report = _send_one(settings, edition_id, lease_td)
            if report.error:
                fail(report.error, 1)
        else:  # this minute's edition exists already
            out.print(f"edition {edition_id}: {info['status']} already", highlight=False)
    except BadInput as exc:
        fail(str(exc))
    except PressbotError as exc:
        fail(str(exc), 1)


@deliveries_app.command("list")
def deliveries_list(
    failed: bool = typer.Option(False, "--failed", help="Only failed deliveries, with their reasons."),
    edition: Optional[int] = typer.Option(None, help="Only this edition."),
    limit: int = typer.Option(200, min=0, help="Most rows shown, newest first (0: all)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List deliveries with their state, attempts, server reply or error."""
    rows = digests.list_deliveries(settings_with_schema(), failed, edition_id=edition, limit=limit or None)
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "edition", "list", "to", "state", "tries", "reply / error")
    for r in rows:
        table.add_row(str(r["id"]), str(r["edition_id"]), r["list"], r["email"] or "(erased)",
                      r["state"], str(r["attempts"]), r["last_error"] or r["smtp_reply"] or "")
    out.print(table)

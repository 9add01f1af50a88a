"""`pressbot ingest`, `sources`, `articles` and `db`.

Services are imported inside each command (see bot/cli/social.py for why)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, List, Optional

import typer
from rich.table import Table

from bot.cli.common import PROGRESS_THRESHOLD, app, err, fail, get_settings, out, settings_with_schema
from bot.errors import BadInput

if TYPE_CHECKING:
    from bot.services.reports import IngestReport

sources_app = typer.Typer(no_args_is_help=True, help="Feeds, sites and folders pressbot reads.")
articles_app = typer.Typer(no_args_is_help=True, help="Articles pressbot has ingested.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
app.add_typer(sources_app, name="sources")
app.add_typer(articles_app, name="articles")
app.add_typer(db_app, name="db")


# -- ingest -----------------------------------------------------------------------------------


@app.command()
def ingest(
    sources: List[str] = typer.Argument(..., metavar="SOURCE...",
                                        help="Feed URL or file, site URL, article file or folder."),
    as_json: bool = typer.Option(False, "--json", help="Print what was added, updated, unchanged and rejected as JSON."),
) -> None:
    """Read sources now and store their new and changed articles."""
    from bot.services import ingest as ingest_service
    settings = settings_with_schema()
    if len(sources) > PROGRESS_THRESHOLD and not as_json:
        from rich.progress import Progress   # 0.1 s to import: only when shown

        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Ingesting", total=len(sources))
            report = ingest_service.ingest_targets(settings, sources,
                                                   lambda _t: progress.advance(task))
    else:
        report = ingest_service.ingest_targets(settings, sources)
    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_ingest(report)
    if report.bad_input:
        raise typer.Exit(2)
    if report.failed:
        raise typer.Exit(1)


def _print_ingest(report: IngestReport) -> None:
    for r in report.sources:
        if r.status in ("failed", "bad-input"):
            err.print(f"[red]✗[/red] {r.target}: {r.error}", highlight=False)
            if r.note:   # e.g. that the target was not kept as a source
                err.print(f"  {r.note}", highlight=False)
            continue
        state = "not modified" if r.status == "not-modified" else (
            f"{len(r.added)} added, {len(r.updated)} updated, {len(r.unchanged)} unchanged, "
            f"{len(r.rejected)} rejected")
        out.print(f"[green]✓[/green] {r.target}: {state}", highlight=False)
        if r.note:
            out.print(f"  {r.note}", highlight=False)
        for warning in r.warnings:
            err.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)
        for rejected in r.rejected:
            err.print(f"  [yellow]rejected:[/yellow] {rejected['where']}: {rejected['reason']}",
                      highlight=False)


# -- sources ----------------------------------------------------------------------------------


@sources_app.command("add")
def sources_add(
    target: str = typer.Argument(..., help="Feed or site URL, WordPress site, file or folder."),
    kind: Optional[str] = typer.Option(None, help="feed, wordpress or files (guessed when omitted)."),
) -> None:
    """Add a source; the scheduler polls network sources from then on."""
    from bot.services import ingest as ingest_service
    settings = settings_with_schema()
    try:
        source_id = ingest_service.add_source(settings, target, kind)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"source {source_id}: {target}", highlight=False)


@sources_app.command("list")
def sources_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List sources with their polling state and last error."""
    from bot.services import ingest as ingest_service
    rows = ingest_service.list_sources(settings_with_schema())
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "kind", "url", "failures", "next poll", "last error")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["url"], str(r["failure_count"]),
                      r["next_poll_at"] or "-", r["last_error"] or "")
    out.print(table)


@sources_app.command("remove")
def sources_remove(source_id: int) -> None:
    """Remove a source and its articles."""
    from bot.services import ingest as ingest_service
    if not ingest_service.remove_source(settings_with_schema(), source_id):
        fail(f"no source with id {source_id}")
    out.print(f"removed source {source_id}")


# -- articles ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(value: str) -> datetime:
    """`--since` takes an ISO date or time (UTC unless it says) or a duration: 90m, 12h, 7d, 2w."""
    match = _DURATION.match(value.strip().lower())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(match.group(1))})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"--since: {value!r} is neither an ISO date nor a duration like 12h or 7d")
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


@articles_app.command("list")
def articles_list(
    as_json: bool = typer.Option(False, "--json", help="id, title, url, published, categories, language."),
    since: Optional[str] = typer.Option(None, help="Only articles published since: ISO date or 12h, 7d…"),
    limit: Optional[int] = typer.Option(None, min=1),
) -> None:
    """List articles, newest first."""
    from bot.services import articles as article_service
    settings = settings_with_schema()
    try:
        since_at = parse_since(since) if since else None
    except BadInput as exc:
        fail(str(exc))
    rows = article_service.list_articles(settings, since=since_at, limit=limit)
    if as_json:
        keys = ("id", "title", "url", "published", "categories", "language")
        out.print_json(json.dumps([{k: r[k] for k in keys} for r in rows], ensure_ascii=False))
        return
    table = Table("id", "published", "lang", "title", "categories")
    for r in rows:
        table.add_row(str(r["id"]), r["published"][:16].replace("T", " "), r["language"] or "",
                      r["title"] + (" [dim](updated)[/dim]" if r["updated"] else ""),
                      ", ".join(r["categories"]))
    out.print(table)


@articles_app.command("show")
def articles_show(article_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one article in full."""
    from bot.services import articles as article_service
    row = article_service.get_article(settings_with_schema(), article_id)
    if row is None:
        fail(f"no article with id {article_id}")
    if as_json:
        out.print_json(json.dumps(row, ensure_ascii=False))
        return
    for key, value in row.items():
        out.print(f"[bold]{key}[/bold]: {value}", highlight=False)


# -- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from bot.store import db

    url = get_settings().effective_database_url
    db.upgrade(url)
    out.print(f"database at revision {db.current_revision(db.get_engine(url))}")



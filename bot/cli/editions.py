"""`pressbot editions list`: a list's digests, recent and upcoming, with their times in the
list's own time zone (the one its schedule is written in)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from bot.cli.common import app, fail, out, settings_with_schema
from bot.errors import BadInput

editions_app = typer.Typer(no_args_is_help=True, help="Digest editions: recent and upcoming.")
app.add_typer(editions_app, name="editions")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def edition_rows(items: list[dict], zones: dict[str, str], now: datetime) -> list[dict]:
    """Plain rows of `planning.upcoming` items: times in the list's zone (ISO with offset),
    `upcoming` true for what has not gone out yet, deliveries per state (subscribers for a
    run that has no edition yet)."""
    rows = []
    for item in items:
        tz = zones.get(item["list"]) or "UTC"
        when = item["when"].astimezone(_zone(tz))
        rows.append({
            "edition_id": item["edition_id"], "list": item["list"], "when": when.isoformat(),
            "timezone": tz, "status": item["status"], "subject": item.get("subject"),
            "campaign": bool(item.get("campaign")), "upcoming": item["when"] > now,
            "deliveries": {k: v for k, v in item["counts"].items() if k != "subscribers"},
            "subscribers": item["counts"].get("subscribers"), "error": item.get("error")})
    return rows


@editions_app.command("list")
def editions_list(
    list_name: Optional[str] = typer.Option(None, "--list", help="Only this list."),
    days: int = typer.Option(7, min=1, help="How many days back and ahead."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recent and upcoming digest editions of every list (or one): sent, sending, failed,
    scheduled, and the runs the schedules will make. Times are in each list's time zone."""
    from bot.services import planning, subscribers

    settings = settings_with_schema()
    now = datetime.now(timezone.utc)
    lists = {row["name"]: row["timezone"] for row in subscribers.list_lists(settings)}
    if list_name is not None and list_name not in lists:
        fail(f"--list: no mailing list named {list_name!r} (see `pressbot lists list`)")
    try:
        items = planning.upcoming(settings, now - timedelta(days=days), now + timedelta(days=days),
                                  now=now)
    except BadInput as exc:
        fail(str(exc))
    rows = [r for r in edition_rows(items, lists, now) if list_name in (None, r["list"])]
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        out.print(f"no editions from {days} days ago to {days} days ahead", highlight=False)
        return
    table = Table("edition", "list", "when (list's zone)", "status", "subject", "deliveries")
    for r in rows:
        when = datetime.fromisoformat(r["when"])
        done = ", ".join(f"{n} {state}" for state, n in sorted(r["deliveries"].items()))
        table.add_row(str(r["edition_id"] or "run"), r["list"],
                      f"{when:%Y-%m-%d %H:%M} {r['timezone']}", r["status"]
                      + (" (campaign)" if r["campaign"] else ""), r["subject"] or r["error"] or "",
                      done or (f"{r['subscribers']} subscribers" if r["subscribers"] is not None else ""))
    out.print(table)

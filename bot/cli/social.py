"""`pressbot accounts` and `pressbot share`.

Services are imported inside each command: the composer and platform clients cost a
second to import, which every other `pressbot` command would otherwise pay."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import List, Optional

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.common import app, err, fail, out, settings_with_schema
from bot.errors import BadInput, PressbotError

accounts_app = typer.Typer(no_args_is_help=True, help="Social accounts pressbot posts to.")
share_app = typer.Typer(no_args_is_help=True, help="Share posts: compose, schedule, publish.")
app.add_typer(accounts_app, name="accounts")
app.add_typer(share_app, name="share")


def _credentials(pairs: list[str]) -> dict[str, str]:
    creds = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--credential: expected KEY=VALUE, got {pair.split('=')[0]!r}…")
        creds[key.strip()] = value
    return creds


@accounts_app.command("add")
def accounts_add(
    name: str,
    platform: str = typer.Option(..., help="x, mastodon, bluesky or telegram."),
    credential: List[str] = typer.Option([], help="KEY=VALUE, stored encrypted; repeat. "
                                                  "Omit to use PRESSBOT_<PLATFORM>_* settings."),
    hashtag: List[str] = typer.Option([], help="A hashtag added to every post; repeat."),
    campaign: str = typer.Option("social", help="utm_campaign of the links."),
    max_per_hour: int = typer.Option(4, min=1),
    min_gap: int = typer.Option(10, min=0, help="Minutes between two posts."),
    quiet: Optional[str] = typer.Option(None, help="Quiet hours in local time, e.g. 22:00-07:00."),
    timezone_: str = typer.Option("UTC", "--timezone", help="The account's time zone."),
    recency_hours: Optional[int] = typer.Option(
        None, min=1, help="Share only articles published within this many hours "
                          "(default: PRESSBOT_SHARE_RECENCY_HOURS, 48)."),
) -> None:
    """Add a social account with its posting rules."""
    from bot.services import share_scheduling, shares
    settings = settings_with_schema()
    try:
        account_id = shares.add_account(
            settings, name, platform, credentials=_credentials(credential) or None,
            hashtags=hashtag, campaign=campaign, max_per_hour=max_per_hour,
            min_gap_minutes=min_gap, quiet=quiet, tz=timezone_)
        if recency_hours is not None:
            share_scheduling.set_recency_hours(settings, account_id, recency_hours)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"account {account_id}: {name} ({platform})", highlight=False)


@accounts_app.command("list")
def accounts_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List accounts and where their credentials come from (never the credentials)."""
    from bot.services import shares
    rows = shares.list_accounts(settings_with_schema())
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "name", "platform", "credentials", "rules", "attention")
    for r in rows:
        rules = f"≤{r['max_per_hour']}/h, gap {r['min_gap_minutes']}m" + (
            f", quiet {r['quiet']} {r['timezone']}" if r["quiet"] else "")
        table.add_row(str(r["id"]), r["name"], r["platform"], r["credentials"], rules,
                      r["needs_attention"] or "")
    out.print(table)


@accounts_app.command("check")
def accounts_check(name: str) -> None:
    """Verify an account's credentials against its platform."""
    from bot.services import shares
    try:
        who = shares.check_account(settings_with_schema(), name)
    except BadInput as exc:
        fail(str(exc))
    except PressbotError as exc:
        fail(str(exc), 1)
    out.print(f"{name}: ok, posting as {who}", highlight=False)


@share_app.command("compose")
def share_compose(
    article_id: int,
    platform: str = typer.Option(..., help="x, mastodon, bluesky or telegram."),
    account: Optional[str] = typer.Option(None, help="Use this account's hashtags, campaign, template."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the share text for an article as the platform would count it."""
    from bot.services import shares
    try:
        snippet = shares.compose_share(settings_with_schema(), article_id, platform, account)
    except BadInput as exc:
        fail(str(exc))
    if as_json:
        out.print_json(json.dumps(snippet.to_json(), ensure_ascii=False))
        return
    out.print(snippet.text, highlight=False, markup=False)
    err.print(f"[dim]{snippet.length}/{snippet.limit} ({platform} count)[/dim]")


def _parse_at(value: str) -> datetime:
    """An editor's time, checked as the dashboard and the API check theirs (not past, at
    most a year ahead: 9999-12-31 used to overflow the slot arithmetic)."""
    from bot.domain.posting import check_post_time

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--at: {value!r} is not an ISO time like 2026-11-28T09:30+01:00") from None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    try:
        return check_post_time(when, datetime.now(timezone.utc))
    except BadInput as exc:
        raise BadInput(f"--at: {exc}") from None


@share_app.command("schedule")
def share_schedule(
    article_id: int,
    account: Optional[str] = typer.Option(None, help="One account (default: every active one)."),
    at: Optional[str] = typer.Option(None, help="ISO time (UTC unless it says); default: next free slot."),
    now: bool = typer.Option(False, "--now", help="Post at once, whatever the posting rules say."),
) -> None:
    """Schedule (or re-share) an article on one or all accounts."""
    from bot.services import shares
    if now and at:
        fail("--now and --at exclude each other")
    try:
        when = datetime.now(timezone.utc) if now else (_parse_at(at) if at else None)
        rows = shares.schedule_share(settings_with_schema(), article_id, account, when)
    except BadInput as exc:
        fail(str(exc))
    for r in rows:
        out.print(f"post {r['id']}: {r['account']} at {r['scheduled_at']}", highlight=False)


@share_app.command("skip")
def share_skip(post_id: int) -> None:
    """Keep a scheduled (or failed) post from going out."""
    from bot.services import shares
    try:
        row = shares.skip_share(settings_with_schema(), post_id)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"post {row['id']} ({row['account']}): skipped", highlight=False)


@share_app.command("list")
def share_list(
    due: bool = typer.Option(False, "--due", help="Only posts due now."),
    failed: bool = typer.Option(False, "--failed", help="Only failed posts, with their reasons."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List share posts with their state, attempts and last error."""
    from bot.services import shares
    rows = shares.list_shares(settings_with_schema(), due=due, failed=failed)
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "article", "title", "account", "state", "scheduled", "tries",
                  "remote / error", "likes/reposts/replies")
    for r in rows:
        m = r["metrics"]
        counts = ("/".join("-" if m[k] is None else str(m[k]) for k in ("likes", "reposts", "replies"))
                  if m["at"] else "")
        table.add_row(str(r["id"]), str(r["article_id"]), Text(r["title"]), r["account"], r["state"],
                      r["scheduled_at"][:16].replace("T", " "), str(r["attempts"]),
                      r["last_error"] or r["remote_url"] or r["remote_id"] or "", counts)
    out.print(table)


@share_app.command("publish-due")
def share_publish_due() -> None:
    """Schedule new articles, then publish every due post, in this process."""
    from bot.services import shares
    settings = settings_with_schema()
    scheduled = shares.schedule_new_articles(settings)
    report = shares.publish_due(settings)
    out.print(f"{scheduled} newly scheduled; {len(report.sent)} sent, {len(report.retrying)} "
              f"to retry, {len(report.failed)} failed", highlight=False)
    for name in report.paused_accounts:
        err.print(f"[red]account {name} paused:[/red] credentials refused; fix them and run "
                  f"`pressbot accounts check {name}`", highlight=False)
    if report.failed:
        raise typer.Exit(1)

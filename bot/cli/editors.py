"""`pressbot users …` (editors who log in to the dashboard) and `pressbot tokens …` (their
API tokens)."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.table import Table

from bot.cli.common import app, fail, out, settings_with_schema
from bot.errors import BadInput

users_app = typer.Typer(no_args_is_help=True, help="Editors: add, list, change role or password.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens for /api: create, list, revoke.")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _print_json(rows: list[dict]) -> None:
    # Times as ISO 8601 with their zone, like every other --json.
    out.print_json(json.dumps(rows, ensure_ascii=False,
                              default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    email: str,
    role: str = typer.Option("editor", help="admin (settings, users, accounts) or editor."),
    name: Optional[str] = typer.Option(None, help="The editor's name, shown in the dashboard."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input (scripts)."),
) -> None:
    """Add an editor who can log in to the dashboard at /admin."""
    from bot.services import editors

    settings = settings_with_schema()
    try:
        editor = editors.add_user(settings, email, _password(password_stdin), role=role, name=name)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"editor {editor.id}: {editor.email} ({editor.role}) can log in at "
              f"{settings.base_url.rstrip('/')}/admin", highlight=False)


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every editor, with role and last login."""
    from bot.services import editors

    settings = settings_with_schema()
    users = editors.list_users(settings)
    if as_json:
        _print_json(users)
        return
    table = Table("id", "email", "name", "role", "active", "last login")
    for user in users:
        table.add_row(str(user["id"]), user["email"], user["name"] or "", user["role"],
                      "yes" if user["active"] else "no",
                      user["last_login_at"].isoformat(timespec="minutes") if user["last_login_at"] else "never")
    out.print(table)


@users_app.command("set")
def users_set(
    email: str,
    role: Optional[str] = typer.Option(None, help="admin or editor."),
    active: Optional[bool] = typer.Option(None, "--active/--disabled", help="Allow or stop logins."),
    password: bool = typer.Option(False, "--password", help="Set a new password (prompted)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from stdin."),
    language: Optional[str] = typer.Option(None, help="Dashboard language: en, fr or ar; "
                                           "'site' to follow the site's."),
    tz: Optional[str] = typer.Option(None, "--timezone", help="Time zone the dashboard shows "
                                     "times in (IANA name, e.g. Asia/Tokyo); 'site' for PRESSBOT_TIMEZONE."),
) -> None:
    """Change an editor's role, password, whether they may log in (a password change or
    --disabled ends their sessions), or the dashboard's language and time zone for them."""
    from bot.services import editors

    settings = settings_with_schema()
    try:
        target = editors.user_id(settings, email)
    except BadInput as exc:
        fail(str(exc))
    new_password = _password(password_stdin) if (password or password_stdin) else None
    site = lambda value: editors.SITE_DEFAULT if value == "site" else value  # noqa: E731
    try:
        # Preferences first: they are checked before anything is stored, so a misspelt zone
        # leaves the role and password untouched too.
        if language is not None or tz is not None:
            editors.set_preferences(settings, target, language=site(language), timezone=site(tz))
        editor = editors.update_user(settings, target, role=role, active=active,
                                     password=new_password)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"editor {editor.id}: {editor.email} ({editor.role}, {editor.language or 'site language'}, "
              f"{editor.timezone or 'site time zone'}) updated", highlight=False)


@tokens_app.command("create")
def tokens_create(
    email: str = typer.Argument(..., help="The editor the token acts as."),
    name: str = typer.Option(..., help="What the token is for (e.g. 'cms')."),
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from bot.services import editors

    settings = settings_with_schema()
    try:
        token = editors.create_token(settings, email, name)
    except BadInput as exc:
        fail(str(exc))
    # The token alone on stdout so scripts can capture it; the advice on stderr.
    print(token)
    typer.echo("Keep this token now: it cannot be shown again. Send it as "
               "`Authorization: Bearer <token>`.", err=True)


@tokens_app.command("list")
def tokens_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """API tokens (their first characters only)."""
    from bot.services import editors

    settings = settings_with_schema()
    tokens = editors.list_tokens(settings)
    if as_json:
        _print_json(tokens)
        return
    table = Table("id", "editor", "name", "starts with", "created", "last used", "revoked")
    for tok in tokens:
        table.add_row(str(tok["id"]), tok["editor"], tok["name"], tok["prefix"] + "…",
                      tok["created_at"].isoformat(timespec="minutes"),
                      tok["last_used_at"].isoformat(timespec="minutes") if tok["last_used_at"] else "never",
                      "yes" if tok["revoked"] else "no")
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke an API token by id (see `pressbot tokens list`)."""
    from bot.services import editors

    settings = settings_with_schema()
    try:
        editors.revoke_token(settings, token_id)
    except BadInput as exc:
        fail(str(exc))
    out.print(f"token {token_id} revoked")

"""What every `pressbot` subcommand shares: the app, consoles, and error exits."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from bot import __version__
from bot.config import get_settings
from bot.store import db

app = typer.Typer(no_args_is_help=True, add_completion=False, help="pressbot: a newsroom's publishing bot.")

# Piped to a file or another program, lines are as long as they are: Rich would otherwise
# fold them at 80 columns, splitting URLs and table rows in the middle.
PIPE_WIDTH = 10_000


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=PIPE_WIDTH)


out = _console()
err = _console(stderr=True)

# More targets than this get a progress bar; fewer finish before one would be read.
PROGRESS_THRESHOLD = 5


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"pressbot {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """pressbot notices new articles, emails digests and posts share snippets."""


def settings_with_schema():
    settings = get_settings()
    try:
        db.ensure_schema(settings.effective_database_url)
    except RuntimeError as exc:
        fail(str(exc), 1)
    return settings



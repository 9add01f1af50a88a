"""What every `pressbot` subcommand shares: the app, consoles, and error exits."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import typer
from rich.console import Console

from bot import __version__

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


def lazy_module(name: str) -> ModuleType:
    """`name`, imported on first use (importlib's LazyLoader). `pressbot --help` and
    `--version` must start fast (bench/cli_startup.py): settings, the database and the
    services (SQLAlchemy, Alembic, premailer, Celery…) load only in the command that uses
    them. A command module writes `digests = lazy_module("bot.services.digests")` where it
    would write `from bot.services import digests`."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def get_settings():
    from bot.config import get_settings as settings

    return settings()


def settings_with_schema():
    from bot.store import db

    settings = get_settings()
    try:
        db.ensure_schema(settings.effective_database_url)
    except RuntimeError as exc:
        fail(str(exc), 1)
    return settings



"""The `pressbot` command. Exit codes: 0 success, 1 the work failed, 2 bad usage or input."""

from __future__ import annotations

import sys

from bot.cli import content, editors, run, social, subscribers  # noqa: F401  (registers their commands)
from bot.cli import digest  # noqa: F401  (registers `digest` and `deliveries`)
from bot.cli import editions, lists  # noqa: F401  (registers `editions list`, `lists set`)
from bot.cli.common import app, err
from bot.cli.content import parse_since  # noqa: F401  (public for tests)
from bot.errors import BadInput


def main() -> None:
    try:
        app()
    except BadInput as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)

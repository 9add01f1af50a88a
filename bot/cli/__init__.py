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
    except Exception as exc:
        # An unreachable database or broker is the world, not a bug: one line, exit 1.
        from bot.cli.common import get_settings
        from rich.markup import escape

        from bot.cli.failures import unreachable

        reason = unreachable(exc, get_settings())
        if reason is None:
            raise
        err.print(f"[red]error:[/red] {escape(reason)}", highlight=False)
        sys.exit(1)

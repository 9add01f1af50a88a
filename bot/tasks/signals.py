"""Worker and beat process hooks."""

from __future__ import annotations

import logging

from celery import signals

from bot.store.db import dispose_engines


@signals.worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    # A forked pool process must not share its parent's pooled database connections.
    dispose_engines()


@signals.after_setup_logger.connect
def _our_lines(**_kwargs) -> None:
    # pressbot's own one-line-per-task log lines show even when Celery's chatter is
    # turned down (`pressbot run` starts the worker with --loglevel warning).
    for name in ("tasks", "bot"):
        logging.getLogger(name).setLevel(logging.INFO)

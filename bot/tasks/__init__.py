"""The Celery app: `celery -A tasks worker`, `celery -A tasks beat`.

Configured lazily from `bot.config.get_settings()` the first time Celery needs its
configuration: importing this package connects to nothing and reads no setting (Celery's
prefork pool forks after import). Task modules are thin: load ids, call a service, map
errors to retries (tasks/base.py).
"""

from __future__ import annotations

from celery import Celery

from bot.config import Settings, get_settings
from tasks.config import celery_config

TASK_MODULES = ["tasks.dispatch", "tasks.ingest", "tasks.shares", "tasks.email"]

app = Celery("pressbot", include=TASK_MODULES)
app.add_defaults(lambda: celery_config(get_settings()))

from tasks import signals  # noqa: E402,F401  (connects worker and beat signal handlers)


def make_app(settings: Settings) -> Celery:
    """A Celery app for explicit settings (tests, `pressbot run`): for sending only."""
    other = Celery("pressbot", set_as_current=False)
    other.add_defaults(lambda: celery_config(settings))
    return other


def enqueuer(settings: Settings, celery: Celery | None = None):
    """An `Enqueue` for bot.services.dispatch: sends a task by name, ids only."""
    celery = celery or make_app(settings)

    def enqueue(task: str, args: list) -> None:
        celery.send_task(task, args=args, queue=settings.queue)

    return enqueue

"""The Celery app: `celery -A bot.tasks worker` (or `celery -A tasks worker`, through the
top-level `tasks` shim the Procfile names), `celery -A bot.tasks beat`.

It lives inside `bot` so that pressbot always loads its own tasks: a top-level `tasks`
name is common (invoke's tasks.py, a project's own module) and `celery -A` puts the
current folder first on sys.path, so pressbot's own code never imports plain `tasks`.

Configured lazily from `bot.config.get_settings()` the first time Celery needs its
configuration: importing this package connects to nothing and reads no setting (Celery's
prefork pool forks after import). Task modules are thin: load ids, call a service, map
errors to retries (bot/tasks/base.py).
"""

from __future__ import annotations

from celery import Celery

from bot.config import Settings, get_settings
from bot.tasks.config import celery_config

TASK_MODULES = ["bot.tasks.dispatch", "bot.tasks.ingest", "bot.tasks.shares", "bot.tasks.email",
                "bot.tasks.metrics"]

app = Celery("pressbot", include=TASK_MODULES)
app.add_defaults(lambda: celery_config(get_settings()))

from bot.tasks import signals  # noqa: E402,F401  (connects worker and beat signal handlers)


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

"""`celery -A tasks worker|beat`, as the Procfile and README name it: the Celery app is
`bot.tasks` (inside the `bot` package so pressbot never loads someone else's top-level
`tasks`); this shim only re-exports it. Where another `tasks` module comes first on
sys.path, use `celery -A bot.tasks` instead: pressbot itself only ever imports `bot.tasks`."""

from bot.tasks import app, enqueuer, make_app  # noqa: F401

"""The beat tick: find due work in the database, enqueue its ids."""

from __future__ import annotations

from bot.config import get_settings
from bot.services.dispatch import run_tick
from bot.tasks import app, enqueuer
from bot.tasks.base import call_service
from bot.tasks.config import LIMITS


@app.task(bind=True, name="pressbot.dispatch", soft_time_limit=LIMITS["dispatch"][0],
          time_limit=LIMITS["dispatch"][1])
def dispatch(self) -> None:
    settings = get_settings()
    call_service(self, run_tick, settings, enqueuer(settings, app))

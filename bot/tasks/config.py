"""Celery settings, derived from pressbot's Settings (bot/config.py stays the only reader
of the environment). Called lazily, when Celery first needs its configuration."""

from __future__ import annotations

from bot import broker
from bot.config import Settings

# Time limits per task (seconds): soft raises inside the task, hard kills the process.
# Each stays below the leases the services take (bot.services.shares.LEASE is 5 minutes),
# so a live worker never outlasts its claim; all stay below the broker's visibility
# timeout (bot.broker.VISIBILITY_TIMEOUT), so Redis never hands a running task to another.
LIMITS = {
    "dispatch": (30, 45),        # queries and enqueues; must end well within a tick
    "poll_source": (120, 150),   # up to 4 WordPress pages at a 20 s fetch timeout each
    "publish_post": (60, 90),    # one API call (plus an image upload) at 20-30 s timeouts
    "build_edition": (120, 150),  # render once per variant, create the delivery rows
    "deliver_batch": (240, 280),  # 500 recipients on one SMTP connection
    "fetch_post_metrics": (60, 90),  # one read call (a Bluesky login at worst), 30 s timeouts
}
# Retries: exponential from RETRY_BASE, never longer than MAX_COUNTDOWN in one wait. A wait
# the remote asks for beyond that is left to the dispatcher, which re-finds the work when
# the service's recorded due time comes (a Celery countdown waits in worker memory).
RETRY_BASE = 10
MAX_COUNTDOWN = 1800
MAX_RETRIES = 8

assert max(hard for _, hard in LIMITS.values()) < broker.VISIBILITY_TIMEOUT
assert MAX_COUNTDOWN < broker.VISIBILITY_TIMEOUT


def celery_config(settings: Settings) -> dict:
    broker.prepare(settings)
    return {
        "broker_url": broker.broker_url(settings),
        "broker_transport_options": broker.transport_options(settings),
        "broker_connection_retry_on_startup": True,
        "task_default_queue": settings.queue,
        # Messages carry ids and ISO times only (DESIGN principle 1): JSON, nothing else.
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        # Every task is idempotent: acknowledge after the work, and put a task whose worker
        # died back on the queue rather than drop it.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A worker process takes one message at a time: tasks are long (seconds to
        # minutes), and a prefetched message would wait behind the one running.
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": True,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": {
            "dispatch": {
                "task": "pressbot.dispatch",
                "schedule": settings.tick_seconds,
                # A tick nobody ran within its interval is stale: the next one replaces it.
                "options": {"expires": settings.tick_seconds},
            },
        },
        "beat_schedule_filename": str(settings.ensure_home().resolve() / "celerybeat-schedule"),
    }

"""The broker, as settings name it: Redis when `REDIS_URL` is set, otherwise Kombu's
filesystem transport in `PRESSBOT_HOME/broker` (embedded mode: no server to run).

The one place that turns settings into broker URLs, transport options and clients; the
Celery app (tasks/), `pressbot status` and `/healthz` all ask here. Nothing connects
until a function is called.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Settings

# The Redis transport re-delivers a message nobody acknowledged within this many seconds.
# It must outlast the longest task (hard limit, tasks/config.py) and the longest retry
# countdown, or a slow task would run twice; a killed worker's task comes back after it
# (the dispatcher's lease check re-finds the work long before that).
VISIBILITY_TIMEOUT = 2 * 3600
# How often an idle embedded worker looks for new message files: a directory listing.
FILESYSTEM_POLL = 0.2
# Celery's Redis transport keeps one list per priority step: "q", "q\x06\x163", …
REDIS_PRIORITY_SEP = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def is_embedded(settings: Settings) -> bool:
    return not settings.redis_url


def queue_folder(settings: Settings) -> Path:
    return settings.broker_folder / "queue"


def broker_url(settings: Settings) -> str:
    return settings.redis_url or "filesystem://localhost/"


def transport_options(settings: Settings) -> dict:
    if settings.redis_url:
        return {"visibility_timeout": VISIBILITY_TIMEOUT}
    folder = str(queue_folder(settings))
    # One machine: producers and consumers share one folder (in == out).
    return {"data_folder_in": folder, "data_folder_out": folder,
            "control_folder": str(settings.broker_folder / "control"),
            "polling_interval": FILESYSTEM_POLL}


def prepare(settings: Settings) -> None:
    """The filesystem transport needs its folders to exist (Kombu does not create them)."""
    if is_embedded(settings):
        queue_folder(settings).mkdir(parents=True, exist_ok=True)
        (settings.broker_folder / "control").mkdir(parents=True, exist_ok=True)


def redis_client(settings: Settings, timeout: float = 5.0):
    """A Redis client for locks and status (not for Celery, which has its own pool)."""
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=timeout,
                                socket_connect_timeout=timeout)


def queue_depth(settings: Settings) -> int:
    """Messages waiting in our queue (not those a worker has taken)."""
    if settings.redis_url:
        client = redis_client(settings)
        try:
            keys = [settings.queue] + [f"{settings.queue}{REDIS_PRIORITY_SEP}{step}"
                                       for step in REDIS_PRIORITY_STEPS[1:]]
            return sum(client.llen(key) for key in keys)
        finally:
            client.close()
    folder = queue_folder(settings)
    if not folder.is_dir():
        return 0
    # Kombu names each message "<ms>_<uuid>.<queue>.msg".
    suffix = f".{settings.queue}.msg"
    return sum(1 for name in os.listdir(folder) if name.partition(".")[2] == suffix[1:])


def check(settings: Settings) -> str:
    """"ok", or what is wrong, for /healthz and `pressbot status`. Never raises."""
    try:
        if settings.redis_url:
            client = redis_client(settings, timeout=2.0)
            try:
                client.ping()
            finally:
                client.close()
            return "ok"
        prepare(settings)
        probe = queue_folder(settings) / ".healthz"
        probe.write_bytes(b"")
        probe.unlink()
        return "ok"
    except Exception as exc:  # any failure is the answer: say it, don't raise
        return f"error: {type(exc).__name__}: {exc}"[:200]

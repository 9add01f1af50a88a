"""A real Celery worker (`celery -A tasks worker --pool=prefork`) as a subprocess, on its
own queue, with an environment that points it at the test's database, Redis and data
folder. Readiness and progress are read from observable state (its log line "ready",
database rows), never from fixed sleeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"


def unique_queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The process environment that makes `get_settings()` equal the test's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(settings.home), DATABASE_URL=settings.effective_database_url,
               PRESSBOT_QUEUE=settings.queue, PRESSBOT_TICK_SECONDS=str(settings.tick_seconds),
               PRESSBOT_FETCH_TIMEOUT=str(settings.fetch_timeout),
               PRESSBOT_ALLOWED_PRIVATE_NETWORKS=settings.allowed_private_networks,
               PRESSBOT_REDISPATCH_AFTER=str(settings.redispatch_after),
               PRESSBOT_BATCH_SIZE=str(settings.batch_size), PYTHONUNBUFFERED="1", **extra)
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    if settings.smtp_url:
        env["PRESSBOT_SMTP_URL"] = settings.smtp_url
    return env


def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition"):
    """Poll until `condition()` is truthy (and return it), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Worker:
    READY = " ready."

    def __init__(self, settings: Settings, log: Path, app: str = "tasks", concurrency: int = 2,
                 **env: str) -> None:
        self.argv = [str(CELERY), "-A", app, "worker", "--pool=prefork", "-c", str(concurrency),
                     "-Q", settings.queue, "-l", "info", "--hostname",
                     f"{settings.queue}-{log.stem}@%h", "--without-mingle", "--without-gossip"]
        self.env = environment(settings, **env)
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(self.argv, stdout=fh, stderr=subprocess.STDOUT,
                                         env=self.env, cwd=ROOT, process_group=0)
        wait_for(lambda: self._ready(), timeout=60, what=f"the worker to be ready ({self.log})")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the worker exited: {self.output()}")
        return self.READY in self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes (its own process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Beat(Worker):
    """`celery -A tasks beat` with a schedule file of its own (two beats may run at once)."""

    READY = "beat: Starting..."

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        super().__init__(settings, log, **env)
        self.argv = [str(CELERY), "-A", "tasks", "beat", "-l", "info",
                     "--schedule", str(log.with_suffix(".schedule"))]

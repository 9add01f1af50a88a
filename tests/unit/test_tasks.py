"""The Celery app's configuration, its retry backoff and the task error mapping, without
a broker (tasks are plain functions underneath)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from celery.exceptions import Retry
from sqlalchemy.exc import OperationalError

from bot import broker
from bot.config import Settings
from bot.errors import PermanentError, TransientError
from bot.tasks.base import backoff_seconds, call_service
from bot.tasks.config import LIMITS, MAX_COUNTDOWN, RETRY_BASE, celery_config


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    low = [backoff_seconds(n, rand=lambda: 0.0) for n in range(12)]
    high = [backoff_seconds(n, rand=lambda: 1.0) for n in range(12)]
    assert low[0] == RETRY_BASE / 2 and high[0] == RETRY_BASE
    assert low[3] == RETRY_BASE * 8 / 2 and high[3] == RETRY_BASE * 8
    assert max(high) == MAX_COUNTDOWN and all(lo < hi for lo, hi in zip(low, high))


def test_backoff_honours_the_wait_the_remote_asked_for():
    assert backoff_seconds(0, retry_after=300, rand=lambda: 0.0) == 300
    assert 300 < backoff_seconds(0, retry_after=300, rand=lambda: 1.0) <= 330
    assert backoff_seconds(8, retry_after=5, rand=lambda: 0.0) >= 5  # the backoff may be longer
    assert backoff_seconds(0, retry_after=MAX_COUNTDOWN + 1) is None  # left to the dispatcher


class FakeTask:
    name = "pressbot.test"

    def __init__(self, retries: int = 0) -> None:
        self.request = type("Request", (), {"retries": retries})()
        self.retried: list[dict] = []

    def retry(self, **kwargs):
        self.retried.append(kwargs)
        return Retry("retry", kwargs.get("exc"))


def raising(exc):
    def service(*_args):
        raise exc
    return service


def test_a_transient_error_retries_after_the_remotes_wait():
    task = FakeTask()
    with pytest.raises(Retry):
        call_service(task, raising(TransientError("429", retry_after=120)), None, 7)
    [retry] = task.retried
    assert 120 <= retry["countdown"] <= 132


def test_a_dropped_database_connection_is_retried_with_backoff():
    task = FakeTask(retries=2)
    dropped = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    with pytest.raises(Retry):
        call_service(task, raising(dropped), None, 7)
    assert RETRY_BASE * 2 <= task.retried[0]["countdown"] <= RETRY_BASE * 4


def test_a_permanent_error_stops_without_retry():
    task = FakeTask()
    assert call_service(task, raising(PermanentError("refused")), None, 7) is None
    assert task.retried == []


def test_celery_config_is_json_late_acks_and_bounded(tmp_path):
    settings = Settings(home=tmp_path / "home", queue="q1", tick_seconds=30)
    conf = celery_config(settings)
    assert conf["task_serializer"] == "json" and conf["accept_content"] == ["json"]
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["task_ignore_result"] and conf["worker_prefetch_multiplier"] == 1
    assert conf["task_default_queue"] == "q1"
    assert conf["beat_schedule"]["dispatch"]["schedule"] == 30
    assert conf["broker_url"].startswith("filesystem://")
    folder = conf["broker_transport_options"]["data_folder_in"]
    assert folder == conf["broker_transport_options"]["data_folder_out"]
    assert folder.startswith(str((tmp_path / "home").resolve())) and os.path.isdir(folder)
    redis_conf = celery_config(Settings(home=tmp_path / "home", redis_url="redis://h:6379/3"))
    assert redis_conf["broker_url"] == "redis://h:6379/3"
    timeout = redis_conf["broker_transport_options"]["visibility_timeout"]
    assert timeout > max(hard for _, hard in LIMITS.values()) and timeout > MAX_COUNTDOWN


def test_importing_the_tasks_connects_to_nothing_and_creates_nothing(tmp_path):
    home = tmp_path / "never-created"
    code = ("import os, sys\n"
            "import bot.tasks, bot.tasks.dispatch, bot.tasks.ingest, bot.tasks.shares, bot.tasks.email\n"
            "import bot.tasks.metrics\n"
            "print('created' if os.path.exists(sys.argv[1]) else 'nothing')\n"
            "print(sorted(n for n in bot.tasks.app.tasks if n.startswith('pressbot.')))")
    env = {**os.environ, "PRESSBOT_HOME": str(home), "REDIS_URL": "redis://127.0.0.1:1/0",
           "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    imported, registered = result.stdout.splitlines()
    assert imported == "nothing"
    # Listing the tasks configures the app (lazily, from the settings) and still connects
    # to nothing: the unreachable Redis and database above would have failed.
    assert "pressbot.dispatch" in registered and "pressbot.publish_post" in registered
    assert "pressbot.fetch_post_metrics" in registered   # the dispatcher sends it by name


def test_filesystem_queue_depth_counts_this_queues_messages(tmp_path):
    settings = Settings(home=tmp_path / "home", queue="mine")
    broker.prepare(settings)
    folder = broker.queue_folder(settings)
    for name in ("1_a.mine.msg", "2_b.mine.msg", "3_c.other.msg"):
        (folder / name).write_text("{}")
    assert broker.queue_depth(settings) == 2
    assert broker.check(settings) == "ok"

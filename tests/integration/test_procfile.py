"""Production shape: `honcho start` runs the Procfile's web, worker and beat against Redis
and PostgreSQL, and the bot does its work through them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services import shares
from tests.integration.test_orchestration import ingest_as_news, outbox, posts
from tests.support.celeryworker import ROOT, environment, wait_for
from tests.support.health import healthz
from tests.support.orchestration import queued  # noqa: F401  (fixture)
from tests.support.smtpserver import free_port

HONCHO = Path(sys.executable).parent / "honcho"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_honcho_runs_the_procfile_on_redis_and_postgresql(queued, tmp_path):
    settings = queued.model_copy(update={"tick_seconds": 1.0})
    for platform in ("mastodon", "telegram"):
        shares.add_account(settings, f"gazette-{platform}", platform)
    ingest_as_news(settings)
    port = free_port()
    env = environment(settings)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = tmp_path / "honcho.log"
    with open(log, "w") as out:
        honcho = subprocess.Popen([str(HONCHO), "start", "-f", str(ROOT / "Procfile"),
                                   "-d", str(ROOT), "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT, env=env, process_group=0)
    try:
        wait_for(lambda: {p.state for p in posts(settings).values()} == {"sent"} and posts(settings),
                 timeout=90, interval=0.2, what=f"the posts to be sent ({log})")
        health = wait_for(lambda: healthz(port), timeout=30, what="the web process")
        assert health == {"status": "ok", "database": "ok", "broker": "ok", "failing": []}
    finally:
        honcho.send_signal(signal.SIGTERM)  # honcho stops web, worker and beat
        try:
            honcho.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(10)
    assert len(outbox(settings, "mastodon")) == 1 and len(outbox(settings, "telegram")) == 1
    text = log.read_text()
    assert "web.1" in text and "worker.1" in text and "beat.1" in text

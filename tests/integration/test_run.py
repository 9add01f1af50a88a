"""`pressbot run` as a user runs it: a real process tree on the embedded defaults (SQLite,
the filesystem broker in the data folder, outbox publishers), no server needed."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import httpx

from tests.integration.test_cli import PRESSBOT, home, run  # noqa: F401  (fixture)
from tests.support.celeryworker import wait_for
from tests.support.health import healthz
from tests.support.smtpserver import free_port


def outbox_counts(home) -> dict[str, int]:
    folder = home / "outbox" / "social"
    return {p.stem: len(p.read_text().splitlines()) for p in sorted(folder.glob("*.jsonl"))}


def test_run_once_on_a_fresh_home_fills_the_outbox_and_exits(home):
    first = run(home, "run", "--once", "--timeout", "90")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "first run: added demo accounts" in first.stdout
    assert "queue drained" in first.stdout
    # It ends by saying what to do next: keep it running, add an editor, where the outbox is.
    steps = first.stdout[first.stdout.index("next: "):]
    assert "`pressbot run`" in steps and "pressbot users add" in steps
    assert str((home / "outbox").resolve()) in steps
    # One post per platform is due at once; the others wait for their accounts' slots.
    assert outbox_counts(home) == {"bluesky": 1, "mastodon": 1, "telegram": 1, "x": 1}

    status = run(home, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["broker"] == {"kind": "filesystem", "queue": "pressbot", "check": "ok", "depth": 0}
    [tick] = report["ticks"]
    assert tick["posts"] == 4 and tick["error"] is None
    assert report["due"]["share_posts"]["due"] == 0 and report["failures"] == []

    again = run(home, "run", "--once", "--timeout", "90")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "first run" not in again.stdout  # seeded once, never again
    assert outbox_counts(home) == {"bluesky": 1, "mastodon": 1, "telegram": 1, "x": 1}


def test_run_serves_the_dashboard_and_stops_cleanly_on_sigint(home, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESSBOT_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PRESSBOT_HOME=str(home), PRESSBOT_PORT=str(port), COLUMNS="200")
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(PRESSBOT), "run"], stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=home.parent)
    try:
        health = wait_for(lambda: healthz(port), timeout=60, what=f"the web app ({log})")
        assert health == {"status": "ok", "database": "ok", "broker": "ok", "failing": []}
        wait_for(lambda: sum(outbox_counts(home).values()) == 4, timeout=60,
                 what="the first tick's posts in the outbox")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "stopping beat" in text and "stopping worker" in text and "stopping web" in text
    assert text.index("stopping beat") < text.index("stopping worker") < text.index("stopping web")
    with httpx.Client() as client:
        try:
            client.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            raise AssertionError("the web app still answers after Ctrl-C")
        except httpx.ConnectError:
            pass

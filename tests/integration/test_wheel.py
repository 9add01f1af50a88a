"""pressbot as a newsroom installs it: a wheel built from this checkout, installed by the
Dockerfile's own step (deploy/install-wheel.sh) into a fresh virtual environment, used from
an empty folder outside the checkout. `pressbot run --once` leaves share posts and a
digest in the outbox, and the web app (the Procfile's command, from that environment)
answers its public and dashboard pages.

Slow (about a minute: the install fetches every dependency, from pip's cache when warm);
`pytest -m "not slow"` leaves it out, `.ci/run` runs it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.celeryworker import wait_for
from tests.support.health import healthz
from tests.support.smtpserver import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What the build reads (the Dockerfile's COPY lines): nothing else of the checkout.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "bot", "tasks",
           "templates", "examples")
# Someone else's top-level `tasks` (an invoke tasks.py, say) in the newsroom's folder.
FOREIGN_TASKS = "raise ImportError('this is the newsroom\\'s own tasks.py, not pressbot\\'s')\n"


def _env(**extra: str) -> dict[str, str]:
    """The environment of a shell outside the checkout: no PYTHONPATH, no pressbot settings
    from the test run, no virtual environment of ours on PATH."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("PRESSBOT_", "PYTHON", "VIRTUAL_ENV")) and k not in
            ("DATABASE_URL", "REDIS_URL")}
    keep["PATH"] = os.pathsep.join(p for p in keep.get("PATH", "").split(os.pathsep)
                                   if not p.startswith(str(ROOT)))
    return {**keep, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv pressbot's wheel was installed into, the way the Dockerfile does it."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    # A clean copy: an in-tree build would leave build/ in the checkout and could pick up a
    # stale build/lib from an earlier one.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(work / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (work / "dist").glob("pressbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("bot/_shipped/templates/email/digest/body.html",
                    "bot/_shipped/templates/web/public/subscribe.html",
                    "bot/_shipped/templates/social/x.txt", "bot/_shipped/examples/feed.xml",
                    "bot/store/migrations/env.py", "bot/tasks/__init__.py", "tasks/__init__.py"):
        assert shipped in names, shipped
    venv = work / "venv"
    result = subprocess.run(["sh", str(ROOT / "deploy" / "install-wheel.sh"), str(venv), str(wheel)],
                            cwd=work, env=_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("pressbot 0.1.0")
    return venv


def test_run_once_in_an_empty_folder_posts_to_the_outbox_and_sends_a_digest(installed, tmp_path):
    newsroom = tmp_path / "newsroom"
    newsroom.mkdir()
    # Another `tasks` module first on sys.path (celery puts the current folder there):
    # pressbot's worker must still load its own.
    (newsroom / "tasks.py").write_text(FOREIGN_TASKS)
    result = subprocess.run([str(installed / "bin" / "pressbot"), "run", "--once"], cwd=newsroom,
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ingested" in result.stdout and "_shipped/examples" in result.stdout
    outbox = newsroom / "pressbot-data" / "outbox"
    posts = {p.stem: p.read_text().splitlines() for p in (outbox / "social").glob("*.jsonl")}
    assert set(posts) == {"x", "mastodon", "bluesky", "telegram"} and all(posts.values())
    (digest,) = (outbox / "email").glob("*.eml")
    assert "reader@example.org" in digest.read_text()


def test_the_procfiles_web_process_answers_from_the_installed_package(installed, tmp_path):
    newsroom = tmp_path / "newsroom"
    newsroom.mkdir()
    (newsroom / "tasks.py").write_text(FOREIGN_TASKS)
    env = _env()
    pressbot = str(installed / "bin" / "pressbot")
    subprocess.run([pressbot, "db", "upgrade"], cwd=newsroom, env=env, check=True, timeout=120)
    subprocess.run([pressbot, "lists", "add", "morning", "--title", "Morning Brief",
                    "--from-email", "news@example.org", "--from-name", "Example News"],
                   cwd=newsroom, env=env, check=True, timeout=120)
    port = free_port()
    log = open(tmp_path / "web.log", "w")
    web = subprocess.Popen([str(installed / "bin" / "uvicorn"), "--factory", "bot.web.app:app_factory",
                            "--host", "127.0.0.1", "--port", str(port)],
                           cwd=newsroom, env=env, stdout=log, stderr=subprocess.STDOUT,
                           process_group=0)
    try:
        health = wait_for(lambda: healthz(port), timeout=60, what=f"the web app ({log.name})")
        assert health["status"] == "ok"
        for path, words in (("/subscribe", "Morning Brief"), ("/admin/login", 'name="password"')):
            page = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)
            assert page.status_code == 200 and words in page.text, path
        assert httpx.get(f"http://127.0.0.1:{port}/static/pressbot.css", timeout=10).status_code == 200
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(30)
        log.close()


def test_celery_dash_a_tasks_finds_pressbots_app_where_no_other_tasks_module_is(installed, tmp_path):
    # The Procfile's `celery -A tasks` goes through the shim; `-A bot.tasks` always works,
    # even beside another `tasks` (the first test runs the worker that way).
    for app, folder in (("tasks", tmp_path / "plain"), ("bot.tasks", tmp_path / "clash")):
        folder.mkdir()
        if app == "bot.tasks":
            (folder / "tasks.py").write_text(FOREIGN_TASKS)
        result = subprocess.run([str(installed / "bin" / "celery"), "-A", app, "report"], cwd=folder,
                                env=_env(), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "task_default_queue: 'pressbot'" in result.stdout, result.stdout

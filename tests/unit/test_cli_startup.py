"""`pressbot --help` and `--version` start without the heavy libraries: settings, the
database, the services and the workers load only in the commands that use them (timings
are in bench/cli_startup.py and bench/README.md, not here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("premailer", "alembic", "sqlalchemy", "celery", "pydantic_settings", "fastapi",
         "trafilatura", "lxml", "tweepy", "atproto", "bot.config", "bot.store.db",
         "bot.services.digests", "bot.services.subscribers")
PROBE = """
import runpy, sys
sys.argv = ["pressbot"] + sys.argv[1:]
try:
    runpy.run_module("bot", run_name="__main__")
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
# A module bot.cli.common.lazy_module registered but nothing used yet is not loaded.
print("LOADED:", *[m for m in %r if m in sys.modules
                   and type(sys.modules[m]).__name__ != "_LazyModule"])
""" % (HEAVY,)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["digest", "--help"],
                                  ["subscribers", "--help"], ["share", "--help"]])
def test_help_and_version_load_no_heavy_library(args):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    (loaded,) = [line for line in result.stdout.splitlines() if line.startswith("LOADED:")]
    assert loaded == "LOADED:", f"pressbot {' '.join(args)} imported {loaded[8:]}"


def test_a_command_still_loads_what_it_needs(tmp_path):
    env_home = tmp_path / "home"
    result = subprocess.run([sys.executable, "-m", "bot", "lists", "list"], capture_output=True,
                            text=True, timeout=120, env={"PRESSBOT_HOME": str(env_home),
                                                         "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (env_home / "pressbot.db").exists()

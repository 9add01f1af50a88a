"""Without Chromium the browser tests skip, saying why, on a developer's machine, and fail
in CI (CI=true), where they must run. Slow: it runs pytest twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run_login_test(tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    environment.update(PRESSBOT_TEST_CHROMIUM=str(tmp_path / "no-chromium"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/browser/test_login.py"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_without_chromium_the_browser_tests_skip_with_the_reason_outside_ci(tmp_path):
    result = _run_login_test(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout and "failed" not in result.stdout
    assert f"{tmp_path / 'no-chromium'} is missing" in result.stdout
    assert "browser tests skipped outside CI" in result.stdout


def test_without_chromium_the_browser_tests_fail_in_ci(tmp_path):
    result = _run_login_test(tmp_path, CI="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CI=true: the browser tests must run" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]

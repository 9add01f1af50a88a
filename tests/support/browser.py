"""Debian's Chromium, driven by Playwright's Python package (no downloaded browser):
headless, a fresh profile per test, no background network chatter.

Playwright waits on the page itself (selectors, navigations, `expect` assertions), so the
browser tests need no sleeps."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CHROMIUM = os.environ.get("PRESSBOT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--disable-dev-shm-usage"]


def in_ci() -> bool:
    """CI (and .ci/run) sets CI=true: there a missing browser is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def browser_missing(reason: str) -> None:
    """Outside CI a machine without Chromium skips the browser tests, saying why; in CI
    they must run, so the same reason fails them loudly."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(f"{reason}; browser tests skipped outside CI (CI=true makes this a failure)")


@pytest.fixture(scope="session")
def _playwright():
    if not os.path.exists(CHROMIUM):
        browser_missing(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                        f"chromium; .ci/run does it) or set PRESSBOT_TEST_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_missing("the playwright package is missing: pip install -e '.[test]'")

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser_context(_playwright):
    """A browser with a profile of its own, closed after the test."""
    profile = tempfile.mkdtemp(prefix="pressbot-chromium-")
    context = _playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context):
    return browser_context.pages[0] if browser_context.pages else browser_context.new_page()

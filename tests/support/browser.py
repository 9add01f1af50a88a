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


@pytest.fixture(scope="session")
def _playwright():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does it: "
                    f"apt-get install chromium)")
    from playwright.sync_api import sync_playwright

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

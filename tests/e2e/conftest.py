"""Browser fixtures: one headless Debian Chromium per test session (per xdist worker), a fresh
context and page per test, and a helper that logs in through the real login page.

Chromium is required: without it every browser test errors at setup (the run fails) with how to
install it, unless DMC_SKIP_E2E=1 is set, in which case they are skipped with the reason.
Nothing is downloaded (no ``playwright install``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
SHOTS_DIR = Path(settings.VAR_DIR)
expect.set_options(timeout=TIMEOUT_MS)


def _no_browser(reason: str) -> None:
    if os.environ.get("DMC_SKIP_E2E") == "1":
        pytest.skip(f"browser tests skipped (DMC_SKIP_E2E=1): {reason}")
    pytest.fail(
        f"{reason}. Install it with `make system-deps` (Debian package chromium), "
        "or set DMC_SKIP_E2E=1 to skip the browser tests.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        _no_browser(f"Chromium not found (looked for `chromium` on PATH and {executable})")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            _no_browser(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    pg = context.new_page()
    # issue 9: every browser test runs under the CSP; a violation (an inline script or style,
    # eval) fails the test
    violations: list[str] = []
    pg.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield pg
    assert violations == [], violations
    # keep a picture of the page a failing test ended on
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and not pg.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        with contextlib.suppress(Error):
            pg.screenshot(path=str(SHOTS_DIR / f"e2e-failed-{name}.png"), full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def browser_login(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the login page (Thai UI); stops wherever the server sends the browser."""
    page.goto(f"{base_url}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="เข้าสู่ระบบ", exact=True).click()

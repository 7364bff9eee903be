"""Debian's chromium driven by Playwright, shared by the admin's browser tests.

Where chromium is absent the browser tests skip with a message, unless CUNWU_REQUIRE_BROWSER=1
(set by .ci/run), where they fail instead: in CI nothing skips silently.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MISSING = f"{CHROMIUM} not installed (apt-get install -y chromium fonts-wqy-zenhei)"

# Mark a browser test module with `pytestmark = needs_chromium`.
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CUNWU_REQUIRE_BROWSER") != "1",
                                    reason=MISSING)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(MISSING + " (CUNWU_REQUIRE_BROWSER=1)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()

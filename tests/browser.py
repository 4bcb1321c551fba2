"""The one way the test suite launches Chromium (a helper module, not a test file).

Playwright cannot download its own browsers here, so tests drive Debian's chromium package
(``apt-get install chromium``, done by ``.ci/run``). Usage::

    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    with sync_playwright() as p:
        browser = launch_chromium(p)
        ...
        browser.close()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's Chromium headless with the shared flags and return the browser.

    Without it the test is skipped (`make test` on a machine without chromium); under
    CI=true a skip fails the run, and `.ci/run` installs it.
    """
    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"{CHROMIUM_PATH} not installed (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=list(CHROMIUM_ARGS))

"""The browser fixtures: a headless Chromium (the system's, installed with apt-get when missing)
driven by Playwright, and a page in it. Helpers the tests import live in helpers.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .helpers import VIEWPORT, find_chromium, install_chromium


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium() or install_chromium()


@pytest.fixture(scope="session")
def browser(chromium_path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            # root in a container: no sandbox; small /dev/shm; nothing reaches for the network
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()

"""Headless Debian Chromium for the tests that look at pages: one that may fetch only from
localhost, and what it asked for."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BUILD = Path(__file__).resolve().parent.parent / "build"


@contextmanager
def localhost_page(viewport: dict[str, int]) -> Iterator[tuple[Page, list[str]]]:
    """A page in headless Debian Chromium that may fetch only from localhost, and the list
    of every URL it asked for."""
    from playwright.sync_api import Route, sync_playwright

    requested: list[str] = []

    def guard(route: Route) -> None:
        requested.append(route.request.url)
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.route("**/*", guard)
            yield page, requested
        finally:
            browser.close()


def outside_localhost(requested: list[str]) -> list[str]:
    return [url for url in requested if urlsplit(url).hostname not in ("127.0.0.1", "localhost")]

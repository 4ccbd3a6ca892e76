"""Swagger UI in a real headless Chromium: it loads with no request leaving localhost, lists
every operation, and "Try it out" makes a real round trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser import BUILD, CHROMIUM, localhost_page, outside_localhost
from harness import Rest

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs Debian's chromium)"
)


def test_swagger_ui_lists_every_operation_and_tries_one(doors: tuple[Rest, object, object]) -> None:
    rest = doors[0]
    with localhost_page({"width": 1280, "height": 2000}) as (page, requested):
        page.goto(rest.base + "/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        paths = page.locator(".opblock .opblock-summary-path").all_inner_texts()
        assert len(paths) == 13, paths
        assert any("/v1/recommend/feed" in path for path in paths)

        health = page.locator(".opblock-get", has_text="/v1/health").first
        health.locator(".opblock-summary").click()
        health.get_by_role("button", name="Try it out").click()
        health.get_by_role("button", name="Execute").click()
        status = health.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip().startswith("200")
        body = health.locator(".live-responses-table tbody").first
        assert "SERVING" in body.inner_text()
        BUILD.mkdir(exist_ok=True)
        page.screenshot(path=str(BUILD / "swagger-ui.png"), full_page=False)
    assert outside_localhost(requested) == []
    assert any(url.endswith("/v1/health") for url in requested), "Try it out called the API"


@pytest.fixture
def walkthrough_server(tmp_path: Path) -> Iterator[Rest]:
    """What `make run` serves: the demo catalog seeded for today, auth off, both doors."""
    import io

    from harness import Served

    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.rest.gateway import RestGateway
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(tmp_path / "aura.db")
    seed_demo(repo, out=io.StringIO())
    repo.close()
    stack = Served(tmp_path / "aura.db")
    gateway = RestGateway(f"127.0.0.1:{stack.server.port}", host="127.0.0.1", port=0)
    gateway.start()
    yield Rest(gateway.port)
    gateway.stop()
    stack.close()


def test_every_pre_filled_try_it_out_succeeds_in_order(walkthrough_server: Rest) -> None:
    """Try it out, then Execute, on every operation as Swagger UI lists them, with the
    bodies and parameters it pre-fills: each answers 2xx."""
    answered: list[tuple[str, str]] = []
    with localhost_page({"width": 1280, "height": 4000}) as (page, requested):
        page.goto(walkthrough_server.base + "/docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        blocks = page.locator(".opblock")
        for index in range(blocks.count()):
            block = blocks.nth(index)
            name = block.locator(".opblock-summary-path").inner_text().strip()
            method = block.locator(".opblock-summary-method").inner_text().strip()
            block.locator(".opblock-summary").click()
            block.get_by_role("button", name="Try it out").click()
            block.get_by_role("button", name="Execute").click()
            status = block.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=30_000)
            answered.append((f"{method} {name}", status.inner_text().strip()))
        BUILD.mkdir(exist_ok=True)
        page.screenshot(path=str(BUILD / "swagger-try-all.png"), full_page=False)
    assert len(answered) == 13, answered
    failed = [(operation, code) for operation, code in answered if not code.startswith("2")]
    assert failed == [], answered
    assert outside_localhost(requested) == []

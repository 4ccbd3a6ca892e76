"""The dashboard in a real headless Chromium, against a server under light load: every
chart fills from /metrics, and nothing is fetched from outside localhost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from aura.v1 import types_pb2
from test_rest import (
    Rest,
    doors,  # noqa: F401 (the fixture)
)
from test_swagger_ui import BUILD, CHROMIUM, localhost_page, outside_localhost

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (make test installs Debian's chromium)"
)


def light_load(stack: object, stop: threading.Event) -> None:
    client = stack.client  # type: ignore[attr-defined]
    users = [f"dash-{n}" for n in range(4)]
    for user in users:
        client.onboard(user)
    turn = 0
    while not stop.is_set():
        user = users[turn % len(users)]
        feed = client.feed(user)
        for item in feed.items[:2]:  # a purchase, greedy or explored, on the first two
            client.reward(user, item.event.event_id, types_pb2.ACTION_PURCHASE, feed.feed_id)
        turn += 1
        stop.wait(0.05)


def test_the_dashboard_fills_its_charts(doors: tuple[Rest, object, object]) -> None:  # noqa: F811
    rest, _, stack = doors
    stop = threading.Event()
    load = threading.Thread(target=light_load, args=(stack, stop), daemon=True)
    load.start()
    try:
        with localhost_page({"width": 1400, "height": 1100}) as (page, requested):
            page.goto(rest.base + "/dashboard")
            for chart in ("rps", "p99", "reward", "curve", "cold"):
                page.wait_for_function(
                    f"Number(document.getElementById('{chart}').dataset.points) > 2",
                    timeout=30_000,
                )
            for bars in ("categories", "neighborhoods"):
                page.wait_for_function(
                    f"Number(document.getElementById('{bars}').dataset.items) > 0",
                    timeout=30_000,
                )
            assert "store up" in page.locator("#store").inner_text()
            assert "cb-" in page.locator("#model").inner_text()
            assert "Feed" in page.locator("#rps-legend").inner_text()
            BUILD.mkdir(exist_ok=True)
            page.screenshot(path=str(BUILD / "dashboard.png"), full_page=True)
    finally:
        stop.set()
        load.join(timeout=10)
    assert outside_localhost(requested) == []
    assert any(url.endswith("/metrics") for url in requested)
    assert Path(BUILD / "dashboard.png").stat().st_size > 10_000

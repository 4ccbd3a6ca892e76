"""The dashboard in a real headless Chromium, against a server under light load: every
chart fills from /metrics on the operators' door, and nothing is fetched from outside
localhost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from aura.v1 import types_pb2
from browser import BUILD, CHROMIUM, localhost_page, outside_localhost
from harness import Rest

from aura_server.rest.admin import AdminDoor

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


def test_the_dashboard_fills_its_charts(doors: tuple[Rest, object, object]) -> None:
    rest, _, stack = doors
    admin = AdminDoor(port=0)
    admin.start()
    stop = threading.Event()
    load = threading.Thread(target=light_load, args=(stack, stop), daemon=True)
    load.start()
    try:
        # The operators' pages are not on the REST door.
        assert rest.call("GET", "/dashboard")[0] == 404
        assert rest.call("GET", "/metrics")[0] == 404
        with localhost_page({"width": 1400, "height": 1100}) as (page, requested):
            page.goto(Rest(admin.port).base + "/dashboard")
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
        admin.stop()
    assert outside_localhost(requested) == []
    assert any(url.endswith("/metrics") for url in requested)
    assert Path(BUILD / "dashboard.png").stat().st_size > 10_000


def test_the_dashboard_shows_what_happened_before_it_was_opened(
    catalog_file: Path, tmp_path: Path
) -> None:
    from harness import Served, copy_of

    stack = Served(copy_of(catalog_file, tmp_path / "aura.db"))
    admin = AdminDoor(port=0, history_interval=0.2)
    admin.start()
    stop = threading.Event()
    load = threading.Thread(target=light_load, args=(stack, stop), daemon=True)
    load.start()
    try:
        stop.wait(3.0)  # traffic while nobody watches
        stop.set()
        load.join(timeout=10)
        samples = Rest(admin.port).call("GET", "/dashboard/history")[2]
        assert len(samples) >= 8 and samples == sorted(samples, key=lambda s: s["t"])
        with localhost_page({"width": 1400, "height": 1100}) as (page, _):
            page.goto(Rest(admin.port).base + "/dashboard")
            # Live polling alone could not have drawn this many points yet.
            page.wait_for_function(
                "Number(document.getElementById('rps').dataset.points) >= 6", timeout=3_000
            )
            assert "Feed" in page.locator("#rps-legend").inner_text()
    finally:
        stop.set()
        admin.stop()
        stack.close()


def test_history_merges_every_workers_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from aura_server.telemetry.history import MetricsHistory

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    old, young = MetricsHistory("0", 1.0), MetricsHistory("1", 1.0)
    now = time.time()
    for seconds_ago in (600, 400, 200):  # only the old worker saw the start
        old.record({"t": now - seconds_ago, "samples": []})
    young.record({"t": now - 5, "samples": []})
    old.record({"t": now - 1200, "samples": []})  # older than 15 minutes: dropped
    times = [round(now - s["t"]) for s in young.samples()]
    assert times == [600, 400, 200, 5]

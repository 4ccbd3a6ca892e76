"""The demo seed and the JSON-lines importer behind `aura catalog`."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from aura_server.catalog_io import import_jsonl, parse_jsonl, seed_demo
from aura_server.cli import main
from aura_server.domain.demo_catalog import demo_events
from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS
from aura_server.store.sqlite import SQLiteRepository


def test_demo_catalog_is_deterministic_and_covers_everything() -> None:
    start = date(2026, 6, 1)
    first = list(demo_events(5000, seed=7, start=start))
    again = list(demo_events(5000, seed=7, start=start))
    assert first == again
    assert len({e.event_id for e in first}) == 5000
    assert {c for e in first for c in e.categories} == set(CATEGORIES)
    assert {e.neighborhood for e in first} == {n.name for n in NEIGHBORHOODS}
    days = {e.starts_at.date() for e in first}
    assert min(days) >= start and max(days) <= start + timedelta(days=15)
    # Times of day follow the category: techno starts late, yoga early.
    techno_hours = Counter(e.starts_at.hour for e in first if e.categories[0] == "Techno")
    wellness_hours = Counter(e.starts_at.hour for e in first if e.categories[0] == "Wellness")
    assert set(techno_hours) <= {2, 3, 4, 5, 6}  # 22:00-01:00 New York, in UTC
    assert min(wellness_hours) >= 11  # 07:00 New York or later
    free = sum(1 for e in first if e.price_min == 0)
    assert 0 < free < 2500


def test_seed_writes_the_catalog_with_progress(tmp_path: Path) -> None:
    repo = SQLiteRepository(tmp_path / "aura.db")
    out = io.StringIO()
    assert seed_demo(repo, count=1200, out=out) == 1200
    assert repo.count_events() == 1200
    assert "1200/1200 (100%)" in out.getvalue()


def good_line(event_id: str) -> str:
    return json.dumps(
        {
            "eventId": event_id,
            "title": "Jazz at Smalls",
            "categories": ["Jazz"],
            "neighborhood": "West Village",
            "starts_at": "2026-06-05T23:30:00Z",
            "price_min": 20,
        }
    )


def test_import_reports_every_bad_line_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        good_line("a"),
        "{not json",
        json.dumps(
            {
                "event_id": "b",
                "title": "x",
                "categories": ["Polka"],
                "city": "Queens",
                "starts_at": "2026-06-05T23:30:00Z",
                "lat": 40.7,
                "lng": -73.9,
            }
        ),
        "",
        json.dumps(
            {
                "event_id": "c",
                "title": "x",
                "categories": ["Jazz"],
                "neighborhood": "SoHo",
                "starts_at": "2026-06-05T23:30:00Z",
                "price_min": 50,
                "price_max": 10,
            }
        ),
    ]
    path.write_text("\n".join(lines) + "\n")
    repo = SQLiteRepository(tmp_path / "aura.db")
    written, errors = import_jsonl(repo, path)
    assert written == 0
    assert [(e.line, e.field) for e in errors] == [
        (2, "json"),
        (3, "categories[0]"),
        (5, "price_max"),
    ]
    assert repo.count_events() == 0


def test_import_writes_valid_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(good_line(str(i)) for i in range(30)))
    repo = SQLiteRepository(tmp_path / "aura.db")
    written, errors = import_jsonl(repo, path, out=io.StringIO())
    assert (written, errors) == (30, [])
    event = repo.get_event("7")
    assert event is not None and event.city == "Manhattan" and event.price_max == 20


def test_parse_accepts_camel_and_snake_case() -> None:
    events, errors = parse_jsonl([good_line("x")])
    assert not errors and events[0].event_id == "x"


def test_cli_import_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURA_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.delenv("MONGODB_URL", raising=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    assert main(["catalog", "import", str(bad)]) == 1
    good = tmp_path / "good.jsonl"
    good.write_text(good_line("z") + "\n")
    assert main(["catalog", "import", str(good)]) == 0
    assert SQLiteRepository(tmp_path / "cli.db").count_events() == 1


def test_cli_import_of_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURA_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.delenv("MONGODB_URL", raising=False)
    assert main(["catalog", "import", str(tmp_path / "nope.jsonl")]) == 1

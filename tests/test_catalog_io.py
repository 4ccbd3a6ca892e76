"""The demo seed and the JSON-lines importer behind `aura catalog`."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aura_server.cli.commands.catalog import import_jsonl, parse_jsonl, seed_demo
from aura_server.cli.commands.demo_catalog import (
    KNOWN_VENUES,
    PERFORMERS,
    STYLES,
    VENUES,
    demo_events,
)
from aura_server.cli.main import main
from aura_server.domain.models import Event
from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS, NEIGHBORHOODS_BY_NAME
from aura_server.store.sqlite import SQLiteRepository


def local_hour(event: Event) -> int:
    return event.starts_at.astimezone(NEW_YORK).hour


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
    # Times of day follow the category: techno starts late (bar the Sunday marathons),
    # yoga early or after work.
    techno = Counter(local_hour(e) for e in first if e.categories[0] == "Techno")
    wellness = Counter(local_hour(e) for e in first if e.categories[0] == "Wellness")
    late = sum(n for hour, n in techno.items() if hour >= 22 or hour < 2)
    assert late >= 0.75 * sum(techno.values())
    assert set(wellness) <= {6, 7, 8, 18, 19, 20}
    free = sum(1 for e in first if e.price_min == 0)
    assert 0 < free < 2500


NEW_YORK = ZoneInfo("America/New_York")


def test_the_seeded_catalog_is_believable() -> None:
    """Over the whole catalog `aura catalog seed-demo` writes: venues stand in their own
    neighborhoods at one place each and host what is on; titles fit their hour and day;
    performers perform what the event is filed as."""
    from aura_server.domain.geo import distance_km

    venues = {v.name: v for hosted in VENUES.values() for v in hosted}
    title_patterns = {
        category: [
            (
                re.compile(
                    re.escape(t.text)
                    .replace(r"\{artist\}", ".+")
                    .replace(r"\{artist2\}", ".+")
                    .replace(r"\{play\}", ".+")
                    .replace(r"\{film\}", ".+")
                    .replace(r"\{hood\}", ".+")
                    + "$"
                ),
                t,
            )
            for t in style.titles
        ]
        for category, style in STYLES.items()
    }
    everyone = {name: category for category, names in PERFORMERS.items() for name in names}
    for event in demo_events(5000, seed=7):
        where = f"{event.event_id} {event.title!r} at {event.venue}"
        venue = venues[event.venue]
        assert venue.neighborhood == event.neighborhood, where
        assert (venue.lat, venue.lng) == (event.lat, event.lng), where
        hood = NEIGHBORHOODS_BY_NAME[event.neighborhood]
        assert distance_km(hood.lat, hood.lng, event.lat, event.lng) < 1.0, where
        kind = event.categories[0]
        assert kind in venue.categories, where
        matched = [t for pattern, t in title_patterns[kind] if pattern.match(event.title)]
        assert matched, where
        local = event.starts_at.astimezone(NEW_YORK)
        assert any(local.hour in t.hours for t in matched), (where, local)
        if all(t.weekdays for t in matched):
            assert any(local.weekday() in t.weekdays for t in matched), (where, local)
        if "Brunch" in event.title:
            assert local.hour <= 13 and local.weekday() >= 5, (where, local)
        if "Midnight" in event.title or "Late Night" in event.title:
            assert local.hour >= 19 or local.hour < 2, (where, local)
        for name, category in everyone.items():
            if name in event.title:
                assert category == kind, (where, f"{name} performs {category}")
        if "late night" in event.tags:
            assert local.hour >= 22 or local.hour < 4, where
    assert all(hood in NEIGHBORHOODS_BY_NAME for _, hood, _ in KNOWN_VENUES)


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

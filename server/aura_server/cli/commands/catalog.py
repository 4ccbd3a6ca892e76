"""Bulk catalog loading for the command line: the demo seed and JSON-lines imports.

Import lines use the API's own JSON form of aura.v1.Event (proto3 JSON: snake_case or
lowerCamelCase names, RFC 3339 times), so a file and an UpsertEvents call mean the same.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aura.v1 import types_pb2
from google.protobuf import json_format

from aura_server.app import open_store
from aura_server.cli.commands.demo_catalog import demo_events
from aura_server.config import Settings
from aura_server.domain.catalog import normalise_event
from aura_server.domain.errors import InvalidArgument
from aura_server.domain.models import Event
from aura_server.grpc_api.constraints import check_request
from aura_server.grpc_api.converters import event_from_proto
from aura_server.store import Repository

BATCH = 1000


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


def _progress(out: TextIO, label: str, done: int, total: int) -> None:
    print(f"\r{label}: {done}/{total} ({100 * done // max(total, 1)}%)", end="", file=out)
    if done >= total:
        print(file=out)


def write_events(repo: Repository, events: list[Event], out: TextIO = sys.stderr) -> None:
    for start in range(0, len(events), BATCH):
        repo.upsert_events(events[start : start + BATCH])
        _progress(out, "writing events", min(start + BATCH, len(events)), len(events))


def seed_demo(repo: Repository, count: int = 5000, seed: int = 7, out: TextIO = sys.stderr) -> int:
    events = [normalise_event(event) for event in demo_events(count, seed)]
    write_events(repo, events, out)
    return len(events)


def parse_jsonl(lines: Iterable[str]) -> tuple[list[Event], list[LineError]]:
    events: list[Event] = []
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        message = types_pb2.Event()
        try:
            json_format.Parse(line, message)
        except json_format.ParseError as exc:
            errors.append(LineError(number, "json", str(exc)))
            continue
        try:
            check_request(message)  # the rules the protos declare, as at the door
            events.append(normalise_event(event_from_proto(message)))
        except InvalidArgument as exc:
            errors.append(LineError(number, exc.field, exc.description))
    return events, errors


def import_jsonl(
    repo: Repository, path: Path, out: TextIO = sys.stderr
) -> tuple[int, list[LineError]]:
    """Validate every line first; write only when all are valid, so a bad file leaves
    the catalog as it was."""
    with path.open(encoding="utf-8") as handle:
        events, errors = parse_jsonl(handle)
    if errors:
        return 0, errors
    seen: dict[str, Event] = {event.event_id: event for event in events}
    repo.upsert_events(list(seen.values()))  # one write: all or nothing
    print(f"imported {len(seen)} events from {path}", file=out)
    return len(seen), []


def catalog_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    repo = open_store(settings)
    try:
        existing = repo.count_events()
        if args.if_empty and existing:
            print(f"catalog has {existing} events; not seeding", file=sys.stderr)
            return 0
        written = seed_demo(repo, count=args.count, seed=args.seed)
        print(f"seeded {written} demo events", file=sys.stderr)
        return 0
    finally:
        repo.close()


def catalog_import(args: argparse.Namespace, settings: Settings) -> int:
    if not Path(args.file).is_file():
        print(f"aura: no such file: {args.file}", file=sys.stderr)
        return 1
    repo = open_store(settings)
    try:
        _, errors = import_jsonl(repo, Path(args.file))
    finally:
        repo.close()
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        print(f"{len(errors)} bad line(s); nothing was imported", file=sys.stderr)
        return 1
    return 0

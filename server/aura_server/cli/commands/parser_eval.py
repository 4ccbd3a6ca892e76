"""`aura eval-parser FILE`: how well a parser reads a labelled set of queries.

Each line of FILE is {"query": ..., "now": optional RFC 3339 time (default
2026-06-05T16:00:00Z, a Friday noon in New York), "expected": {...}}. Expected fields:
categories (a set), excluded_categories (a set: the ones ruled out), price_min,
price_max, time_slot (a TimeSlot name, or a list of acceptable ones), date_from and
date_to (New York dates, YYYY-MM-DD), city, neighborhood, start_hours ([from, to), New
York start hours from a clock time), vibe (keywords that must be among the parsed ones)
and unmatched (the words that must come back unexplained).
A field left out must come back empty, except vibe and unmatched, which are checked only
when given. A query is right when every field is.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aura_server.config import Settings
from aura_server.domain.clock import NEW_YORK
from aura_server.domain.models import as_datetime
from aura_server.domain.search.query import ParsedQuery, QueryParser

DEFAULT_NOW = "2026-06-05T16:00:00Z"
FIELDS = (
    "categories",
    "excluded_categories",
    "price_min",
    "price_max",
    "time_slot",
    "date_from",
    "date_to",
    "city",
    "neighborhood",
    "start_hours",
    "vibe",
    "unmatched",
)


@dataclass(frozen=True)
class Miss:
    query: str
    field: str
    expected: Any
    got: Any


@dataclass
class Report:
    total: int
    right: int
    field_right: Counter[str]
    misses: list[Miss]

    def lines(self) -> list[str]:
        out = [f"{'field':>13}  accuracy"]
        for name in FIELDS:
            out.append(f"{name:>13}  {self.field_right[name] / self.total:7.1%}")
        out.append(
            f"{'whole query':>13}  {self.right / self.total:7.1%} ({self.right}/{self.total})"
        )
        return out


def _local_date(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(NEW_YORK).date().isoformat()


def observed(parsed: ParsedQuery) -> dict[str, Any]:
    return {
        "categories": sorted(parsed.categories),
        "excluded_categories": sorted(parsed.excluded_categories),
        "price_min": parsed.price_min,
        "price_max": parsed.price_max,
        "time_slot": parsed.time_slot.upper() or None,
        "date_from": _local_date(parsed.date_from),
        "date_to": _local_date(parsed.date_to),
        "city": parsed.city or None,
        "neighborhood": parsed.neighborhood or None,
        "start_hours": None
        if parsed.start_hour_from is None
        else [parsed.start_hour_from, parsed.start_hour_to],
        "vibe": sorted(parsed.vibe_keywords),
        "unmatched": sorted(parsed.unmatched_terms),
    }


def field_matches(name: str, expected: dict[str, Any], got: dict[str, Any]) -> bool:
    if name == "vibe":
        return set(expected.get("vibe", [])) <= set(got["vibe"])
    if name == "unmatched":
        return "unmatched" not in expected or sorted(expected["unmatched"]) == got["unmatched"]
    if name in ("categories", "excluded_categories"):
        return bool(sorted(expected.get(name, [])) == got[name])
    want = expected.get(name)
    if name == "time_slot" and isinstance(want, list):
        return bool(got[name] in want)
    if name in ("price_min", "price_max") and want is not None and got[name] is not None:
        return abs(float(want) - float(got[name])) < 1e-9
    return bool(want == got[name])


def evaluate(parser: QueryParser, lines: Iterable[str]) -> Report:
    total = right = 0
    field_right: Counter[str] = Counter()
    misses: list[Miss] = []
    for line in lines:
        if not line.strip():
            continue
        case = json.loads(line)
        now = as_datetime(case.get("now", DEFAULT_NOW).replace("Z", "+00:00"))
        got = observed(parser.parse(case["query"], now))
        expected = case["expected"]
        total += 1
        all_right = True
        for name in FIELDS:
            if field_matches(name, expected, got):
                field_right[name] += 1
            else:
                all_right = False
                misses.append(Miss(case["query"], name, expected.get(name), got[name]))
        right += all_right
    return Report(total, right, field_right, misses)


def eval_parser(args: argparse.Namespace, settings: Settings) -> int:
    from aura_server.domain.search.rules_parser import RulesParser

    rules = RulesParser()
    parser: QueryParser = rules
    if args.parser == "llm":
        from aura_server.domain.search.llm_parser import LLMParser

        if not settings.openai_api_key:
            print("aura: --parser llm needs OPENAI_API_KEY", file=sys.stderr)
            return 2
        parser = LLMParser.from_settings(settings, rules=rules)
    with open(args.file, encoding="utf-8") as handle:
        report = evaluate(parser, handle)
    for miss in report.misses if args.verbose else []:
        print(f"MISS {miss.query!r}: {miss.field} expected {miss.expected!r}, got {miss.got!r}")
    print("\n".join(report.lines()))
    return 0

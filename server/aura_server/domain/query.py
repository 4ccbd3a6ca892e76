"""What a natural-language query asks for, and the parsers that read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# Parts of the day in New York time: [start hour, end hour).
TIME_SLOTS: dict[str, tuple[int, int]] = {
    "morning": (6, 12),
    "afternoon": (12, 17),
    "evening": (17, 22),
    "late_night": (22, 4),
}


def slot_hours(slot: str) -> frozenset[int]:
    start, end = TIME_SLOTS[slot]
    hours = range(start, end) if start < end else [*range(start, 24), *range(0, end)]
    return frozenset(hours)


def slot_of_hour(hour: int) -> str:
    for slot in TIME_SLOTS:
        if hour in slot_hours(slot):
            return slot
    return "morning"  # 04:00-06:00 belongs to no slot; the earliest is the closest


@dataclass
class ParsedQuery:
    categories: list[str] = field(default_factory=list)  # empty means any
    price_min: float | None = None
    price_max: float | None = None  # 0 means free
    time_slot: str = ""  # a TIME_SLOTS key, or "" when the query names none
    date_from: datetime | None = None  # the window asked for, inclusive
    date_to: datetime | None = None
    city: str = ""  # borough
    neighborhood: str = ""
    vibe_keywords: list[str] = field(default_factory=list)
    free_text: str = ""  # what the parse did not explain
    parser: str = "rules"  # which parser produced this: rules, or llm
    # True when the slot only restates the window ("tonight" is an evening window and the
    # evening slot): it then narrows nothing beyond the window itself.
    slot_from_window: bool = False


class QueryParser(Protocol):
    name: str

    def parse(self, query: str, now: datetime) -> ParsedQuery: ...

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
    return hours_between(*TIME_SLOTS[slot])


def hours_between(start: int, end: int) -> frozenset[int]:
    """The hours in [start, end), wrapping past midnight (22 to 4 is 22, 23, 0 ... 3)."""
    if start == end:
        return frozenset(range(24))
    return frozenset(range(start, end) if start < end else [*range(start, 24), *range(end)])


def slot_of_hour(hour: int) -> str:
    for slot in TIME_SLOTS:
        if hour in slot_hours(slot):
            return slot
    return "morning"  # 04:00-06:00 belongs to no slot; the earliest is the closest


@dataclass
class ParsedQuery:
    categories: list[str] = field(default_factory=list)  # empty means any
    excluded_categories: list[str] = field(default_factory=list)  # "anything but techno"
    price_min: float | None = None
    price_max: float | None = None  # 0 means free
    time_slot: str = ""  # a TIME_SLOTS key, or "" when the query names none
    date_from: datetime | None = None  # the window asked for, inclusive
    date_to: datetime | None = None
    city: str = ""  # borough
    neighborhood: str = ""
    vibe_keywords: list[str] = field(default_factory=list)
    free_text: str = ""  # what the parse did not explain
    # Start hours (New York) from a clock time: [from, to), wrapping past midnight.
    start_hour_from: int | None = None
    start_hour_to: int | None = None
    parser: str = "rules"  # which parser produced this: rules, or llm
    # True when the slot only restates the window ("tonight" is an evening window and the
    # evening slot): it then narrows nothing beyond the window itself.
    slot_from_window: bool = False

    @property
    def unmatched_terms(self) -> list[str]:
        """The words nothing explained: the results do not reflect them."""
        return self.free_text.split()


class QueryParser(Protocol):
    name: str

    def parse(self, query: str, now: datetime) -> ParsedQuery: ...

"""The domain's one clock.

Everything in the service asks `utcnow()` for the time, never `datetime.now`, so a simulation
can hold the whole service at one moment (`held_at`) and replay exactly. On the wall clock, a
run a few seconds later sees events start, time features move and trends decay differently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

# The city's time: relative days, hours of the week and the demo catalog are read in it.
NEW_YORK = ZoneInfo("America/New_York")

_now: Callable[[], datetime] = partial(datetime.now, UTC)


def utcnow() -> datetime:
    """Now, in UTC: the wall clock, or the moment the clock is held at."""
    return _now()


@contextmanager
def held_at(moment: datetime) -> Iterator[None]:
    """Every `utcnow()` in this process answers `moment` until the block ends. For
    simulations in one process (scripts/simlib.py), never for a serving process: the
    waits that need time to pass (the reward wait, trend refreshes) run on the monotonic
    clock or stop at `moment`."""
    global _now
    if moment.tzinfo is None:
        raise ValueError("held_at needs an aware datetime")
    held = moment.astimezone(UTC)

    def answer_held() -> datetime:
        return held

    before, _now = _now, answer_held
    try:
        yield
    finally:
        _now = before

"""The domain's one clock can be held at a moment (simulations replay exactly with it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aura_server.cli.commands.demo_catalog import demo_events
from aura_server.domain.clock import held_at, utcnow


def test_a_held_clock_answers_its_moment_until_released() -> None:
    moment = datetime(2026, 12, 4, 17, 10, tzinfo=timezone(timedelta(hours=-5)))
    with held_at(moment):
        assert utcnow() == moment and utcnow().tzinfo == UTC
        first_event = next(demo_events(count=1))
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 5
    # The demo catalog starts on the held day in New York, not today.
    assert first_event.starts_at.date() >= moment.date()
    assert first_event.starts_at < moment + timedelta(days=15)


def test_a_clock_is_not_held_at_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"), held_at(datetime(2026, 12, 4)):
        pass

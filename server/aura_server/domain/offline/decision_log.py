"""The joined decision log: every feed slot served, with the reward it earned.

Impressions are read from the store oldest first, a page at a time, and joined with the
behaviors on the same item: those naming the impression's feed_id, and those naming none
that the learner would join to it (the user's newest impression of that event within the
reward window before the behavior). Views only say the item was seen; a slot's reward is
its best positive reward, else its worst negative one, else 0 (the default the learner
gives a viewed item nobody acted on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from aura_server.domain.models import Behavior, Impression, ImpressionItem
from aura_server.domain.repository import LogPosition, Repository

PAGE = 1000
# Impressions are joined a day's worth at a time: behaviors are read for that day plus the
# reward window after it.
CHUNK = timedelta(days=1)
NOT_REWARDS = ("view", "search")
Record = TypeVar("Record")


@dataclass(frozen=True)
class Decision:
    impression: Impression
    rewards: tuple[float, ...]  # per item, in slot order
    acted: tuple[bool, ...]  # whether any behavior other than a view answered the slot

    @property
    def items(self) -> list[ImpressionItem]:
        return self.impression.items


def slot_reward(values: list[float]) -> float:
    positive = [v for v in values if v > 0]
    if positive:
        return max(positive)
    return min(values) if values else 0.0


def _pages(
    read: Callable[[datetime, datetime, LogPosition | None, int], list[Record]],
    position: Callable[[Record], LogPosition],
    since: datetime,
    until: datetime,
) -> Iterator[Record]:
    """Every record of a time-ordered store log in [since, until), a page at a time."""
    after: LogPosition | None = None
    while True:
        page = read(since, until, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = position(page[-1])


def _impressions(repo: Repository, since: datetime, until: datetime) -> Iterator[Impression]:
    return _pages(
        repo.impressions_page, lambda i: LogPosition(i.created_at, i.feed_id), since, until
    )


def _behaviors(repo: Repository, since: datetime, until: datetime) -> Iterator[Behavior]:
    return _pages(
        repo.behaviors_page, lambda b: LogPosition(b.occurred_at, b.behavior_id), since, until
    )


def decisions(
    repo: Repository,
    since: datetime,
    until: datetime,
    reward_window: timedelta = timedelta(hours=24),
    kind: str = "feed",
) -> Iterator[Decision]:
    """Feeds (or another impression kind) served in [since, until), with their rewards."""
    start = since
    while start < until:
        end = min(start + CHUNK, until)
        chunk = [i for i in _impressions(repo, start, end) if i.kind == kind]
        if chunk:
            yield from _join(repo, chunk, end + reward_window, reward_window)
        start = end


def _join(
    repo: Repository, chunk: list[Impression], read_until: datetime, window: timedelta
) -> Iterator[Decision]:
    by_feed = {impression.feed_id: impression for impression in chunk}
    shown: dict[tuple[str, str], list[Impression]] = {}
    for impression in chunk:  # oldest first
        for item in impression.items:
            shown.setdefault((impression.user_id, item.event_id), []).append(impression)
    answers: dict[tuple[str, str], list[float]] = {}
    acted: set[tuple[str, str]] = set()
    for behavior in _behaviors(repo, chunk[0].created_at, read_until):
        if behavior.action in NOT_REWARDS or not behavior.event_id:
            continue
        target = by_feed.get(behavior.feed_id) if behavior.feed_id else None
        if target is None and not behavior.feed_id:
            earlier = [
                i
                for i in shown.get((behavior.user_id, behavior.event_id), [])
                if i.created_at <= behavior.occurred_at <= i.created_at + window
            ]
            target = earlier[-1] if earlier else None
        if target is None or target.user_id != behavior.user_id:
            continue
        key = (target.feed_id, behavior.event_id)
        answers.setdefault(key, []).append(behavior.reward or 0.0)
        acted.add(key)
    for impression in chunk:
        keys = [(impression.feed_id, item.event_id) for item in impression.items]
        yield Decision(
            impression,
            tuple(slot_reward(answers.get(key, [])) for key in keys),
            tuple(key in acted for key in keys),
        )

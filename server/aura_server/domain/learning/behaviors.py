"""The learning flow: behaviors and rewards are stored durably, then change the profile."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.clock import utcnow
from aura_server.domain.errors import InvalidArgument, NotFound, StoreUnavailable
from aura_server.domain.geo import distance_km
from aura_server.domain.learning.actions import ACTIONS, action_reward, engagement_weight
from aura_server.domain.learning.loop import LearningLoop
from aura_server.domain.learning.profiles import (
    ProfileService,
    count_behavior,
    learn_from,
)
from aura_server.domain.learning.trends import EngagementTrends
from aura_server.domain.models import Behavior, Event, Impression, UserProfile
from aura_server.domain.repository import Repository
from aura_server.telemetry.metrics import metrics

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class LogResult:
    behavior_id: str
    duplicate: bool


@dataclass(frozen=True)
class RewardResult:
    behavior_id: str
    reward: float
    applied: bool
    duplicate: bool
    profile: UserProfile


class BehaviorService:
    """Stores behaviors and rewards, then updates everything that learns from them: the
    profile, the event's popularity, the trends and the bandit, before answering."""

    def __init__(
        self,
        repo: Repository,
        profiles: ProfileService,
        index: CatalogIndex,
        trends: EngagementTrends,
        learning: LearningLoop,
    ) -> None:
        self.repo = repo
        self.profiles = profiles
        self.index = index
        self.trends = trends
        self.learning = learning

    def _bracket(self, user_id: str) -> str:
        return self.profiles.age_bracket(user_id)

    def _event(self, event_id: str) -> Event:
        """The event, from the catalog index when it holds it (active events), else from
        the store (a cancelled one, or one another process wrote a moment ago)."""
        event = self.index.event(event_id) or self.repo.get_event(event_id)
        if event is None:
            raise NotFound("event_id", f"no event {event_id!r}")
        return event

    def log(
        self,
        user_id: str,
        action: str,
        event_id: str = "",
        query: str = "",
        feed_id: str = "",
        position: int | None = None,
        behavior_id: str = "",
        occurred_at: datetime | None = None,
    ) -> LogResult:
        # The request's own rules (ids, the query a search needs, position, the time's
        # bounds) are the protos', checked at the door (grpc_api/constraints.py).
        if action not in ACTIONS:
            raise InvalidArgument("action", f"must be one of {', '.join(ACTIONS)}")
        event: Event | None = None
        if action != "search" or event_id:
            event = self._event(event_id)
        now = utcnow()
        if occurred_at is not None and occurred_at > now + MAX_CLOCK_SKEW:
            raise InvalidArgument("occurred_at", "must not be in the future")
        behavior = Behavior(
            behavior_id=behavior_id or uuid.uuid4().hex,
            user_id=user_id,
            action=action,
            occurred_at=occurred_at or now,
            event_id=event.event_id if event else "",
            query=query.strip(),
            feed_id=feed_id.strip(),
            position=position,
            reward=action_reward(action),
            age_bracket=self._bracket(user_id),
        )
        stored = self._insert(behavior, event, behavior.reward or 0.0, submitted=False)
        return LogResult(behavior.behavior_id, duplicate=stored is None)

    def _insert(
        self, behavior: Behavior, event: Event | None, reward: float, submitted: bool
    ) -> UserProfile | None:
        """Write a new behavior and its profile change; None when it was stored before.

        The behavior, its profile update, the event's popularity and the learner's example
        commit together (on the embedded store, in the next group commit): a crash or a
        store error between them cannot keep one without the others, and the client's
        retry with the same behavior_id redoes all."""
        impression = self._impression(behavior, event)
        rows = _NewBehaviorRows(self, behavior, event, impression, reward)
        change = self._change(behavior, event, reward, True, impression)
        profile = self.profiles.update(behavior.user_id, change, along=rows)
        if profile is not None:
            self._stored(behavior, event, reward, submitted=submitted, taught=rows.taught)
        return profile

    def reward(
        self,
        user_id: str,
        event_id: str,
        action: str,
        reward: float | None = None,
        feed_id: str = "",
        behavior_id: str = "",
    ) -> RewardResult:
        """Record a reward on its behavior (creating one if none) exactly once.

        The profile reflects each behavior's final reward once: when the behavior was
        logged before (and its action's reward applied then), only the difference
        between the two rewards is applied now."""
        value = _reward_value(action, reward)
        event = self._event(event_id)
        feed_id = feed_id.strip()
        stored = self._matching_behavior(user_id, event.event_id, action, feed_id, behavior_id)
        if stored is None:
            created = Behavior(
                behavior_id=behavior_id.strip() or uuid.uuid4().hex,
                user_id=user_id,
                action=action,
                occurred_at=utcnow(),
                event_id=event.event_id,
                feed_id=feed_id,
                reward=value,
                rewarded=True,
                age_bracket=self._bracket(user_id),
            )
            profile = self._insert(created, event, value, submitted=True)
            if profile is not None:
                return RewardResult(created.behavior_id, value, True, False, profile)
            stored = self.repo.get_behavior(created.behavior_id)  # lost a race to a twin
            if stored is None:
                raise StoreUnavailable("the behavior a concurrent call stored is not readable")
        if not stored.feed_id and feed_id:
            stored.feed_id = feed_id
        return self._reward_stored(stored, event, value)

    def _reward_stored(self, stored: Behavior, event: Event, value: float) -> RewardResult:
        """The reward on a behavior stored before, once: a repeat is a duplicate."""
        impression = self._impression(stored, event, at=utcnow())
        rows = _RewardRows(self, stored, event, impression, value)
        already_applied = stored.reward or 0.0
        change = self._change(stored, event, value - already_applied, False, impression)
        rewarded = self.profiles.update(stored.user_id, change, along=rows)
        if rewarded is None:
            recorded = self.repo.get_behavior(stored.behavior_id)
            final = recorded.reward if recorded and recorded.reward is not None else value
            profile = self.profiles.get(stored.user_id)
            return RewardResult(stored.behavior_id, final, False, True, profile)
        self._stored(stored, event, value, submitted=True, taught=rows.taught, new_behavior=False)
        return RewardResult(stored.behavior_id, value, True, False, rewarded)

    def _matching_behavior(
        self, user_id: str, event_id: str, action: str, feed_id: str, behavior_id: str
    ) -> Behavior | None:
        if behavior_id:
            stored = self.repo.get_behavior(behavior_id)
            if stored is not None and (stored.user_id, stored.event_id) != (user_id, event_id):
                raise InvalidArgument(
                    "behavior_id", "belongs to another user or event than the one named"
                )
            return stored
        return self.repo.latest_behavior(user_id, event_id, action, feed_id)

    def _impression(
        self, behavior: Behavior, event: Event | None, at: datetime | None = None
    ) -> Impression | None:
        """The logged impression a behavior answers (where the user asked from, and what
        the learner is taught against), or None."""
        if event is None:
            return None
        return self.learning.join(
            behavior.user_id, event.event_id, behavior.feed_id, at or behavior.occurred_at
        )

    def _change(
        self,
        behavior: Behavior,
        event: Event | None,
        reward: float,
        new_behavior: bool,
        impression: Impression | None,
    ) -> Callable[[UserProfile], None]:
        """What a stored behavior's reward does to the profile (profiles.py's table)."""

        def change(profile: UserProfile) -> None:
            if new_behavior:
                count_behavior(profile, behavior.action)
            if event is not None:
                learn_from(
                    profile,
                    event,
                    behavior.action,
                    reward,
                    self.profiles.half_life,
                    shown_at=_position_in(impression, event),
                    distance_km=_distance_from_asker(profile, impression, event),
                    new_behavior=new_behavior,
                    feed_id=impression.feed_id if impression is not None else "",
                )

        return change

    def _add_popularity(self, behavior: Behavior, event: Event | None) -> None:
        """The store's part of a new behavior's engagement (the event's popularity)."""
        weight = engagement_weight(behavior.action)
        if event is not None and weight:
            self.repo.add_popularity(event.event_id, weight)

    def _teach(
        self,
        behavior: Behavior,
        event: Event | None,
        key: str | None,
        impression: Impression | None,
        reward: float,
    ) -> bool:
        """The learner's part of the write: claim the example once (`key`; None for a
        behavior stored in this very write: its example is new) and append it to the
        learning log (the learner thread learns it once it is committed: `_stored`). True
        when an example was appended."""
        if event is None:
            return False
        return self.learning.observe(
            key,
            impression,
            behavior.user_id,
            event.event_id,
            behavior.action,
            reward,
            behavior.occurred_at,
        )

    def _stored(
        self,
        behavior: Behavior,
        event: Event | None,
        value: float,
        submitted: bool,
        taught: bool,
        new_behavior: bool = True,
    ) -> None:
        """After the commit: this process's copy of the event's popularity and the trends
        take in a new behavior's engagement, the learner thread learns what was appended
        (off the answer path), and the metrics count it."""
        weight = engagement_weight(behavior.action)
        if event is not None and weight and new_behavior:
            self.index.add_popularity(event.event_id, weight)
            self.trends.record(
                event.event_id, behavior.age_bracket, behavior.action, behavior.occurred_at
            )
        if taught:
            self.learning.notify()
        recorded = metrics()
        (recorded.rewards if submitted else recorded.behaviors).labels(behavior.action).inc()
        if event is not None and value > (action_reward("view") or 0.0):
            for category in event.categories:
                recorded.engaged_categories.labels(category).inc()
            if event.neighborhood:
                recorded.engaged_neighborhoods.labels(event.neighborhood).inc()


def _position_in(impression: Impression | None, event: Event) -> int | None:
    if impression is None:
        return None
    for item in impression.items:
        if item.event_id == event.event_id:
            return item.position
    return None


def _distance_from_asker(
    profile: UserProfile, impression: Impression | None, event: Event
) -> float | None:
    """How far the event was from where the user asked: the feed's coordinates, else the
    user's home, else unknown."""
    if impression is not None and "lat" in impression.context:
        lat, lng = float(impression.context["lat"]), float(impression.context["lng"])
    elif profile.home_lat is not None and profile.home_lng is not None:
        lat, lng = profile.home_lat, profile.home_lng
    else:
        return None
    return distance_km(lat, lng, event.lat, event.lng)


def _reward_value(action: str, explicit: float | None) -> float:
    """The reward a SubmitReward records: the explicit one, else its action's."""
    value = action_reward(action) if action in ACTIONS else None
    if value is None:  # an unknown action, or a search (which carries no reward)
        allowed = ", ".join(a for a in ACTIONS if a != "search")
        raise InvalidArgument("action", f"must be one of {allowed}")
    return value if explicit is None else explicit


@dataclass
class _NewBehaviorRows:
    """The rows a new behavior writes inside its profile's write; `taught` tells whether
    the learner got an example from it."""

    service: BehaviorService
    behavior: Behavior
    event: Event | None
    impression: Impression | None
    reward: float
    taught: bool = False

    def __call__(self) -> bool:
        if not self.service.repo.insert_behavior(self.behavior):
            return False  # a retry of a stored behavior: nothing is written
        self.service._add_popularity(self.behavior, self.event)
        self.taught = self.service._teach(
            self.behavior, self.event, None, self.impression, self.reward
        )
        return True


@dataclass
class _RewardRows:
    """The rows a reward on a stored behavior writes inside its profile's write."""

    service: BehaviorService
    behavior: Behavior
    event: Event
    impression: Impression | None
    reward: float
    taught: bool = False

    def __call__(self) -> bool:
        if not self.service.repo.record_reward(self.behavior.behavior_id, self.reward):
            return False  # rewarded before: a duplicate
        key = f"reward:{self.behavior.behavior_id}:submitted"
        self.taught = self.service._teach(
            self.behavior, self.event, key, self.impression, self.reward
        )
        return True

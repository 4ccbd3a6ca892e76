"""The learning flow: behaviors and rewards are stored durably, then change the profile."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.errors import InvalidArgument, NotFound
from aura_server.domain.learning import LearningLoop
from aura_server.domain.models import Behavior, Event, UserProfile, utcnow
from aura_server.domain.profiles import (
    ACTION_REWARD,
    ACTIONS,
    ProfileService,
    adjust_categories,
    apply_reward,
    count_behavior,
)
from aura_server.domain.taxonomy import age_bracket
from aura_server.domain.trends import ENGAGEMENT_WEIGHT, EngagementTrends
from aura_server.domain.validation import MAX_ID_LENGTH, check_moment, require_id
from aura_server.store.base import Repository
from aura_server.telemetry.metrics import metrics

MAX_QUERY_LENGTH = 500
MAX_POSITION = 10_000
SEARCH_CATEGORY_REWARD = 0.2
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
        profile = self.repo.get_user(user_id)
        return age_bracket(profile.age) if profile is not None else ""

    def _event(self, event_id: str) -> Event:
        event_id = require_id("event_id", event_id)
        event = self.repo.get_event(event_id)
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
        user_id = require_id("user_id", user_id)
        if action not in ACTIONS:
            raise InvalidArgument("action", f"must be one of {', '.join(ACTIONS)}")
        event: Event | None = None
        if action == "search":
            if not query.strip():
                raise InvalidArgument("query", "is required for a search")
            if len(query) > MAX_QUERY_LENGTH:
                raise InvalidArgument("query", f"must be at most {MAX_QUERY_LENGTH} characters")
            if event_id:
                event = self._event(event_id)
        else:
            event = self._event(event_id)
        if position is not None and not 0 <= position <= MAX_POSITION:
            raise InvalidArgument("position", f"must be between 0 and {MAX_POSITION}")
        if len(feed_id) > MAX_ID_LENGTH:
            raise InvalidArgument("feed_id", f"must be at most {MAX_ID_LENGTH} characters")
        now = utcnow()
        check_moment("occurred_at", occurred_at)
        if occurred_at is not None and occurred_at > now + MAX_CLOCK_SKEW:
            raise InvalidArgument("occurred_at", "must not be in the future")
        behavior = Behavior(
            behavior_id=require_id("behavior_id", behavior_id) if behavior_id else uuid.uuid4().hex,
            user_id=user_id,
            action=action,
            occurred_at=occurred_at or now,
            event_id=event.event_id if event else "",
            query=query.strip(),
            feed_id=feed_id.strip(),
            position=position,
            reward=ACTION_REWARD.get(action),
            age_bracket=self._bracket(user_id),
        )
        # The behavior, its profile update and the event's popularity commit together (on
        # the embedded store): a crash or a store error between them cannot keep one
        # without the others, and the client's retry with the same behavior_id redoes all.
        with self.repo.atomic():
            if not self.repo.insert_behavior(behavior):
                return LogResult(behavior.behavior_id, duplicate=True)
            self._learn(behavior, event, behavior.reward or 0.0, new_behavior=True)
        _count_engagement(action, event, behavior.reward or 0.0)
        if event is not None:
            self.learning.observe(
                f"reward:{behavior.behavior_id}",
                user_id,
                event.event_id,
                action,
                behavior.feed_id,
                behavior.reward or 0.0,
                behavior.occurred_at,
            )
        return LogResult(behavior.behavior_id, duplicate=False)

    def log_search(self, user_id: str, query: str, categories: list[str]) -> LogResult:
        """A natural-language search, logged as a search behavior; the categories it names
        are a light preference signal (SEARCH_CATEGORY_REWARD, a fifth of a purchase's)."""
        result = self.log(user_id, "search", query=query[:MAX_QUERY_LENGTH])
        if categories and not result.duplicate:
            self.profiles.update(
                user_id, lambda p: adjust_categories(p, categories, SEARCH_CATEGORY_REWARD)
            )
        return result

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
        user_id = require_id("user_id", user_id)
        if action not in ACTIONS or action == "search":
            allowed = ", ".join(a for a in ACTIONS if a != "search")
            raise InvalidArgument("action", f"must be one of {allowed}")
        if reward is not None and (not math.isfinite(reward) or not -1.0 <= reward <= 1.0):
            raise InvalidArgument("reward", "must be between -1 and 1")
        value = ACTION_REWARD[action] if reward is None else reward
        event = self._event(event_id)
        feed_id = feed_id.strip()
        if len(feed_id) > MAX_ID_LENGTH:
            raise InvalidArgument("feed_id", f"must be at most {MAX_ID_LENGTH} characters")
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
            with self.repo.atomic():
                inserted = self.repo.insert_behavior(created)
                if inserted:
                    profile = self._learn(created, event, value, new_behavior=True)
            if inserted:
                _count_engagement(action, event, value, reward=True)
                self.learning.observe(
                    f"reward:{created.behavior_id}",
                    user_id,
                    event.event_id,
                    action,
                    feed_id,
                    value,
                    created.occurred_at,
                )
                return RewardResult(created.behavior_id, value, True, False, profile)
            stored = self.repo.get_behavior(created.behavior_id)  # lost a race to a twin
            assert stored is not None
        with self.repo.atomic():
            recorded_now = self.repo.record_reward(stored.behavior_id, value)
            if recorded_now:
                already_applied = stored.reward or 0.0
                profile = self._learn(stored, event, value - already_applied, new_behavior=False)
        if not recorded_now:
            recorded = self.repo.get_behavior(stored.behavior_id)
            final = recorded.reward if recorded and recorded.reward is not None else value
            return RewardResult(stored.behavior_id, final, False, True, self.profiles.get(user_id))
        _count_engagement(action, event, value, reward=True)
        self.learning.observe(
            f"reward:{stored.behavior_id}:submitted",
            user_id,
            event.event_id,
            action,
            stored.feed_id or feed_id,
            value,
            utcnow(),
        )
        return RewardResult(stored.behavior_id, value, True, False, profile)

    def _matching_behavior(
        self, user_id: str, event_id: str, action: str, feed_id: str, behavior_id: str
    ) -> Behavior | None:
        if behavior_id:
            behavior_id = require_id("behavior_id", behavior_id)
            stored = self.repo.get_behavior(behavior_id)
            if stored is not None and (stored.user_id, stored.event_id) != (user_id, event_id):
                raise InvalidArgument(
                    "behavior_id", "belongs to another user or event than the one named"
                )
            return stored
        return self.repo.latest_behavior(user_id, event_id, action, feed_id)

    def _learn(
        self, behavior: Behavior, event: Event | None, reward: float, new_behavior: bool
    ) -> UserProfile:
        """Apply a stored behavior's reward to the profile, the event's popularity and the
        trends."""

        def change(profile: UserProfile) -> None:
            if new_behavior:
                count_behavior(profile, behavior.action)
            if event is not None and reward:
                apply_reward(profile, event, reward)

        profile = self.profiles.update(behavior.user_id, change)
        weight = ENGAGEMENT_WEIGHT.get(behavior.action, 0.0) if new_behavior else 0.0
        if event is not None and weight:
            self.repo.add_popularity(event.event_id, weight)
            self.index.add_popularity(event.event_id, weight)
            self.trends.record(
                event.event_id, behavior.age_bracket, behavior.action, behavior.occurred_at
            )
        return profile


def _count_engagement(action: str, event: Event | None, value: float, reward: bool = False) -> None:
    """Metrics of a stored behavior (or reward): what engaged people, by category and
    neighborhood, counts behaviors worth more than a view."""
    recorded = metrics()
    (recorded.rewards if reward else recorded.behaviors).labels(action).inc()
    if event is not None and value > ACTION_REWARD["view"]:
        for category in event.categories:
            recorded.engaged_categories.labels(category).inc()
        if event.neighborhood:
            recorded.engaged_neighborhoods.labels(event.neighborhood).inc()

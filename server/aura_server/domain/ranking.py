"""Ranking: the interface, the cold-start blend and the learned ranker behind it.

Users with fewer than 3 behaviors get the cold-start blend of four signals, each scaled to
[0, 1] over the candidates (weights configurable; defaults from the original design):

- popular_nearby (0.40): time-decayed engagement of the event (plus a little of its
  all-time popularity), weighted by distance (halved about every 3.5 km);
- age_trending (0.25): time-decayed engagement from users of the same age bracket;
- intent_match (0.20): the intent's categories (1) or tags (0.5) from taxonomy.INTENT_MAP,
  or the user's stated favourite categories, whichever is higher;
- happening_soon (0.15): half how soon it starts (halved about every 33 h), half how much
  the bracket engages with events at that hour of the week.

Everyone else gets the learned ranking: a cheap preference prior (below) keeps the best
`candidate_pool` candidates, and the contextual bandit's reward estimate is added to it.

    prior = 0.40 category + 0.20 price_fit + 0.20 proximity + 0.20 popularity

category is the profile's best net preference (score - aversion) among the event's
categories; price_fit is 1 inside the
sweet spot and decays with the dollar gap relative to the average price paid (0.5 without
price history); proximity is 1 - distance/radius; popularity is log-scaled against the
candidates' highest. The slate is then filled slot by slot with exploration (slate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from aura_server.domain.bandit import ContextualBandit
from aura_server.domain.catalog_index import Candidates, FloatArray, IntArray
from aura_server.domain.features import action_features, event_traits, shared_features
from aura_server.domain.models import COLD_START_BEHAVIORS, Event, UserProfile
from aura_server.domain.slate import SlatePolicy, fill_slate
from aura_server.domain.taxonomy import CATEGORIES, CATEGORY_CODES, age_bracket
from aura_server.domain.trends import HOURS_OF_WEEK, EngagementTrends, TrendView


@dataclass(frozen=True)
class RankingContext:
    profile: UserProfile | None  # None for users never seen
    lat: float
    lng: float
    radius_km: float
    now: datetime
    feed_id: str


@dataclass(frozen=True)
class RankedItem:
    event: Event
    score: float
    reason: str
    explored: bool = False
    propensity: float = 1.0
    features: str = ""  # the learner's action features, logged with the impression


@dataclass(frozen=True)
class Ranking:
    items: list[RankedItem]
    cold_start: bool
    model_version: str
    shared_features: str = ""


class Ranker(Protocol):
    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> Ranking:
        """The `limit` items to show for the context, in order."""
        ...


COLD_START_SIGNALS = ("popular_nearby", "age_trending", "intent_match", "happening_soon")
PRIOR_WEIGHTS = {"category": 0.40, "price_fit": 0.20, "proximity": 0.20, "popularity": 0.20}
# How much of an event's all-time popularity counts as recent engagement.
POPULARITY_PRIOR = 0.1
NEARBY_KM = 5.0
POOL_SEARCH_FACTOR = 50
SOON_HOURS = 48.0


@dataclass(frozen=True)
class RankingSettings:
    cold_start_weights: tuple[float, float, float, float] = (0.40, 0.25, 0.20, 0.15)
    candidate_pool: int = 120
    pool_per_category: int = 3
    slate: SlatePolicy = field(default_factory=SlatePolicy)


def scaled(values: FloatArray) -> FloatArray:
    """Divide by the largest value, so the top candidate scores 1 (all zeros stay zeros)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def category_affinity(profile: UserProfile | None, matrix: npt.NDArray[np.bool_]) -> FloatArray:
    """Per candidate (rows of a category matrix), the user's best net preference (score -
    aversion, in [-1, 1]) among its categories; 0 for categories with no history."""
    preferences = profile.category_preferences() if profile is not None else {}
    if not any(preferences.values()):
        return np.zeros(len(matrix), dtype=np.float64)
    by_code = np.zeros(len(CATEGORIES))
    for category, value in preferences.items():
        if category in CATEGORY_CODES:
            by_code[CATEGORY_CODES[category]] = value
    # The best over each event's categories (every event has at least one).
    best: FloatArray = np.where(matrix, by_code, -np.inf).max(axis=1)
    return best


def price_fit(profile: UserProfile | None, prices: FloatArray) -> FloatArray:
    if profile is None or profile.price_range is None:
        return np.full(len(prices), 0.5)
    band = profile.price_range
    gap = np.maximum(band.sweet_spot_min - prices, 0) + np.maximum(prices - band.sweet_spot_max, 0)
    fit = np.exp(-gap / max(band.avg, 10.0))
    return np.where(np.isnan(prices), 0.5, fit)


def preference_prior(context: RankingContext, candidates: Candidates) -> FloatArray:
    snap, rows = candidates.snapshot, candidates.rows
    return (
        PRIOR_WEIGHTS["category"] * category_affinity(context.profile, snap.category_matrix[rows])
        + PRIOR_WEIGHTS["price_fit"] * price_fit(context.profile, snap.price_min[rows])
        + PRIOR_WEIGHTS["proximity"] * np.clip(1 - candidates.distance_km / context.radius_km, 0, 1)
        + PRIOR_WEIGHTS["popularity"] * scaled(np.log1p(np.maximum(snap.popularity[rows], 0)))
    )


def cold_start_signals(
    context: RankingContext, candidates: Candidates, trends: TrendView
) -> FloatArray:
    """The four blend signals, one row each (in COLD_START_SIGNALS order)."""
    snap, rows = candidates.snapshot, candidates.rows
    profile = context.profile
    bracket = age_bracket(profile.age) if profile is not None else ""
    engagement = trends.overall[rows] + POPULARITY_PRIOR * np.maximum(snap.popularity[rows], 0)
    nearness = np.exp(-candidates.distance_km / NEARBY_KM)
    popular_nearby = scaled(scaled(np.log1p(engagement)) * nearness)
    if bracket:
        age_trending = scaled(np.log1p(trends.by_bracket[bracket][rows]))
        hours = trends.bracket_hours[bracket]
        # Smooth over neighbouring hours: a 22:00 crowd likes 21:00 and 23:00 too.
        smoothed = hours + 0.5 * (np.roll(hours, 1) + np.roll(hours, -1))
        pattern = scaled(smoothed)[snap.start_hour_of_week[rows] % HOURS_OF_WEEK]
    else:
        age_trending = np.zeros(len(rows))
        pattern = np.zeros(len(rows))
    intent = (
        snap.intent_match[profile.intent][rows]
        if profile is not None and profile.intent in snap.intent_match
        else np.zeros(len(rows))
    )
    intent = np.maximum(intent, category_affinity(profile, snap.category_matrix[rows]))
    hours_until = np.maximum((snap.starts_at[rows] - context.now.timestamp()) / 3600, 0)
    soon = np.exp(-hours_until / SOON_HOURS)
    happening_soon = 0.5 * soon + 0.5 * pattern if pattern.any() else soon
    return np.stack([popular_nearby, age_trending, intent, happening_soon])


def category_caps(profile: UserProfile | None, policy: SlatePolicy) -> IntArray:
    """Per category, how many of any `window` consecutive slots it may fill: the policy's
    limit, raised for the categories a user has shown they love (a score of 0.8 allows 8
    of 10), so variety never buries someone's taste."""
    caps = np.full(len(CATEGORIES), policy.max_per_category, dtype=np.int64)
    if profile is not None:
        for category, score in profile.categories.items():
            code = CATEGORY_CODES.get(category)
            if code is not None:
                caps[code] = max(caps[code], int(policy.window * score))
    return caps


def _top(scores: FloatArray, among: IntArray, count: int) -> IntArray:
    """The `count` best of `among` by score (unordered), without sorting them all."""
    if len(among) <= count:
        return among
    return among[np.argpartition(-scores[among], count)[:count]]


def candidate_pool(scores: FloatArray, masks: IntArray, settings: RankingSettings) -> IntArray:
    """The candidates the learner scores, best first: the best `candidate_pool` by score,
    and the best `pool_per_category` of every category among the best
    POOL_SEARCH_FACTOR x `candidate_pool` (all of a small catalog), so exploration can reach
    tastes the score has not learned yet without a pass over a huge catalog per category."""
    everyone = np.arange(len(scores))
    chosen = [_top(scores, everyone, settings.candidate_pool)]
    searched = _top(scores, everyone, POOL_SEARCH_FACTOR * settings.candidate_pool)
    for code in range(len(CATEGORIES)):
        in_category = searched[(masks[searched] & (1 << code)) != 0]
        chosen.append(_top(scores, in_category, settings.pool_per_category))
    pool = np.unique(np.concatenate(chosen))
    return pool[np.argsort(-scores[pool], kind="stable")]


class LearnedRanker:
    def __init__(
        self, bandit: ContextualBandit, trends: EngagementTrends, settings: RankingSettings
    ) -> None:
        self.bandit = bandit
        self.trends = trends
        self.settings = settings
        self._weights = np.array(settings.cold_start_weights, dtype=np.float64)[:, None]

    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> Ranking:
        profile = context.profile
        cold = profile is None or profile.behavior_count < COLD_START_BEHAVIORS
        shared = shared_features(profile, context.now)
        if len(candidates) == 0:
            return Ranking([], cold, self.bandit.version, shared)
        if cold:
            trend_view = self.trends.view(candidates.snapshot, context.now)
            contributions = self._weights * cold_start_signals(context, candidates, trend_view)
            scores = contributions.sum(axis=0)
        else:
            scores = preference_prior(context, candidates)
        pool = candidate_pool(
            scores, candidates.snapshot.category_mask[candidates.rows], self.settings
        )
        actions: list[str] = []
        if not cold:
            actions = self._action_features(context, candidates, pool)
            scores = scores.copy()
            scores[pool] += self.bandit.predict_rewards(shared, actions)
        choices = fill_slate(
            scores[pool],
            candidates.snapshot.category_mask[candidates.rows[pool]],
            limit,
            self.settings.slate,
            seed=context.feed_id,
            caps=category_caps(profile, self.settings.slate),
        )
        if cold:  # only what is shown is logged for learning
            shown = self._action_features(context, candidates, pool[[c.index for c in choices]])
            actions = [""] * len(pool)
            for choice, line in zip(choices, shown, strict=True):
                actions[choice.index] = line
        items = []
        for choice in choices:
            i = int(pool[choice.index])
            if cold:
                reason = COLD_START_SIGNALS[int(np.argmax(contributions[:, i]))]
            else:
                reason = "exploration" if choice.explored else "personalized"
            items.append(
                RankedItem(
                    event=candidates.snapshot.events[candidates.rows[i]],
                    score=round(float(scores[i]), 6),
                    reason=reason,
                    explored=choice.explored,
                    propensity=round(choice.propensity, 6),
                    features=actions[choice.index],
                )
            )
        return Ranking(items, cold, self.bandit.version, shared)

    def _action_features(
        self, context: RankingContext, candidates: Candidates, which: IntArray
    ) -> list[str]:
        snap = candidates.snapshot
        rows = candidates.rows[which]
        return action_features(
            [snap.traits(int(row), event_traits) for row in rows],
            candidates.distance_km[which],
            (snap.starts_at[rows] - context.now.timestamp()) / 3600,
            snap.popularity[rows],
        )

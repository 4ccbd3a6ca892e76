"""Ranking: the interface, the cold-start blend and the learned ranker behind it.

- Users with fewer than COLD_START_BEHAVIORS feedback behaviors get the cold-start blend
  of four signals (popular_nearby, age_trending, intent_match, happening_soon), each
  scaled to [0, 1] over the candidates, with their favourite categories multiplied by up
  to 1 + FAVORITE_BOOST.
- Everyone else gets the learned ranking: the posterior mean of each event's appeal
  (tastes.py), shaded by popularity and item fatigue, keeps the best `candidate_pool` in
  greedy order. The slate (slate.py) then explores as far as the user's tastes are
  uncertain; the contextual bandit's estimate adds to what exploring an event could gain
  and never moves the greedy order.

The signals, weights and reasons are described in docs/concepts/decision.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from aura_server.domain.arrays import FloatArray, IntArray
from aura_server.domain.catalog_index import Candidates
from aura_server.domain.decision import compiled
from aura_server.domain.decision.features import ActionTexts, shared_features
from aura_server.domain.decision.slate import SlatePolicy, SlotChoice, fill_slate
from aura_server.domain.learning.bandit import ContextualBandit
from aura_server.domain.learning.tastes import (
    BASE_TASTE,
    LIKED_MEAN,
    PRICE_POINTS,
    Knots,
    TasteView,
    nearness,
    user_tastes,
)
from aura_server.domain.learning.trends import HOURS_OF_WEEK, EngagementTrends, TrendView
from aura_server.domain.models import CandidateSet, Event, UserProfile
from aura_server.domain.taxonomy import CATEGORIES, age_bracket


@dataclass(frozen=True)
class RankingContext:
    profile: UserProfile | None  # None for users never seen
    lat: float
    lng: float
    radius_km: float
    now: datetime
    feed_id: str
    # The tastes the list is served with (the serving side keeps them per user version);
    # None: computed from the profile.
    tastes: TasteView | None = None


@dataclass(frozen=True, slots=True)  # thirty a list: no dict each
class RankedItem:
    event: Event
    score: float
    reason: str
    explored: bool = False
    propensity: float = 1.0
    features: str = ""  # the learner's action features, logged with the impression
    epsilon: float = 0.0  # the slot's exploration probability, logged for evaluation
    distance_km: float | None = None  # from where the user asked (None: not known)


@dataclass(frozen=True)
class Ranking:
    items: list[RankedItem]
    cold_start: bool
    model_version: str
    shared_features: str = ""
    exploration: float = 0.0  # the configured share the slots' epsilons were scaled from
    candidates: CandidateSet | None = None  # logged for a share of learned rankings


class Ranker(Protocol):
    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> Ranking:
        """The `limit` items to show for the context, in order."""
        ...


COLD_START_SIGNALS = ("popular_nearby", "age_trending", "intent_match", "happening_soon")
# How much of an event's all-time popularity counts as recent engagement.
POPULARITY_PRIOR = 0.1
# In the blend, the share of popular_nearby an event keeps with no engagement at all.
NEARBY_FLOOR = 0.25
# A named or shown favourite multiplies an event's blend score by up to 1 + this.
FAVORITE_BOOST = 1.0
PROTECTED_SLOTS = 2
POOL_SEARCH_FACTOR = 50
SOON_HOURS = 48.0
# How much popularity shades the learned appeal (1 - share for the least popular).
POPULARITY_SHARE = 0.15
# Exploration hopes for this many posterior spreads of taste above the mean.
EXPLORE_OPTIMISM = 2.0


@dataclass(frozen=True)
class RankingSettings:
    cold_start_weights: tuple[float, float, float, float] = (0.40, 0.25, 0.20, 0.15)
    candidate_pool: int = 120
    pool_per_category: int = 3
    bandit_weight: float = 0.1
    slate: SlatePolicy = field(default_factory=SlatePolicy)
    # The share of learned rankings whose candidate sets are logged (CandidateSet).
    candidate_log_share: float = 0.0


def sampled(feed_id: str, share: float) -> bool:
    """Whether this feed is in the logged share: decided by its id, so a replayed
    feed_id decides the same."""
    if share <= 0:
        return False
    return share >= 1 or zlib.crc32(feed_id.encode()) / 2**32 < share


def scaled(values: FloatArray) -> FloatArray:
    """Divide by the largest value, so the top candidate scores 1 (all zeros stay zeros)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def best_of_categories(values: FloatArray, codes: IntArray) -> FloatArray:
    """Per candidate (rows of padded category codes), the best of its categories' values."""
    lookup = np.append(values, -np.inf)  # NO_CATEGORY reads -inf
    # Column by column: numpy's max over a short axis costs ten times this (measured
    # 350 us against 30 us for 5,000 events of up to two categories).
    best: FloatArray = lookup[codes[:, 0]]
    for column in range(1, codes.shape[1]):
        best = np.maximum(best, lookup[codes[:, column]])
    return best


def expected_appeal(
    tastes: TasteView, candidates: Candidates, price_knots: Knots | None = None
) -> tuple[FloatArray, FloatArray]:
    """How much the user should like each candidate: category taste (its posterior mean)
    x the rest of its appeal (nearness x price fit, shaded by popularity), which it also
    returns. `price_knots`: the snapshot's prices among the price-fit table's points."""
    snap, rows = candidates.snapshot, candidates.rows
    taste = best_of_categories(tastes.mean, snap.category_codes[rows])
    popularity = scaled(np.log1p(np.maximum(snap.popularity[rows], 0)))
    knots = None if price_knots is None else price_knots.take(rows)
    rest: FloatArray = tastes.fit(candidates.distance_km, snap.price_min[rows], knots) * (
        1 - POPULARITY_SHARE + POPULARITY_SHARE * popularity
    )
    appeal: FloatArray = taste * rest
    return appeal, rest


def fatigue_weights(tastes: TasteView, candidates: Candidates) -> FloatArray | None:
    """Per candidate, the weight item fatigue leaves it (tastes.py: an event passed over
    again and again gives way); None when nothing has tired the user."""
    if not tastes.fatigue:
        return None
    snap = candidates.snapshot
    weights = np.ones(len(snap.events))
    for event_id, weight in tastes.fatigue.items():
        row = snap.positions.get(event_id)
        if row is not None:
            weights[row] = weight
    tired: FloatArray = weights[candidates.rows]
    return tired


def liked_signal(tastes: TasteView) -> FloatArray:
    """Per category, how far the user's taste stands above an unknown category's, with
    the best of theirs at 1: one click on Jazz makes Jazz lead the next cold-start feed."""
    lift = np.maximum(tastes.mean - BASE_TASTE, 0.0)
    return scaled(lift)


def cold_start_signals(
    context: RankingContext, candidates: Candidates, trends: TrendView, tastes: TasteView
) -> FloatArray:
    """The four blend signals, one row each (in COLD_START_SIGNALS order)."""
    snap, rows = candidates.snapshot, candidates.rows
    profile = context.profile
    bracket = age_bracket(profile.age) if profile is not None else ""
    engagement = trends.overall[rows] + POPULARITY_PRIOR * np.maximum(snap.popularity[rows], 0)
    near = nearness(candidates.distance_km, tastes.travel_km)
    popular_nearby = scaled(
        (NEARBY_FLOOR + (1 - NEARBY_FLOOR) * scaled(np.log1p(engagement))) * near
    )
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
    hours_until = np.maximum((snap.starts_at[rows] - context.now.timestamp()) / 3600, 0)
    soon = np.exp(-hours_until / SOON_HOURS)
    happening_soon = 0.5 * soon + 0.5 * pattern if pattern.any() else soon
    return np.stack([popular_nearby, age_trending, intent, happening_soon])


def category_caps(tastes: TasteView, policy: SlatePolicy) -> IntArray:
    """Per category, how many of any `window` consecutive slots it may fill: the policy's
    limit, raised for the categories a user has shown they love (a taste of LIKED_MEAN or
    more may fill the window), so variety never buries someone's taste."""
    loved = np.floor(policy.window * np.minimum(tastes.mean / LIKED_MEAN, 1.0)).astype(np.int64)
    caps: IntArray = np.maximum(loved, policy.max_per_category)
    return caps


def optimistic_scores(
    scores: FloatArray,
    tastes: TasteView,
    candidates: Candidates,
    rest: FloatArray,
    which: IntArray,
) -> FloatArray:
    """Per candidate in `which`, the most its score could plausibly be: its score, plus
    what EXPLORE_OPTIMISM more spreads of taste would add to its appeal (`rest`: the
    appeal apart from taste, from expected_appeal)."""
    codes = candidates.snapshot.category_codes[candidates.rows[which]]
    ranked = best_of_categories(tastes.mean, codes)
    hoped = best_of_categories(tastes.mean + EXPLORE_OPTIMISM * tastes.sd, codes)
    hopeful: FloatArray = scores[which] + (hoped - ranked) * rest[which]
    return hopeful


def candidate_pool(scores: FloatArray, codes: IntArray, settings: RankingSettings) -> IntArray:
    """The candidates the learner scores, best first: the best `candidate_pool` by score,
    and the best `pool_per_category` of every category among the best
    POOL_SEARCH_FACTOR x `candidate_pool` (all of a small catalog), so exploration can reach
    tastes the score has not learned yet without a pass over a huge catalog per category.
    `codes`: each candidate's category codes (CatalogSnapshot.category_codes)."""
    search = POOL_SEARCH_FACTOR * settings.candidate_pool
    everyone = len(scores)
    searched = (
        np.arange(everyone) if everyone <= search else np.argpartition(-scores, search)[:search]
    )
    return compiled.pool_of(
        np.ascontiguousarray(scores, dtype=np.float64),
        codes,
        searched.astype(np.int64),
        settings.candidate_pool,
        settings.pool_per_category,
        len(CATEGORIES),
    )


def candidate_set(
    candidates: Candidates,
    pool: IntArray,
    scores: FloatArray,
    hopes: FloatArray,
    bandit: FloatArray,
    caps: IntArray,
    bandit_weight: float,
    slate: SlatePolicy,
) -> CandidateSet:
    """The pool a learned ranking chose from, as offline evaluation replays it (`hopes`
    and `bandit` over the pool, the rest over the candidates)."""
    snap, rows = candidates.snapshot, candidates.rows[pool]
    return CandidateSet(
        event_ids=tuple(snap.events[row].event_id for row in rows),
        scores=tuple(scores[pool].tolist()),
        hopes=tuple(hopes.tolist()),
        bandit=tuple(bandit.tolist()),
        masks=tuple(snap.category_mask[rows].tolist()),
        caps=tuple(caps.tolist()),
        bandit_weight=bandit_weight,
        window=slate.window,
    )


@dataclass(frozen=True)
class _Scored:
    """A ranking's scores over the candidates, and the reason a greedy pick of candidate
    i gives. `rest`: for a learned score, what it is besides the taste (exploration's
    optimism scales it); None for the cold-start blend."""

    scores: FloatArray
    rest: FloatArray | None
    reason: Callable[[int, Event], str]


@dataclass(frozen=True)
class _Hope:
    """What exploration weighs: the pool's optimistic scores, the bandit's addition to
    them, and the bandit's estimates over the whole pool when this feed is logged with
    its candidates. All None for a cold start."""

    hopes: FloatArray | None = None
    more: Callable[[IntArray], FloatArray] | None = None
    logged: FloatArray | None = None


def _item(
    candidates: Candidates, i: int, choice: SlotChoice, features: str, scored: _Scored
) -> RankedItem:
    event = candidates.snapshot.events[candidates.rows[i]]
    return RankedItem(
        event=event,
        score=round(float(scored.scores[i]), 6),
        reason="exploration" if choice.explored else scored.reason(i, event),
        explored=choice.explored,
        propensity=round(choice.propensity, 6),
        features=features,
        epsilon=round(choice.epsilon, 6),
        distance_km=float(candidates.distance_km[i]),
    )


class LearnedRanker:
    def __init__(
        self, bandit: ContextualBandit, trends: EngagementTrends, settings: RankingSettings
    ) -> None:
        self.bandit = bandit
        self.trends = trends
        self.settings = settings
        self._weights = np.array(settings.cold_start_weights, dtype=np.float64)[:, None]
        self._texts: ActionTexts | None = None
        self._knots: tuple[list[Event], Knots] | None = None

    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> Ranking:
        profile = context.profile
        cold = profile is None or not profile.cold_start_completed
        shared = shared_features(profile, context.now)
        slate = self.settings.slate
        if len(candidates) == 0:
            return Ranking([], cold, self.bandit.version, shared, slate.epsilon)
        tastes = context.tastes or user_tastes(profile, serving=True)
        scored = (
            self._cold(context, candidates, tastes) if cold else self._learned(candidates, tastes)
        )
        pool = candidate_pool(
            scored.scores, candidates.snapshot.category_codes[candidates.rows], self.settings
        )
        hope = (
            _Hope()
            if scored.rest is None
            else self._hope(context, candidates, scored.scores, scored.rest, tastes, shared, pool)
        )
        caps = category_caps(tastes, slate)
        choices = fill_slate(
            scored.scores[pool],
            candidates.snapshot.category_mask[candidates.rows[pool]],
            limit,
            slate,
            seed=context.feed_id,
            caps=caps,
            # A cold start explores the configured share, towards what is least known;
            # a learned ranking only where it could pay (slate.py).
            explore_weights=tastes.sd,
            optimistic=hope.hopes,
            # A favourite someone named leads their first feeds: no exploration above it.
            protected=PROTECTED_SLOTS if cold and tastes.stated else 0,
            more_optimism=hope.more,
        )
        # What is shown is logged with its action features, for learning.
        actions = self._action_features(context, candidates, pool[[c.index for c in choices]])
        items = [
            _item(candidates, int(pool[choice.index]), choice, features, scored)
            for choice, features in zip(choices, actions, strict=True)
        ]
        kept = None
        if hope.logged is not None and hope.hopes is not None:
            weight = self.settings.bandit_weight
            kept = candidate_set(
                candidates, pool, scored.scores, hope.hopes, hope.logged, caps, weight, slate
            )
        return Ranking(items, cold, self.bandit.version, shared, slate.epsilon, kept)

    def _cold(self, context: RankingContext, candidates: Candidates, tastes: TasteView) -> _Scored:
        """The cold-start blend, its favourites boosted; an item's reason is its strongest
        signal, or the favourite the user named."""
        trend_view = self.trends.view(candidates.snapshot, context.now)
        signals = cold_start_signals(context, candidates, trend_view, tastes)
        contributions = self._weights * signals
        codes = candidates.snapshot.category_codes[candidates.rows]
        liked = best_of_categories(liked_signal(tastes), codes)
        scores = contributions.sum(axis=0) * (1 + FAVORITE_BOOST * liked)

        def reason(i: int, event: Event) -> str:
            if liked[i] >= 0.5 and tastes.stated.intersection(event.categories):
                return "favorite_category"
            return COLD_START_SIGNALS[int(np.argmax(contributions[:, i]))]

        return _Scored(scores, None, reason)

    def _learned(self, candidates: Candidates, tastes: TasteView) -> _Scored:
        """The expected appeal, shaded by item fatigue."""
        scores, rest = expected_appeal(tastes, candidates, self._price_knots(candidates))
        tired = fatigue_weights(tastes, candidates)
        if tired is not None:
            scores, rest = scores * tired, rest * tired
        return _Scored(scores, rest, lambda i, event: "personalized")

    def _hope(
        self,
        context: RankingContext,
        candidates: Candidates,
        scores: FloatArray,
        rest: FloatArray,
        tastes: TasteView,
        shared: str,
        pool: IntArray,
    ) -> _Hope:
        """Per pool candidate, the most its score could plausibly be: what exploration
        weighs, with what the bandit estimates trying it could earn (asked for only where
        exploration weighs it: fill_slate's more_optimism)."""
        hopes = optimistic_scores(scores, tastes, candidates, rest, pool)
        logged = None  # the bandit's estimates over the whole pool, for offline replay
        if sampled(context.feed_id, self.settings.candidate_log_share):
            lines = self._action_features(context, candidates, pool)
            logged = np.asarray(self.bandit.predict_rewards(shared, lines), dtype=np.float64)
        weight = self.settings.bandit_weight
        if not weight:
            return _Hope(hopes, None, logged)
        if logged is not None:
            estimated = logged
            return _Hope(hopes, lambda which: weight * estimated[which], logged)

        def ask(which: IntArray) -> FloatArray:
            lines = self._action_features(context, candidates, pool[which])
            return weight * self.bandit.predict_rewards(shared, lines)

        return _Hope(hopes, ask, logged)

    def _price_knots(self, candidates: Candidates) -> Knots:
        """The snapshot's prices among the price-fit table's points, found once per catalog
        version."""
        snap = candidates.snapshot
        kept = self._knots
        if kept is None or kept[0] is not snap.events:
            kept = self._knots = (snap.events, Knots.of(snap.price_min, PRICE_POINTS))
        return kept[1]

    def _action_features(
        self, context: RankingContext, candidates: Candidates, which: IntArray
    ) -> list[str]:
        snap = candidates.snapshot
        texts = self._texts
        if texts is None or texts.events is not snap.events:  # built once per catalog version
            texts = self._texts = ActionTexts(snap.events)
        rows = candidates.rows[which]
        return texts.lines(
            rows,
            candidates.distance_km[which],
            (snap.starts_at[rows] - context.now.timestamp()) / 3600,
            snap.popularity[rows],
        )

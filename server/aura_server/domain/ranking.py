"""Ranking: the interface every ranker implements, and the documented score.

The documented score (the foundation's ranker; the learned ranker replaces it behind the
same interface) is a weighted sum of four signals, each in [0, 1]:

    score = 0.40 category + 0.20 price_fit + 0.20 proximity + 0.20 popularity

- category: the user's highest preferred_categories score among the event's categories;
- price_fit: 1 inside the user's sweet spot, decaying with the distance in dollars from it
  relative to the average price paid (0.5 for users with no price history, or unknown prices);
- proximity: 1 - distance / radius;
- popularity: log(1 + popularity) / log(1 + the highest popularity among the candidates).

Each item's reason names the signal that contributed most: category_match, price_fit,
nearby or popular.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from aura_server.domain.catalog_index import Candidates, FloatArray
from aura_server.domain.models import Event, UserProfile
from aura_server.domain.taxonomy import CATEGORY_CODES


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


class Ranker(Protocol):
    model_version: str

    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> list[RankedItem]:
        """The best `limit` candidates for the context, best first."""
        ...


WEIGHTS = {"category_match": 0.40, "price_fit": 0.20, "nearby": 0.20, "popular": 0.20}


def category_affinity(profile: UserProfile | None, masks: np.ndarray) -> FloatArray:
    """Per candidate, the best profile score among its categories."""
    affinity = np.zeros(len(masks), dtype=np.float64)
    if profile is None:
        return affinity
    for category, score in profile.categories.items():
        code = CATEGORY_CODES.get(category)
        if code is None or score <= 0:
            continue
        has = (masks & (1 << code)) != 0
        affinity = np.where(has, np.maximum(affinity, score), affinity)
    return affinity


def price_fit(profile: UserProfile | None, prices: FloatArray) -> FloatArray:
    if profile is None or profile.price_range is None:
        return np.full(len(prices), 0.5)
    band = profile.price_range
    gap = np.maximum(band.sweet_spot_min - prices, 0) + np.maximum(prices - band.sweet_spot_max, 0)
    fit = np.exp(-gap / max(band.avg, 10.0))
    return np.where(np.isnan(prices), 0.5, fit)


def popularity_signal(popularity: FloatArray) -> FloatArray:
    if len(popularity) == 0:
        return popularity
    logged = np.log1p(np.maximum(popularity, 0))
    top = logged.max()
    return logged / top if top > 0 else np.zeros_like(logged)


class DocumentedScoreRanker:
    model_version = "documented-score-v1"

    def signals(self, context: RankingContext, candidates: Candidates) -> dict[str, FloatArray]:
        snap, rows = candidates.snapshot, candidates.rows
        return {
            "category_match": category_affinity(context.profile, snap.category_mask[rows]),
            "price_fit": price_fit(context.profile, snap.price_min[rows]),
            "nearby": np.clip(1 - candidates.distance_km / context.radius_km, 0, 1),
            "popular": popularity_signal(snap.popularity[rows]),
        }

    def rank(self, context: RankingContext, candidates: Candidates, limit: int) -> list[RankedItem]:
        if len(candidates) == 0:
            return []
        signals = self.signals(context, candidates)
        names = list(WEIGHTS)
        contributions = np.stack([WEIGHTS[name] * signals[name] for name in names])
        scores = contributions.sum(axis=0)
        # Ties (common for cold users) go to the sooner event, then the id, so order is stable.
        snap, rows = candidates.snapshot, candidates.rows
        order = np.lexsort((rows, snap.starts_at[rows], -np.round(scores, 9)))[:limit]
        return [
            RankedItem(
                event=snap.events[rows[i]],
                score=round(float(scores[i]), 6),
                reason=names[int(np.argmax(contributions[:, i]))],
            )
            for i in order
        ]

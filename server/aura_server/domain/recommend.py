"""The decision flow: a request becomes a ranked, logged list of events."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.errors import InvalidArgument
from aura_server.domain.models import Impression, ImpressionItem, UserProfile, utcnow
from aura_server.domain.ranking import RankedItem, Ranker, RankingContext
from aura_server.domain.validation import check_coordinates, check_limit, require_id
from aura_server.store.base import Repository

FEED_WINDOW = timedelta(days=14)
DEFAULT_RADIUS_KM = 30.0
MAX_RADIUS_KM = 500.0
HIGHLIGHTS_RADIUS_KM = 30.0
HIGHLIGHTS_LOOKBACK = timedelta(hours=72)
HIGHLIGHTS_HALF_LIFE_HOURS = 24.0
HIGHLIGHTS_PER_CATEGORY = 2
# How much each action says "people want this"; used for popularity and trending.
ENGAGEMENT_WEIGHT: dict[str, float] = {
    "view": 0.5,
    "click": 1.0,
    "like": 2.0,
    "save": 2.0,
    "share": 3.0,
    "purchase": 5.0,
}


@dataclass(frozen=True)
class FeedResult:
    feed_id: str
    items: list[RankedItem]
    cold_start: bool
    model_version: str


def _where(
    profile: UserProfile | None, lat: float | None, lng: float | None
) -> tuple[float, float]:
    """The request's coordinates, else the user's home."""
    check_coordinates(lat, lng)
    if lat is not None and lng is not None:
        return lat, lng
    if profile is not None and profile.home_lat is not None and profile.home_lng is not None:
        return profile.home_lat, profile.home_lng
    raise InvalidArgument("lat", "lat and lng are required: the user has no home location")


class Recommender:
    def __init__(self, repo: Repository, index: CatalogIndex, ranker: Ranker) -> None:
        self.repo = repo
        self.index = index
        self.ranker = ranker

    def feed(
        self,
        user_id: str,
        lat: float | None,
        lng: float | None,
        radius_km: float | None = None,
        limit: int = 0,
        now: datetime | None = None,
    ) -> FeedResult:
        user_id = require_id("user_id", user_id)
        limit = check_limit(limit, 30, 1, 100)
        radius = DEFAULT_RADIUS_KM if radius_km is None else radius_km
        if not math.isfinite(radius) or not 0 < radius <= MAX_RADIUS_KM:
            raise InvalidArgument("radius_km", f"must be above 0 and at most {MAX_RADIUS_KM:g}")
        profile = self.repo.get_user(user_id)
        lat, lng = _where(profile, lat, lng)
        now = now or utcnow()
        candidates = self.index.select(
            lat, lng, radius, now, now + FEED_WINDOW, self.repo.excluded_event_ids(user_id)
        )
        feed_id = uuid.uuid4().hex
        context = RankingContext(profile, lat, lng, radius, now, feed_id)
        items = self.ranker.rank(context, candidates, limit)
        cold_start = profile is None or not profile.cold_start_completed
        self._log(feed_id, user_id, "feed", context, limit, items, self.ranker.model_version)
        return FeedResult(feed_id, items, cold_start, self.ranker.model_version)

    def highlights(
        self,
        user_id: str,
        lat: float | None,
        lng: float | None,
        limit: int = 0,
        now: datetime | None = None,
    ) -> FeedResult:
        """Upcoming nearby events with the most recent engagement, at most two per
        category; events with none are ordered by their overall popularity."""
        user_id = require_id("user_id", user_id)
        limit = check_limit(limit, 8, 5, 10)
        profile = self.repo.get_user(user_id)
        lat, lng = _where(profile, lat, lng)
        now = now or utcnow()
        candidates = self.index.select(
            lat,
            lng,
            HIGHLIGHTS_RADIUS_KM,
            now,
            now + FEED_WINDOW,
            self.repo.excluded_event_ids(user_id),
        )
        events = candidates.events()
        trend = self._recent_engagement(now)
        popularity = np.log1p(np.array([max(e.popularity, 0.0) for e in events]))
        top = popularity.max() if len(events) and popularity.max() > 0 else 1.0
        # Engagement decides; popularity (scaled under 0.01) only breaks ties.
        scores = [
            trend.get(e.event_id, 0.0) + 0.01 * p / top
            for e, p in zip(events, popularity, strict=True)
        ]
        order = sorted(range(len(events)), key=lambda i: (-scores[i], events[i].starts_at))
        per_category: dict[str, int] = {}
        items: list[RankedItem] = []
        for i in order:
            event = events[i]
            if any(per_category.get(c, 0) >= HIGHLIGHTS_PER_CATEGORY for c in event.categories):
                continue
            for category in event.categories:
                per_category[category] = per_category.get(category, 0) + 1
            reason = "trending" if trend.get(event.event_id, 0.0) > 0 else "popular"
            items.append(RankedItem(event, round(scores[i], 6), reason))
            if len(items) == limit:
                break
        feed_id = uuid.uuid4().hex
        context = RankingContext(profile, lat, lng, HIGHLIGHTS_RADIUS_KM, now, feed_id)
        self._log(feed_id, user_id, "highlights", context, limit, items, "highlights-v1")
        return FeedResult(
            feed_id, items, profile is None or not profile.cold_start_completed, "highlights-v1"
        )

    def _recent_engagement(self, now: datetime) -> dict[str, float]:
        """Engagement per event over the lookback, halved every HIGHLIGHTS_HALF_LIFE_HOURS."""
        scores: dict[str, float] = {}
        for row in self.repo.engagement_since(now - HIGHLIGHTS_LOOKBACK):
            weight = ENGAGEMENT_WEIGHT.get(row.action, 0.0)
            age_hours = max((now - row.occurred_at).total_seconds() / 3600, 0.0)
            if weight and row.occurred_at <= now:
                decayed = weight * 0.5 ** (age_hours / HIGHLIGHTS_HALF_LIFE_HOURS)
                scores[row.event_id] = scores.get(row.event_id, 0.0) + decayed
        return scores

    def _log(
        self,
        feed_id: str,
        user_id: str,
        kind: str,
        context: RankingContext,
        limit: int,
        items: list[RankedItem],
        model_version: str,
    ) -> None:
        self.repo.insert_impression(
            Impression(
                feed_id=feed_id,
                user_id=user_id,
                kind=kind,
                created_at=utcnow(),
                context={
                    "lat": context.lat,
                    "lng": context.lng,
                    "radius_km": context.radius_km,
                    "now": context.now.isoformat(),
                    "limit": limit,
                },
                items=[
                    ImpressionItem(
                        event_id=item.event.event_id,
                        position=position,
                        score=item.score,
                        reason=item.reason,
                        explored=item.explored,
                        propensity=item.propensity,
                    )
                    for position, item in enumerate(items)
                ],
                model_version=model_version,
            )
        )

"""The decision flow: a request becomes a ranked, logged list of events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from aura_server.domain.catalog_index import CandidateFilter, CatalogIndex
from aura_server.domain.clock import utcnow
from aura_server.domain.decision.ranking import RankedItem, Ranker, Ranking, RankingContext, scaled
from aura_server.domain.decision.serving import Serving
from aura_server.domain.errors import InvalidArgument, StoreUnavailable
from aura_server.domain.gazetteer import city_centre
from aura_server.domain.geo import CITY_RADIUS_KM
from aura_server.domain.learning.trends import EngagementTrends
from aura_server.domain.models import Impression, UserProfile
from aura_server.domain.taxonomy import age_bracket
from aura_server.telemetry.metrics import metrics

log = logging.getLogger(__name__)
FEED_WINDOW = timedelta(days=14)
DEFAULT_LIMIT = 30  # a Feed's or a search's items when the request asks for 0
HIGHLIGHTS_LIMIT = 8
HIGHLIGHTS_PER_CATEGORY = 2
# For cold users, how much of the highlights trend comes from their own age bracket.
HIGHLIGHTS_BRACKET_SHARE = 0.4
HIGHLIGHTS_VERSION = "highlights-v2"


@dataclass(frozen=True)
class FeedResult:
    feed_id: str
    items: list[RankedItem]
    cold_start: bool
    model_version: str
    # True when the store could not be reached: the last known profile (or none) was used
    # and the impression could not be logged, so rewards for this feed will not join it.
    degraded: bool = False


@dataclass(frozen=True)
class FeedFilters:
    exclude_event_ids: Sequence[str] = ()
    categories: Sequence[str] = ()
    price_max: float | None = None


def _where(
    profile: UserProfile | None, lat: float | None, lng: float | None
) -> tuple[float, float]:
    """The request's coordinates, else the user's home, else the city's centre (the
    default radius then covers the five boroughs)."""
    if lat is not None and lng is not None:
        return lat, lng
    if profile is not None and profile.home_lat is not None and profile.home_lng is not None:
        return profile.home_lat, profile.home_lng
    return city_centre()


class Recommender:
    def __init__(
        self,
        index: CatalogIndex,
        ranker: Ranker,
        trends: EngagementTrends,
        serving: Serving,
    ) -> None:
        self.index = index
        self.ranker = ranker
        self.trends = trends
        self.serving = serving
        self.impressions = serving.impressions

    def feed(
        self,
        user_id: str,
        lat: float | None,
        lng: float | None,
        radius_km: float | None = None,
        limit: int = 0,
        now: datetime | None = None,
        filters: FeedFilters | None = None,
        feed_id: str = "",
    ) -> FeedResult:
        # The request's own rules (lengths, ranges, known categories) are the protos',
        # checked at the door (grpc_api/constraints.py); 0 and unset mean the defaults.
        limit = limit or DEFAULT_LIMIT
        radius = radius_km or CITY_RADIUS_KM
        filters = filters or FeedFilters()
        if feed_id:
            served = self._logged(feed_id)
            if served is not None:
                return self._replay(served, user_id)
        state = self.serving.user_state(user_id)
        lat, lng = _where(state.profile, lat, lng)
        now = now or utcnow()
        excluded = state.excluded.union(filters.exclude_event_ids)
        candidates = self.index.select(
            lat,
            lng,
            radius,
            now,
            now + FEED_WINDOW,
            excluded,
            CandidateFilter(categories=filters.categories, price_max=filters.price_max),
        )
        feed_id = feed_id or uuid.uuid4().hex
        context = RankingContext(state.profile, lat, lng, radius, now, feed_id, state.tastes)
        ranking = self.ranker.rank(context, candidates, limit)
        recorded = metrics()
        recorded.feeds.labels("cold_start" if ranking.cold_start else "learned").inc()
        explored = sum(item.explored for item in ranking.items)
        recorded.slots.labels("explored").inc(explored)
        recorded.slots.labels("greedy").inc(len(ranking.items) - explored)
        logged = self.serving.record(feed_id, user_id, "feed", context, limit, ranking)
        return FeedResult(
            feed_id,
            ranking.items,
            ranking.cold_start,
            ranking.model_version,
            degraded=state.degraded or not logged,
        )

    def _logged(self, feed_id: str) -> Impression | None:
        try:
            return self.impressions.get(feed_id)
        except StoreUnavailable:
            return None  # served as a new feed under that id

    def _replay(self, impression: Impression, user_id: str) -> FeedResult:
        """A feed asked for again under its feed_id (a retry): the slate as it was served."""
        if impression.user_id != user_id or impression.kind != "feed":
            raise InvalidArgument("feed_id", "names a feed of another user; leave it empty")
        items = []
        snapshot = self.index.snapshot()
        for logged in impression.items:
            row = snapshot.positions.get(logged.event_id)
            event = snapshot.events[row] if row is not None else None
            if event is not None:
                items.append(
                    RankedItem(
                        event,
                        logged.score,
                        logged.reason,
                        logged.explored,
                        logged.propensity,
                        logged.features,
                        logged.epsilon or 0.0,
                        logged.distance_km,
                    )
                )
        cold = bool(impression.context.get("cold_start", False))
        return FeedResult(impression.feed_id, items, cold, impression.model_version)

    def highlights(
        self,
        user_id: str,
        lat: float | None,
        lng: float | None,
        limit: int = 0,
        now: datetime | None = None,
    ) -> FeedResult:
        """Upcoming nearby events trending now (engagement over the last 72 hours, halved
        every 24), blended for cold users with their age bracket's trend, at most two per
        category; events nobody engaged with are ordered by all-time popularity."""
        limit = limit or HIGHLIGHTS_LIMIT  # its range is the protos', checked at the door
        state = self.serving.user_state(user_id)
        profile = state.profile
        lat, lng = _where(profile, lat, lng)
        now = now or utcnow()
        candidates = self.index.select(
            lat, lng, CITY_RADIUS_KM, now, now + FEED_WINDOW, state.excluded
        )
        snap, rows = candidates.snapshot, candidates.rows
        view = self.trends.view(snap, now)
        trend = scaled(np.log1p(view.overall[rows]))
        cold = profile is None or not profile.cold_start_completed
        bracket = age_bracket(profile.age) if profile is not None else ""
        if cold and bracket:
            mine = scaled(np.log1p(view.by_bracket[bracket][rows]))
            trend = (1 - HIGHLIGHTS_BRACKET_SHARE) * trend + HIGHLIGHTS_BRACKET_SHARE * mine
        popularity = scaled(np.log1p(np.maximum(snap.popularity[rows], 0)))
        # Engagement decides; popularity (scaled under 0.01) only breaks ties.
        scores = trend + 0.01 * popularity
        order = np.lexsort((snap.starts_at[rows], -scores))
        per_category: dict[str, int] = {}
        items: list[RankedItem] = []
        for i in order:
            event = snap.events[rows[i]]
            if any(per_category.get(c, 0) >= HIGHLIGHTS_PER_CATEGORY for c in event.categories):
                continue
            for category in event.categories:
                per_category[category] = per_category.get(category, 0) + 1
            reason = "trending" if trend[i] > 0 else "popular"
            score = round(float(scores[i]), 6)
            items.append(
                RankedItem(event, score, reason, distance_km=float(candidates.distance_km[i]))
            )
            if len(items) == limit:
                break
        feed_id = uuid.uuid4().hex
        context = RankingContext(profile, lat, lng, CITY_RADIUS_KM, now, feed_id)
        ranking = Ranking(items, cold, HIGHLIGHTS_VERSION)
        logged = self.serving.record(feed_id, user_id, "highlights", context, limit, ranking)
        return FeedResult(
            feed_id, items, cold, HIGHLIGHTS_VERSION, degraded=state.degraded or not logged
        )

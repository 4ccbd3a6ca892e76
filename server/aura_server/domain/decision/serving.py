"""What every served list (feed, highlights, natural search) does around its ranking:
find whom it is for, and record what was shown. Shared by the Recommender and the
natural search so that neither reaches into the other."""

from __future__ import annotations

import logging

from cachetools import LRUCache

from aura_server.domain.decision.impressions import ImpressionLog
from aura_server.domain.decision.ranking import Ranking, RankingContext
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.learning.profiles import ProfileService
from aura_server.domain.models import Impression, ImpressionItem, UserProfile, utcnow
from aura_server.domain.repository import Repository

log = logging.getLogger(__name__)


class Serving:
    def __init__(
        self, repo: Repository, profiles: ProfileService, impressions: ImpressionLog
    ) -> None:
        self.repo = repo
        self.profiles = profiles
        self.impressions = impressions
        self._last_excluded: LRUCache[str, set[str]] = LRUCache(100_000)

    def user_state(self, user_id: str) -> tuple[UserProfile | None, set[str], bool]:
        """The profile and the events the user hid or bought; while the store is down,
        the last known ones, and True for degraded."""
        profile, degraded = self.profiles.find_or_last_known(user_id)
        try:
            excluded = self.repo.excluded_event_ids(user_id)
            self._last_excluded[user_id] = excluded
        except StoreUnavailable:
            excluded, degraded = self._last_excluded.get(user_id, set()), True
        return profile, excluded, degraded

    def record(
        self,
        feed_id: str,
        user_id: str,
        kind: str,
        context: RankingContext,
        limit: int,
        ranking: Ranking,
    ) -> bool:
        """Record what was shown, with the learner's features, so rewards can join it (the
        write goes behind the answer: impressions.py). False while impressions cannot be
        written: the list is still served."""
        impression = Impression(
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
                "cold_start": ranking.cold_start,
                "exploration": ranking.exploration,
            },
            items=[
                ImpressionItem(
                    event_id=item.event.event_id,
                    position=position,
                    score=item.score,
                    reason=item.reason,
                    explored=item.explored,
                    propensity=item.propensity,
                    features=item.features,
                    epsilon=item.epsilon,
                )
                for position, item in enumerate(ranking.items)
            ],
            model_version=ranking.model_version,
            shared_features=ranking.shared_features,
        )
        shown = [(item.event, position) for position, item in enumerate(ranking.items)]

        def write() -> None:
            self.repo.insert_impression(impression)
            self.profiles.expose(user_id, shown, (context.lat, context.lng))

        try:
            return self.impressions.log(impression, write)
        except StoreUnavailable as exc:
            log.warning("impression %s not logged: %s", feed_id, exc)
            return False

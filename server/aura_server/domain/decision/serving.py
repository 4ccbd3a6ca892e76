"""What every served list (feed, highlights, natural search) does around its ranking:
find whom it is for, and record what was shown. Shared by the Recommender and the
natural search so that neither reaches into the other.

A store that stops answering (a hung MongoDB primary, a stalled disk) must not stop the
read path: the user's profile and exclusions are read within READ_BUDGET_SECONDS, and
past it the list is served from what this process saw last, marked degraded. While that
read is still stuck, later lists do not wait for the store at all; the first read that
comes back ends it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as ReadTimeout

from cachetools import LRUCache

from aura_server.domain.clock import utcnow
from aura_server.domain.decision.impressions import ImpressionLog
from aura_server.domain.decision.ranking import Ranking, RankingContext
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.learning.profiles import ProfileService
from aura_server.domain.models import Impression, ImpressionItem, UserProfile
from aura_server.domain.repository import Repository

log = logging.getLogger(__name__)

READ_BUDGET_SECONDS = 0.25
READER_THREADS = 4

UserState = tuple[UserProfile | None, set[str], bool]


class Serving:
    def __init__(
        self,
        repo: Repository,
        profiles: ProfileService,
        impressions: ImpressionLog,
        read_budget: float = READ_BUDGET_SECONDS,
    ) -> None:
        self.repo = repo
        self.profiles = profiles
        self.impressions = impressions
        self._last_excluded: LRUCache[str, set[str]] = LRUCache(100_000)
        self.read_budget = read_budget
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="aura-read")
        self._stuck: Future[UserState] | None = None  # a read that overran its budget
        self._stuck_lock = threading.Lock()

    def user_state(self, user_id: str) -> UserState:
        """The profile and the events the user hid or bought; while the store is down or
        does not answer within the read budget, the last known ones, and True for
        degraded."""
        with self._stuck_lock:
            if self._stuck is not None and not self._stuck.done():
                return self._last_state(user_id)
            self._stuck = None
        read = self._readers.submit(self._read_state, user_id)
        try:
            return read.result(timeout=self.read_budget)
        except ReadTimeout:
            log.warning(
                "the store did not answer within %.2f s; serving degraded", self.read_budget
            )
            with self._stuck_lock:
                self._stuck = read
            return self._last_state(user_id)

    def _last_state(self, user_id: str) -> UserState:
        profile = self.profiles.last_known(user_id)
        return profile, self._last_excluded.get(user_id, set()), True

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)

    def _read_state(self, user_id: str) -> UserState:
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
            self.profiles.expose(user_id, shown, (context.lat, context.lng), feed_id)

        try:
            return self.impressions.log(impression, write)
        except StoreUnavailable as exc:
            log.warning("impression %s not logged: %s", feed_id, exc)
            return False

"""What every served list (feed, highlights, natural search) does around its ranking:
find whom it is for, and record what was shown. Shared by the Recommender and the
natural search so that neither reaches into the other.

A store that stops answering (a hung MongoDB primary, a stalled disk) must not stop the
read path: the user's profile and exclusions are read within READ_BUDGET_SECONDS, and
past it the list is served from what this process saw last, marked degraded. While that
read is still stuck, later lists do not wait for the store at all; the first read that
comes back ends it. What a list needs of the user is kept per process between the user's
writes (ProfileService.current): a Feed reads one version number from the store.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as ReadTimeout
from dataclasses import dataclass, replace

from aura_server.domain.clock import utcnow
from aura_server.domain.decision.ranking import RankedItem, Ranking, RankingContext
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.geo import distance_km
from aura_server.domain.impressions import ImpressionLog
from aura_server.domain.learning.profiles import KnownUser, ProfileService
from aura_server.domain.learning.tastes import TasteView, user_tastes
from aura_server.domain.models import Impression, ImpressionItem, UserProfile
from aura_server.domain.repository import Repository
from aura_server.telemetry.metrics import metrics

log = logging.getLogger(__name__)

READ_BUDGET_SECONDS = 0.25
READER_THREADS = 4


@dataclass(frozen=True)
class UserState:
    """Whom a list is for: their profile (None for a user never seen), the events they hid
    or bought, the tastes the list is served with, and whether the store was not reached
    (the last known state was used)."""

    profile: UserProfile | None
    excluded: frozenset[str]
    tastes: TasteView
    degraded: bool = False


STRANGER = UserState(None, frozenset(), user_tastes(None))


@dataclass(frozen=True)
class Search:
    """The search a list answers: its query, and the categories it named (which the
    profile takes in with the list, as a light preference: profiles.take_searches)."""

    query: str
    categories: tuple[str, ...]


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
        self.read_budget = read_budget
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="aura-read")
        self._stuck: Future[UserState] | None = None  # a read that overran its budget
        self._stuck_lock = threading.Lock()

    def user_state(self, user_id: str) -> UserState:
        """The user as stored now; while the store is down or does not answer within the
        read budget, as last known here, marked degraded. A store whose reads cannot
        stall (SQLite's readers never wait in WAL mode) is read on the caller's thread."""
        if not self.repo.reads_can_stall:
            return self._read_state(user_id)
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
        return _state_of(self.profiles.last_known(user_id), degraded=True)

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)

    def _read_state(self, user_id: str) -> UserState:
        try:
            known = self.profiles.current(user_id)
        except StoreUnavailable:
            return self._last_state(user_id)
        metrics().profile_reads.labels("store").inc()
        return _state_of(known)

    def record(
        self,
        feed_id: str,
        user_id: str,
        kind: str,
        context: RankingContext,
        limit: int,
        ranking: Ranking,
        search: Search | None = None,
    ) -> bool:
        """Record what was shown, with the learner's features, what its exposure needs and
        the search that asked for it, so rewards can join it and the profile can take it
        in later (exposure.py). The write goes behind the answer (impressions.py); False
        while impressions cannot be written: the list is still served."""
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
                **({} if search is None else {"query": search.query}),
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
                    distance_km=_distance(item, context),
                    price_min=item.event.price_min,
                    categories=tuple(item.event.categories),
                )
                for position, item in enumerate(ranking.items)
            ],
            model_version=ranking.model_version,
            shared_features=ranking.shared_features,
            candidates=ranking.candidates,
            searched=None if search is None else search.categories,
        )
        try:
            logged = self.impressions.log(impression)
        except StoreUnavailable as exc:
            log.warning("impression %s not logged: %s", feed_id, exc)
            return False
        if context.profile is not None and (ranking.items or search is not None):
            self.profiles.shown(user_id)
        return logged


def _distance(item: RankedItem, context: RankingContext) -> float:
    """How far the item was from where the user asked (the ranker measured it)."""
    if item.distance_km is not None:
        return item.distance_km
    return distance_km(context.lat, context.lng, item.event.lat, item.event.lng)


def _state_of(known: KnownUser | None, degraded: bool = False) -> UserState:
    if known is None:
        return replace(STRANGER, degraded=degraded)
    return UserState(known.profile, known.excluded or frozenset(), known.tastes(), degraded)

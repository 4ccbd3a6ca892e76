"""The one face of Aura that the doors see: a method per RPC, plus status, health and
warm-up, in domain types (no gRPC, no JSON). The gRPC servicers translate a message and
call one method here; nothing in a door reaches past it to the store or the model (as
MLServer's DataPlane serves its gRPC and REST servers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aura_server import __version__
from aura_server.domain.catalog import CatalogService
from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.clock import utcnow
from aura_server.domain.decision.ranking import RankingContext
from aura_server.domain.decision.recommend import DEFAULT_LIMIT, Recommender
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.geo import CITY_RADIUS_KM
from aura_server.domain.learning.behaviors import BehaviorService
from aura_server.domain.learning.profiles import ProfileService
from aura_server.domain.learning.trends import EngagementTrends
from aura_server.domain.models import UserProfile
from aura_server.domain.repository import Repository
from aura_server.domain.search.natural import NaturalSearch

log = logging.getLogger(__name__)
WARM_UP_QUERIES = ("best hip hop in bushwick tonight under $40", "jazz tomorow nite in the villge")
WARM_UP_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class ServiceStatus:
    status: str  # SERVING | NOT_SERVING
    store: str
    model_version: str
    catalog_size: int
    version: str


class DataPlane:
    """Each RPC is the domain call that answers it, bound here once; the signatures are
    the domain's own, so they are written in one place."""

    def __init__(
        self,
        repo: Repository,
        index: CatalogIndex,
        trends: EngagementTrends,
        profiles: ProfileService,
        behaviors: BehaviorService,
        recommender: Recommender,
        search: NaturalSearch,
        catalog: CatalogService,
        model_version: Callable[[], str],
    ) -> None:
        self._repo = repo
        self._index = index
        self._trends = trends
        self._recommender = recommender
        self._search = search
        self._model_version = model_version
        # OnboardingService
        self.onboard = profiles.onboard
        self.get_profile = profiles.get
        self.reset_profile = profiles.reset
        # BehaviorService, FeedbackService
        self.log_behavior = behaviors.log
        self.submit_reward = behaviors.reward
        # RecommendService
        self.feed = recommender.feed
        self.highlights = recommender.highlights
        self.natural = search.search
        # CatalogService
        self.upsert_events = catalog.upsert
        self.get_event = catalog.get
        self.list_events = catalog.list
        self.delete_event = catalog.delete

    # StatusService, health
    def ping(self) -> None:
        """Raise StoreUnavailable while the store cannot be reached (health: NOT_SERVING)."""
        self._repo.ping()

    @property
    def store(self) -> str:
        return self._repo.backend

    def status(self) -> ServiceStatus:
        """What GET /v1/health and the gRPC StatusService report."""
        try:
            self._repo.ping()
            serving = "SERVING"
        except StoreUnavailable:
            serving = "NOT_SERVING"
        return ServiceStatus(
            status=serving,
            store=self._repo.backend,
            model_version=self._model_version(),
            catalog_size=len(self._index.snapshot().events) if serving == "SERVING" else 0,
            version=__version__,
        )

    def warm_up(self) -> None:
        """Build what is otherwise built on first use (the catalog index, the trends, the
        rules parser's tables and fuzzy matching, the ranker's paths and VW's), so the
        first request after a start costs what the next ones do. Nothing is stored."""
        started = time.perf_counter()
        try:
            snapshot = self._index.snapshot()
        except StoreUnavailable:
            return  # served from what comes; the health check says why
        now = utcnow()
        rules = getattr(self._search.parser, "rules", self._search.parser)
        for query in WARM_UP_QUERIES:
            rules.parse(query, now)
        if snapshot.events:
            first = snapshot.events[0]
            end = now + WARM_UP_WINDOW
            candidates = self._index.select(first.lat, first.lng, CITY_RADIUS_KM, now, end, set())
            self._trends.view(snapshot, now)
            for profile in (None, UserProfile(user_id="warm-up", behavior_count=3, age=30)):
                context = RankingContext(
                    profile, first.lat, first.lng, CITY_RADIUS_KM, now, "warm-up"
                )
                self._recommender.ranker.rank(context, candidates, DEFAULT_LIMIT)
        log.info("warmed up in %.0f ms", (time.perf_counter() - started) * 1000)

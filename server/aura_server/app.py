"""Wires the domain services over one store; both doors and the CLI use this."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from aura_server.config import Settings
from aura_server.domain.catalog import CatalogService
from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.dataplane import DataPlane
from aura_server.domain.decision.ranking import LearnedRanker, RankingSettings
from aura_server.domain.decision.recommend import Recommender
from aura_server.domain.decision.serving import Serving
from aura_server.domain.decision.slate import SlatePolicy
from aura_server.domain.impressions import ImpressionLog
from aura_server.domain.learning.bandit import ContextualBandit
from aura_server.domain.learning.behaviors import BehaviorService
from aura_server.domain.learning.loop import LearningLoop, LearningSettings, load_bandit
from aura_server.domain.learning.profiles import ProfileService
from aura_server.domain.learning.trends import EngagementTrends
from aura_server.domain.search.llm_parser import LLMParser
from aura_server.domain.search.natural import NaturalSearch
from aura_server.domain.search.query import QueryParser
from aura_server.domain.search.rules_parser import RulesParser
from aura_server.store import Repository, open_repository

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> Repository:
    """The store the settings name: MongoDB when MONGODB_URL is set, else the SQLite file."""
    return open_repository(
        settings.mongodb_url,
        settings.mongodb_db,
        settings.db_path,
        settings.mongodb_write_concern,
    )


def query_parser(settings: Settings) -> QueryParser:
    """The rules parser, behind the LLM when one is configured (AURA_LLM_MODE)."""
    rules = RulesParser()
    if settings.llm_mode == "off":
        return rules
    return LLMParser.from_settings(settings, rules)


@dataclass
class Aura:
    repo: Repository
    settings: Settings
    index: CatalogIndex
    trends: EngagementTrends
    bandit: ContextualBandit
    learning: LearningLoop
    profiles: ProfileService
    behaviors: BehaviorService
    recommender: Recommender
    natural: NaturalSearch
    catalog: CatalogService
    plane: DataPlane
    _stopping: threading.Event = field(default_factory=threading.Event)
    _background: threading.Thread | None = None

    @classmethod
    def build(cls, repo: Repository, settings: Settings | None = None) -> Aura:
        settings = settings or Settings()
        index = CatalogIndex(repo, refresh_interval=settings.catalog_refresh_seconds)
        trends = EngagementTrends(repo, refresh_interval=settings.trends_refresh_seconds)
        bandit, last_seq = load_bandit(repo)
        impressions = ImpressionLog(repo)
        learning = LearningLoop(
            repo,
            bandit,
            _learning_settings(settings),
            last_seq=last_seq,
            impressions=impressions,
            sync_seconds=settings.model_sync_seconds,
        )
        learning.sync()  # catch up with what was learned after the snapshot
        ranker = LearnedRanker(bandit, trends, _ranking_settings(settings))
        profiles = ProfileService(
            repo, half_life=settings.taste_half_life, remembered=settings.known_users
        )
        behaviors = BehaviorService(repo, profiles, index, trends, learning)
        serving = Serving(repo, profiles, impressions)
        recommender = Recommender(index, ranker, trends, serving)
        natural = NaturalSearch(serving, index, ranker, query_parser(settings))
        catalog = CatalogService(repo, index)
        plane = DataPlane(
            repo,
            index,
            trends,
            profiles,
            behaviors,
            recommender,
            natural,
            catalog,
            model_version=lambda: bandit.version,
        )
        return cls(
            repo=repo,
            settings=settings,
            index=index,
            trends=trends,
            bandit=bandit,
            learning=learning,
            profiles=profiles,
            behaviors=behaviors,
            recommender=recommender,
            natural=natural,
            catalog=catalog,
            plane=plane,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Aura:
        return cls.build(open_store(settings), settings)

    def start(self) -> None:
        """Learn from every process's examples as they come (the learner thread), and run
        the chores (default rewards, model snapshots, idle users' exposure) in the
        background."""
        self.learning.start()
        self._background = threading.Thread(target=self._chores, name="aura-learning", daemon=True)
        self._background.start()

    def _chores(self) -> None:
        """Every AURA_LEARNING_SWEEP_SECONDS: learn default rewards, save a snapshot when
        one is due, and fold in the exposure of users who only looked."""
        while not self._stopping.wait(self.settings.learning_sweep_seconds):
            try:
                self.learning.learn_due_defaults()
                self.learning.save_if_due()
                self.profiles.fold_idle(self.settings.exposure_fold_seconds)
            except Exception:  # keep learning through a passing store outage
                log.exception("learning chores failed; retrying")

    def close(self) -> None:
        """Stop the chores, save the model, release the store."""
        self._stopping.set()
        if self._background is not None:
            self._background.join(timeout=30)
        try:
            self.recommender.impressions.flush(timeout=5.0)  # written behind the answers
            self.learning.stop()
            self.learning.settle(timeout=5.0)
            self.learning.save()
        finally:
            if isinstance(self.natural.parser, LLMParser):
                self.natural.parser.close()
            self.bandit.close()
            self.recommender.serving.close()
            self.repo.close()


def _learning_settings(settings: Settings) -> LearningSettings:
    return LearningSettings(
        reward_window=timedelta(hours=settings.reward_window_hours),
        reward_wait=timedelta(seconds=settings.reward_wait_seconds),
        save_every=settings.model_save_every,
        save_seconds=settings.model_save_seconds,
    )


def _ranking_settings(settings: Settings) -> RankingSettings:
    return RankingSettings(
        cold_start_weights=settings.cold_start_weights,
        candidate_pool=settings.candidate_pool,
        bandit_weight=settings.bandit_weight,
        candidate_log_share=settings.candidate_log_share,
        slate=SlatePolicy(
            epsilon=settings.exploration,
            max_per_category=settings.diversity_max_per_category,
            window=settings.diversity_window,
        ),
    )

"""Wires the domain services over one store; both doors and the CLI use this."""

from __future__ import annotations

from dataclasses import dataclass

from aura_server.config import Settings
from aura_server.domain.behaviors import BehaviorService
from aura_server.domain.catalog import CatalogService
from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.profiles import ProfileService
from aura_server.domain.ranking import DocumentedScoreRanker
from aura_server.domain.recommend import Recommender
from aura_server.store import Repository, open_repository


@dataclass
class Aura:
    repo: Repository
    index: CatalogIndex
    profiles: ProfileService
    behaviors: BehaviorService
    recommender: Recommender
    catalog: CatalogService

    @classmethod
    def build(cls, repo: Repository, settings: Settings | None = None) -> Aura:
        settings = settings or Settings()
        index = CatalogIndex(repo, refresh_interval=settings.catalog_refresh_seconds)
        profiles = ProfileService(repo)
        return cls(
            repo=repo,
            index=index,
            profiles=profiles,
            behaviors=BehaviorService(repo, profiles, index),
            recommender=Recommender(repo, index, DocumentedScoreRanker()),
            catalog=CatalogService(repo, index),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Aura:
        repo = open_repository(settings.mongodb_url, settings.mongodb_db, settings.db_path)
        return cls.build(repo, settings)

    def close(self) -> None:
        self.repo.close()

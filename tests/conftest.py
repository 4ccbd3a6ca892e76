"""Shared fixtures: every backend the repository contract runs against, and a live server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import mongomock
import pytest
from harness import NOW, Rest, Served, copy_of
from stubs import AuraStubs

from aura_server.app import Aura
from aura_server.cli.commands.catalog import write_events
from aura_server.cli.commands.demo_catalog import demo_events
from aura_server.domain.catalog import normalise_event
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.gateway import RestGateway
from aura_server.store import Repository
from aura_server.store.mongo import MongoRepository
from aura_server.store.sqlite import SQLiteRepository

BACKENDS = ["sqlite", "mongomock", "mongodb"]


def _accept_newer_pymongo_bulk_options() -> None:
    """pymongo 4.11+ passes `sort` to bulk updates; mongomock 4.3 predates it. The option
    is unused here (None), so drop it before mongomock sees it."""
    builder = mongomock.collection.BulkOperationBuilder
    original = builder.add_update

    def add_update(self: object, *args: object, sort: object = None, **kwargs: object) -> object:
        return original(self, *args, **kwargs)

    builder.add_update = add_update


_accept_newer_pymongo_bulk_options()


def make_repository(backend: str, tmp_path: Path) -> Repository:
    if backend == "sqlite":
        return SQLiteRepository(tmp_path / "aura.db")
    if backend == "mongomock":
        return MongoRepository(mongomock.MongoClient(tz_aware=True), "aura_test")
    url = os.environ.get("AURA_TEST_MONGODB_URL")
    if not url:
        pytest.skip("AURA_TEST_MONGODB_URL is not set: no real MongoDB to test against")
    repo = MongoRepository.connect(url, f"aura_test_{uuid.uuid4().hex[:8]}")
    return repo


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    repository = make_repository(request.param, tmp_path)
    yield repository
    if request.param == "mongodb":
        assert isinstance(repository, MongoRepository)
        repository.client.drop_database(repository.users.database.name)
    repository.close()


@pytest.fixture
def aura(repo: Repository) -> Aura:
    return Aura.build(repo)


@pytest.fixture
def live_server(aura: Aura) -> Iterator[grpc.Channel]:
    """The real gRPC server on a free port over the parametrised store, and a channel."""
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0, max_workers=8, health_interval=0.2)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield channel
    channel.close()
    server.stop(grace=0)


def make_catalog(path: Path, count: int = 5000) -> SQLiteRepository:
    repo = SQLiteRepository(path)
    events = [normalise_event(e) for e in demo_events(count, seed=3, start=NOW.date())]
    write_events(repo, events)
    return repo


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5,000-event demo catalog starting on NOW's day, written once per test run."""
    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    make_catalog(path).close()
    return path


@pytest.fixture
def served(catalog_file: Path, tmp_path: Path) -> Iterator[Served]:
    path = copy_of(catalog_file, tmp_path / "aura.db")
    stack = Served(path)
    yield stack
    stack.close()


@pytest.fixture
def doors(catalog_file: Path, tmp_path: Path) -> Iterator[tuple[Rest, AuraStubs, Served]]:
    path = copy_of(catalog_file, tmp_path / "aura.db")
    stack = Served(path)
    gateway = RestGateway(f"127.0.0.1:{stack.server.port}", host="127.0.0.1", port=0)
    gateway.start()
    yield Rest(gateway.port), AuraStubs(stack.channel), stack
    gateway.stop()
    stack.close()

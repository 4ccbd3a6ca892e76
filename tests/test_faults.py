"""Faults: the store goes away mid-run and comes back; a Mongo store that cannot be reached."""

from __future__ import annotations

import sqlite3
import time

import grpc
import pytest
from aura.v1 import behavior_pb2, onboarding_pb2, recommend_pb2, types_pb2
from conftest import NOW
from grpc_health.v1 import health_pb2, health_pb2_grpc
from test_ranking import Served, served  # noqa: F401 (the fixture)

from aura_server.domain.errors import StoreUnavailable
from aura_server.grpc_api.converters import timestamp
from aura_server.store.mongo import MongoRepository


def wait_for_health(channel: grpc.Channel, expected: int) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 5
    status = stub.Check(health_pb2.HealthCheckRequest()).status
    while status != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        status = stub.Check(health_pb2.HealthCheckRequest()).status
    return int(status)


def test_the_store_goes_away_and_comes_back(
    served: Served,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stubs, client = served.client, served.client
    client.onboard("ana")
    feed = client.feed("ana")
    for item in feed.items[:3]:
        client.reward("ana", item.event.event_id, types_pb2.ACTION_CLICK, feed.feed_id)
    assert not client.feed("ana").degraded

    def unreachable() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(served.aura.repo, "_conn", unreachable)
    assert wait_for_health(served.channel, health_pb2.HealthCheckResponse.NOT_SERVING) == (
        health_pb2.HealthCheckResponse.NOT_SERVING
    )
    down = client.feed("ana")
    assert down.degraded and len(down.items) == 10
    assert not down.cold_start, "ranked with the last known profile"
    highlights = stubs.recommend.Highlights(
        recommend_pb2.HighlightsRequest(user_id="ana", lat=40.7, lng=-73.95, now=timestamp(NOW))
    )
    assert highlights.degraded and highlights.items
    natural = stubs.recommend.Natural(
        recommend_pb2.NaturalRequest(
            user_id="ana", query="jazz tonight", lat=40.7, lng=-73.95, now=timestamp(NOW)
        )
    )
    assert natural.degraded and natural.items
    stranger = client.feed("never-seen")
    assert stranger.degraded and stranger.cold_start and stranger.items
    with pytest.raises(grpc.RpcError) as caught:
        stubs.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id="ana",
                action=types_pb2.ACTION_LIKE,
                event_id=down.items[0].event.event_id,
                behavior_id="while-down",
            )
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as caught:
        stubs.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="ana"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]

    monkeypatch.undo()
    assert wait_for_health(served.channel, health_pb2.HealthCheckResponse.SERVING) == (
        health_pb2.HealthCheckResponse.SERVING
    )
    assert not client.feed("ana").degraded
    logged = stubs.behavior.LogBehavior(
        behavior_pb2.LogBehaviorRequest(
            user_id="ana",
            action=types_pb2.ACTION_LIKE,
            event_id=down.items[0].event.event_id,
            behavior_id="while-down",
        )
    )
    assert not logged.duplicate, "nothing was acknowledged, or stored, while the store was down"


def test_an_unreachable_mongodb_is_unavailable_not_a_crash() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        MongoRepository.connect("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300", "aura")
    assert time.monotonic() - started < 10

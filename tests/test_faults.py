"""Faults: the store goes away mid-run and comes back; a Mongo store that cannot be reached."""

from __future__ import annotations

import sqlite3
import time

import grpc
import pytest
from aura.v1 import behavior_pb2, onboarding_pb2, recommend_pb2, types_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import NOW, Served

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
    served: Served,
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
    logged = client.log("ana", types_pb2.ACTION_LIKE, down.items[0].event.event_id, "while-down")
    assert not logged.duplicate, "nothing was acknowledged, or stored, while the store was down"


def test_an_unreachable_mongodb_is_unavailable_not_a_crash() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        MongoRepository.connect("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300", "aura")
    assert time.monotonic() - started < 10


def test_a_behavior_and_its_profile_update_commit_together(
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store error after the behavior is written but before its profile update rolls the
    behavior back too, so the client's retry (same behavior_id) applies everything once."""
    client, repo = served.client, served.aura.repo
    client.onboard("atomic")
    event_id = client.feed("atomic").items[0].event.event_id
    assert served.aura.recommender.impressions.flush()  # its write is behind the answer
    real_save = repo.save_user
    failures = [1]

    def failing_save(profile: object) -> bool:
        if failures:
            failures.pop()
            raise StoreUnavailable("sqlite: disk I/O error (injected)")
        return real_save(profile)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "save_user", failing_save)
    request = behavior_pb2.LogBehaviorRequest(
        user_id="atomic", action=types_pb2.ACTION_PURCHASE, event_id=event_id, behavior_id="b-1"
    )
    with pytest.raises(grpc.RpcError) as refused:
        client.behavior.LogBehavior(request)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert repo.get_behavior("b-1") is None, "rolled back with the failed profile update"
    before = client.onboarding.GetProfile(
        onboarding_pb2.GetProfileRequest(user_id="atomic")
    ).profile
    answer = client.behavior.LogBehavior(request)  # the retry
    assert not answer.duplicate
    after = client.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="atomic")).profile
    assert after.behavior_count == before.behavior_count + 1
    assert after.total_events_attended == before.total_events_attended + 1
    assert client.behavior.LogBehavior(request).duplicate

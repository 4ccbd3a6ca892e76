"""Two worker processes on one port: what happens through one is seen through the other."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from aura.v1 import (
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    types_pb2,
)
from harness import Workers
from stubs import AuraStubs

from aura_server.grpc_api.converters import timestamp

OCEAN = (40.45, -73.55)  # no demo event is near here


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, AuraStubs], Path]]:
    started = Workers(tmp_path)
    yield started.process, started.by_worker, tmp_path
    started.stop()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def within_a_second(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 1.0
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_writes_through_one_worker_are_seen_through_the_other(
    workers: tuple[subprocess.Popen[str], dict[str, AuraStubs], Path],
) -> None:
    process, by_worker, folder = workers
    one, other = by_worker["0"], by_worker["1"]

    one.onboarding.Onboard(
        onboarding_pb2.OnboardRequest(user_id="ana", intent=1, age=28, favorite_categories=["Jazz"])
    )
    profile = other.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="ana"))
    assert profile.profile.preferred_categories[0].name == "Jazz", "read-your-writes"

    feed = one.recommend.Feed(recommend_pb2.FeedRequest(user_id="ana", lat=40.7, lng=-73.95))
    before = other.recommend.Feed(
        recommend_pb2.FeedRequest(user_id="ana", lat=40.7, lng=-73.95)
    ).model_version
    one.feedback.SubmitReward(
        feedback_pb2.SubmitRewardRequest(
            user_id="ana",
            event_id=feed.items[0].event.event_id,
            action=types_pb2.ACTION_PURCHASE,
            feed_id=feed.feed_id,
        )
    )
    assert within_a_second(
        lambda: (
            other.recommend.Feed(
                recommend_pb2.FeedRequest(user_id="ana", lat=40.7, lng=-73.95)
            ).model_version
            != before
        )
    ), "the other worker's model learned the reward"
    after = other.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="ana"))
    assert after.profile.total_events_attended == 1

    event = types_pb2.Event(
        event_id="far-away",
        title="Boat party",
        categories=["House"],
        city="Brooklyn",
        lat=OCEAN[0],
        lng=OCEAN[1],
        starts_at=timestamp(datetime.now(UTC) + timedelta(hours=5)),
    )
    one.catalog.UpsertEvents(catalog_pb2.UpsertEventsRequest(events=[event]))
    assert within_a_second(
        lambda: (
            [
                i.event.event_id
                for i in other.recommend.Feed(
                    recommend_pb2.FeedRequest(
                        user_id="ana", lat=OCEAN[0], lng=OCEAN[1], radius_km=2
                    )
                ).items
            ]
            == ["far-away"]
        )
    ), "the other worker's catalog has the new event"

    acknowledged = []
    for n in range(20):
        stubs = one if n % 2 else other
        reply = stubs.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id="ana",
                action=types_pb2.ACTION_VIEW,
                event_id="far-away",
                behavior_id=f"stop-{n}",
            )
        )
        acknowledged.append(reply.behavior_id)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    with sqlite3.connect(folder / "aura.db") as db:
        stored = {row[0] for row in db.execute("SELECT behavior_id FROM behaviors")}
    assert set(acknowledged) <= stored


def test_the_rate_limit_holds_across_workers(tmp_path: Path) -> None:
    started = Workers(tmp_path, AURA_RATE_LIMIT="0.2", AURA_RATE_BURST="4")
    try:
        outcomes = []
        for n in range(8):
            stubs = started.by_worker[str(n % 2)]
            try:
                stubs.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="greedy"))
                outcomes.append("ok")
            except grpc.RpcError as error:
                outcomes.append(error.code().name)
        # One bucket of 4 for both workers (two would have let all 8 through); a refill
        # during the calls may add one more.
        assert outcomes.count("RESOURCE_EXHAUSTED") >= 3, outcomes
        assert set(outcomes) <= {"ok", "NOT_FOUND", "RESOURCE_EXHAUSTED"}
    finally:
        started.stop()


def test_a_dead_worker_is_replaced_and_an_orphaned_one_stops(tmp_path: Path) -> None:
    started = Workers(tmp_path)
    try:
        time.sleep(5.5)  # a worker that dies at once is not restarted (it would spin)
        first, _second = started.worker_pids()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while first in started.worker_pids() or len(started.worker_pids()) < 2:
            assert time.monotonic() < deadline, started.lines
            time.sleep(0.1)
        assert "worker 0 died" in "".join(started.lines) or "worker 1 died" in "".join(
            started.lines
        )
        started.by_worker = started.connect()  # both answer again
        workers = started.worker_pids()
        started.process.kill()  # the supervisor dies without a word to its workers
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "orphaned workers stop"
            time.sleep(0.1)
    finally:
        started.stop()

"""Two worker processes on one port: what happens through one is seen through the other."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from aura.client import AuraStubs
from aura.v1 import (
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    types_pb2,
)
from test_server_process import free_port

from aura_server.grpc_api.converters import timestamp

AURA = str(Path(sys.executable).with_name("aura"))
OCEAN = (40.45, -73.55)  # no demo event is near here


def worker_of(stubs: AuraStubs) -> str:
    _, call = stubs.recommend.Feed.with_call(
        recommend_pb2.FeedRequest(user_id="probe", lat=40.7, lng=-73.95, limit=1)
    )
    return dict(call.initial_metadata())["x-aura-worker"]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, AuraStubs], Path]]:
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db"), "AURA_AUTH": "disabled"}
    env.pop("MONGODB_URL", None)
    subprocess.run(
        [AURA, "catalog", "seed-demo", "--count", "400"],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            AURA,
            "serve",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            str(free_port()),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    by_worker: dict[str, AuraStubs] = {}
    deadline = time.monotonic() + 60
    while len(by_worker) < 2 and time.monotonic() < deadline:
        # A local subchannel pool gives every channel its own connection, which the kernel
        # hands to either worker.
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        try:
            grpc.channel_ready_future(channel).result(timeout=10)
            stubs = AuraStubs(channel)
            by_worker.setdefault(worker_of(stubs), stubs)
        except grpc.FutureTimeoutError:
            time.sleep(0.2)
    assert sorted(by_worker) == ["0", "1"], "both workers answer"
    yield process, by_worker, tmp_path
    if process.poll() is None:
        process.kill()


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

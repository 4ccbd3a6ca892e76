"""A bounded soak: concurrent clients with mixed traffic against the real server.

About 20 s in `make test`; AURA_SOAK_SECONDS=600 for a long run. No errors beyond
deliberate rate limits, every acknowledged write stored exactly once, memory flat after
warm-up."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

import grpc
from aura.v1 import (
    behavior_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    types_pb2,
)
from harness import NOW, copy_of
from stubs import AuraStubs

from aura_server.app import Aura
from aura_server.grpc_api.converters import timestamp
from aura_server.grpc_api.server import GrpcServer
from aura_server.store.sqlite import SQLiteRepository

SECONDS = float(os.environ.get("AURA_SOAK_SECONDS", "20"))
CLIENTS = 8
QUERIES = ["jazz tonight", "free comedy this weekend", "techno in bushwick under $30", "yoga"]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_soak(catalog_file: Path, tmp_path: Path) -> None:
    path = copy_of(catalog_file, tmp_path / "aura.db")
    aura = Aura.build(SQLiteRepository(path))
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0, max_workers=16)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stubs = AuraStubs(channel)
    acknowledged: list[str] = []
    errors: list[str] = []
    calls = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS
    memory: dict[str, float] = {}

    def client(number: int) -> None:
        rng = random.Random(number)
        users = [f"soak-{number}-{k}" for k in range(5)]
        for user in users:
            stubs.onboarding.Onboard(onboarding_pb2.OnboardRequest(user_id=user, intent=1, age=25))
        sequence = 0
        while time.monotonic() < stop_at:
            user = rng.choice(users)
            kind = rng.random()
            sequence += 1
            try:
                if kind < 0.45:
                    feed = stubs.recommend.Feed(
                        recommend_pb2.FeedRequest(
                            user_id=user, lat=40.7, lng=-73.95, limit=10, now=timestamp(NOW)
                        )
                    )
                    if feed.items:
                        event_id = rng.choice(feed.items).event.event_id
                        behavior_id = f"{user}-{sequence}"
                        if rng.random() < 0.5:
                            stubs.behavior.LogBehavior(
                                behavior_pb2.LogBehaviorRequest(
                                    user_id=user,
                                    action=types_pb2.ACTION_CLICK,
                                    event_id=event_id,
                                    feed_id=feed.feed_id,
                                    behavior_id=behavior_id,
                                )
                            )
                        else:
                            stubs.feedback.SubmitReward(
                                feedback_pb2.SubmitRewardRequest(
                                    user_id=user,
                                    event_id=event_id,
                                    action=types_pb2.ACTION_LIKE,
                                    feed_id=feed.feed_id,
                                    behavior_id=behavior_id,
                                )
                            )
                        with lock:
                            acknowledged.append(behavior_id)
                elif kind < 0.7:
                    stubs.recommend.Natural(
                        recommend_pb2.NaturalRequest(
                            user_id=user,
                            query=rng.choice(QUERIES),
                            lat=40.7,
                            lng=-73.95,
                            now=timestamp(NOW),
                        )
                    )
                elif kind < 0.85:
                    stubs.recommend.Highlights(
                        recommend_pb2.HighlightsRequest(
                            user_id=user, lat=40.7, lng=-73.95, now=timestamp(NOW)
                        )
                    )
                else:
                    stubs.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id=user))
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
                    with lock:
                        errors.append(f"{error.code()}: {error.details()}")  # type: ignore[attr-defined]
            with lock:
                calls[0] += 1

    def sample_memory() -> None:
        time.sleep(min(5.0, SECONDS / 4))
        memory["warm"] = rss_mb()
        while time.monotonic() < stop_at:
            time.sleep(0.5)
        memory["end"] = rss_mb()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=sample_memory))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    channel.close()
    server.stop(grace=1)
    aura.close()

    assert errors == []
    assert calls[0] > 200, calls
    with sqlite3.connect(path) as db:
        stored = dict(db.execute("SELECT behavior_id, COUNT(*) FROM behaviors GROUP BY 1"))
    assert all(stored.get(behavior_id) == 1 for behavior_id in acknowledged)
    growth = memory["end"] - memory["warm"]
    print(
        f"soak: {calls[0]} calls in {SECONDS:.0f} s, rss {memory['warm']:.0f} -> "
        f"{memory['end']:.0f} MB"
    )
    assert growth < 60, f"memory grew {growth:.0f} MB after warm-up"

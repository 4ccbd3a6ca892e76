"""Plain grpcio servers that do a request's essential work and nothing else: the anchors
`make bench-ceiling` measures Aura against, on the same machine in the same run.

    python scripts/bare_servers.py health PORT
    python scripts/bare_servers.py feed PORT AURA_DB          (reads the catalog once)
    python scripts/bare_servers.py logbehavior PORT DB        (its own SQLite file)

- health: grpc.health.v1 Check only (the ceiling).
- feed: RecommendService/Feed that really ranks, in numpy over every event per request
  (start window, great-circle distance and radius, the user's taste for each event's best
  category, nearness, a price fit, popularity), `argpartition` to the top `limit`, and the
  answer built from Event messages made once at start. A user's tastes are made up on
  first sight (a vector per user, kept in a dict): thousands of users cost what one does.
- logbehavior: BehaviorService/LogBehavior as one SQLite insert committed per request, in
  WAL mode with synchronous=FULL (durable, no group commit).

Each runs a thread-pool server with SO_REUSEPORT, so several processes share the port as
Aura's workers do; `health-aio` and `feed-aio` run the same work on grpc.aio instead, to
compare the two server loops.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import threading
import time
import uuid
from concurrent import futures
from typing import Any

import grpc
import numpy as np
from aura.v1 import (
    behavior_pb2,
    behavior_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
    types_pb2,
)
from grpc_health.v1 import health, health_pb2_grpc

from aura_server.cli.tuning import collect_garbage_for_serving, schedule_for_throughput
from aura_server.config import Settings

# As many handler threads as Aura runs (AURA_GRPC_THREADS), so the comparison is like for
# like: a grpcio server's thread count moves its throughput by a fifth on these cores.
THREADS = Settings.from_env(dotenv=False).grpc_threads
WINDOW_SECONDS = 14 * 86400
EARTH_RADIUS_KM = 6371.0088


class BareFeed(recommend_pb2_grpc.RecommendServiceServicer):
    def __init__(self, db_path: str) -> None:
        from aura_server.domain.taxonomy import CATEGORY_CODES
        from aura_server.grpc_api.converters import event_to_proto
        from aura_server.store.sqlite import SQLiteRepository

        events = SQLiteRepository(db_path).active_events()
        self.messages = [event_to_proto(event) for event in events]
        lat = np.radians([e.lat for e in events])
        self.lat, self.lng, self.cos_lat = lat, np.radians([e.lng for e in events]), np.cos(lat)
        self.starts = np.array([e.starts_at.timestamp() for e in events])
        self.price = np.array([e.price_min if e.price_min is not None else 0.0 for e in events])
        self.popularity = np.log1p(np.maximum([e.popularity for e in events], 0.0))
        self.category = np.array([CATEGORY_CODES[e.categories[0]] for e in events])
        self.categories = len(CATEGORY_CODES)
        self.tastes: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def taste(self, user_id: str) -> np.ndarray:
        taste = self.tastes.get(user_id)
        if taste is None:
            seed = int.from_bytes(hashlib.sha1(user_id.encode()).digest()[:4], "big")
            taste = np.random.default_rng(seed).uniform(0.05, 0.9, self.categories)
            with self._lock:
                self.tastes[user_id] = taste
        return taste

    def Feed(self, request: recommend_pb2.FeedRequest, context: Any) -> recommend_pb2.FeedResponse:
        now = time.time()
        limit = request.limit or 30
        phi, lam = np.radians(request.lat), np.radians(request.lng)
        a = (
            np.sin((self.lat - phi) / 2) ** 2
            + np.cos(phi) * self.cos_lat * np.sin((self.lng - lam) / 2) ** 2
        )
        distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
        keep = (self.starts >= now) & (self.starts <= now + WINDOW_SECONDS) & (distance <= 30.0)
        rows = np.flatnonzero(keep)
        score = (
            self.taste(request.user_id)[self.category[rows]]
            * np.exp(-distance[rows] / 2.5)
            * np.exp(-np.maximum(self.price[rows] - 40.0, 0.0) / 14.0)
            * (0.85 + 0.15 * self.popularity[rows] / max(self.popularity.max(), 1e-9))
        )
        top = np.argpartition(-score, limit)[:limit] if len(rows) > limit else np.arange(len(rows))
        top = top[np.argsort(-score[top])]
        return recommend_pb2.FeedResponse(
            feed_id=uuid.uuid4().hex,
            items=[
                types_pb2.FeedItem(
                    event=self.messages[rows[i]],
                    score=float(score[i]),
                    position=position,
                    reason="personalized",
                    propensity=1.0,
                )
                for position, i in enumerate(top.tolist())
            ],
            model_version="bare",
        )


class BareLogBehavior(behavior_pb2_grpc.BehaviorServiceServicer):
    def __init__(self, db_path: str) -> None:
        self.path = db_path
        self.local = threading.local()
        with sqlite3.connect(db_path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS behaviors (behavior_id TEXT PRIMARY KEY, "
                "user_id TEXT, action INTEGER, event_id TEXT, occurred_at REAL)"
            )

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")
            self.local.conn = conn
        return conn

    def LogBehavior(
        self, request: behavior_pb2.LogBehaviorRequest, context: Any
    ) -> behavior_pb2.LogBehaviorResponse:
        behavior_id = request.behavior_id or uuid.uuid4().hex
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT OR IGNORE INTO behaviors VALUES (?, ?, ?, ?, ?)",
            (behavior_id, request.user_id, request.action, request.event_id, time.time()),
        )
        conn.execute("COMMIT")
        return behavior_pb2.LogBehaviorResponse(behavior_id=behavior_id)


def main_aio() -> None:
    import asyncio

    kind, port = sys.argv[1].removesuffix("-aio"), sys.argv[2]

    async def serve() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
        if kind == "feed":
            bare = BareFeed(sys.argv[3])

            class AioFeed(recommend_pb2_grpc.RecommendServiceServicer):
                async def Feed(self, request: Any, context: Any) -> Any:
                    return bare.Feed(request, context)

            recommend_pb2_grpc.add_RecommendServiceServicer_to_server(AioFeed(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(serve())


def main() -> None:
    kind, port = sys.argv[1], sys.argv[2]
    schedule_for_throughput()  # tuned as Aura's workers are: like for like
    if kind.endswith("-aio"):
        main_aio()
        return
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=THREADS), options=[("grpc.so_reuseport", 1)]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    if kind == "feed":
        recommend_pb2_grpc.add_RecommendServiceServicer_to_server(BareFeed(sys.argv[3]), server)
    elif kind == "logbehavior":
        behavior_pb2_grpc.add_BehaviorServiceServicer_to_server(
            BareLogBehavior(sys.argv[3]), server
        )
    elif kind != "health":
        raise SystemExit(f"unknown kind {kind!r}: health, feed or logbehavior")
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    collect_garbage_for_serving()
    server.wait_for_termination()


if __name__ == "__main__":
    main()

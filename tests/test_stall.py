"""A stalled store (another process holding SQLite's write lock, as a backup, a stuck
writer or a slow disk would) must not stop the read path: feeds keep coming at their
usual speed, writes are refused quickly as retryable, and everything recovers at once."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import grpc
import mongomock
import pymongo
import pytest
from aura.v1 import behavior_pb2, recommend_pb2, types_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from harness import NOW, Served, copy_of

from aura_server.cli.commands.catalog import write_events
from aura_server.cli.commands.demo_catalog import demo_events
from aura_server.domain.catalog import normalise_event
from aura_server.domain.impressions import ImpressionLog
from aura_server.domain.models import Impression, utcnow
from aura_server.grpc_api.converters import timestamp
from aura_server.store.mongo import OPERATION_TIMEOUT_SECONDS, MongoRepository

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@pytest.fixture
def stack(catalog_file: Path, tmp_path: Path) -> Iterator[Served]:
    served = Served(copy_of(catalog_file, tmp_path / "aura.db"))
    yield served
    served.close()


def hold_the_store(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_held_store_stops_no_feed_and_refuses_writes_quickly(stack: Served) -> None:
    client = stack.client
    client.onboard("reader")
    before = client.feed("reader")
    assert not before.degraded
    holder = hold_the_store(Path(stack.aura.repo.path), 6.0)  # type: ignore[attr-defined]
    try:
        timings, degraded = [], []
        for number in range(20):
            if number == 10:
                time.sleep(1.2)  # the first impressions have waited a while now
            started = time.monotonic()
            feed = client.feed("reader", limit=10)
            timings.append(time.monotonic() - started)
            degraded.append(feed.degraded)
            assert len(feed.items) == 10
        natural = client.recommend.Natural(
            recommend_pb2.NaturalRequest(
                user_id="reader", query="jazz tonight", lat=40.7, lng=-73.95, now=timestamp(NOW)
            ),
            timeout=2,
        )
        assert natural.items
        assert max(timings) < 0.5, timings
        assert degraded[-1], "once impressions cannot be written, feeds say so"

        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as refused:
            client.behavior.LogBehavior(
                behavior_pb2.LogBehaviorRequest(
                    user_id="reader",
                    action=types_pb2.ACTION_CLICK,
                    event_id=before.items[0].event.event_id,
                    behavior_id="while-held",
                ),
                timeout=5,
            )
        assert time.monotonic() - started < 2.0, "refused within the write budget"
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
        assert status is not None
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    finally:
        holder.wait(timeout=30)  # let go of the lock
    logged = client.log(
        "reader", types_pb2.ACTION_CLICK, before.items[0].event.event_id, "while-held"
    )
    assert not logged.duplicate, "nothing was stored while the store was held"
    assert not client.feed("reader").degraded, "recovery is immediate"
    assert stack.aura.recommender.impressions.flush(timeout=15)
    assert stack.aura.repo.get_impression(before.feed_id) is not None


@contextmanager
def a_server_that_never_answers() -> Iterator[str]:
    """A TCP port that takes connections and never says a word, as a MongoDB primary that
    stopped answering does (a partition, a hung host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    taken: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                taken.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"mongodb://127.0.0.1:{listener.getsockname()[1]}/?serverSelectionTimeoutMS=3000"
    finally:
        listener.close()
        for connection in taken:
            connection.close()


def test_a_mongodb_that_stops_answering_stops_no_feed_and_refuses_writes_quickly() -> None:
    """The store starts on mongomock, then its collections are switched to real pymongo
    collections of a server that never answers: every request's operation must give up
    within the repository's budget, and the read path must not wait at all once it knows."""
    repo = MongoRepository(mongomock.MongoClient(tz_aware=True), "aura_stall")
    write_events(repo, [normalise_event(e) for e in demo_events(1000, seed=3, start=NOW.date())])
    # Every collection the repository holds, found rather than listed.
    answering = {
        name: value for name, value in vars(repo).items() if isinstance(value, mongomock.Collection)
    }
    stack = Served(repo)
    client = stack.client
    try:
        client.onboard("reader")
        before = client.feed("reader")
        assert not before.degraded
        with a_server_that_never_answers() as url, pymongo.MongoClient(url) as silent:
            for name, collection in answering.items():
                setattr(repo, name, silent["aura_stall"][collection.name])
            timings, degraded = [], []
            for _ in range(20):
                started = time.monotonic()
                feed = client.feed("reader", limit=10)
                timings.append(time.monotonic() - started)
                degraded.append(feed.degraded)
                assert len(feed.items) == 10
            assert max(timings) < 0.5, timings
            assert sorted(timings)[10] < 0.1, "once the store is known stuck, feeds do not wait"
            assert all(degraded), "every feed without a fresh profile says so"

            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as refused:
                client.log("reader", types_pb2.ACTION_CLICK, before.items[0].event.event_id, "held")
            assert time.monotonic() - started < 2.5, "refused within the operation budget"
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
            status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
            assert status is not None
            assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
            for name, collection in answering.items():
                setattr(repo, name, collection)
        time.sleep(OPERATION_TIMEOUT_SECONDS + 0.2)  # the stuck read gives up
        clicked = before.items[0].event.event_id
        logged = client.log("reader", types_pb2.ACTION_CLICK, clicked, "held")
        assert not logged.duplicate, "nothing was stored while the store was stuck"
        assert not client.feed("reader").degraded, "recovery is immediate"
    finally:
        stack.close()


class QueuedWriter:
    """The write side of a store: one thread runs each write `delay` seconds after the
    last, or none at all while `held` (another process holding the store)."""

    def __init__(self, delay: float, held: bool) -> None:
        self.pool = ThreadPoolExecutor(1)
        self.delay = delay
        self.released = threading.Event()
        if not held:
            self.released.set()

    def submit(self, work: Callable[[], None]) -> Future[None]:
        def run() -> None:
            self.released.wait()
            time.sleep(self.delay)
            work()

        return self.pool.submit(run)

    def insert_impressions(self, impressions: list[Impression]) -> None:
        """Written (by the delayed job that calls this)."""


def shown(number: int, age: float) -> Impression:
    return Impression(
        feed_id=f"feed-{number}",
        user_id="u",
        kind="feed",
        created_at=utcnow() - timedelta(seconds=age),
        context={},
        items=[],
        model_version="",
    )


@pytest.mark.parametrize("held", [False, True])
def test_a_busy_writer_is_not_a_stalled_store(held: bool) -> None:
    """A slow writer (a write every 0.25 s, a list every 0.1 s) keeps up, as each write
    takes every list queued by then: lists are not degraded. A store that writes nothing
    is stalled: once its oldest list has waited a second, lists say so."""
    store = QueuedWriter(delay=0.25, held=held)
    log = ImpressionLog(store)  # type: ignore[arg-type]
    answers = []
    for number in range(25):
        answers.append(log.log(shown(number, age=0.0)))
        time.sleep(0.1)
    waiting = [i.created_at for i in log._pending.values()]
    oldest = (utcnow() - min(waiting)).total_seconds() if waiting else 0.0
    if held:
        assert oldest > 1.0 and len(waiting) == 25, "nothing was written"
    else:
        assert oldest < 0.75 and len(waiting) <= 4, "a slow writer keeps up, many lists a write"
    assert answers[-1] is (not held)
    store.released.set()
    store.pool.shutdown(wait=False, cancel_futures=True)

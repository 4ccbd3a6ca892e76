"""A stalled store (another process holding SQLite's write lock, as a backup, a stuck
writer or a slow disk would) must not stop the read path: feeds keep coming at their
usual speed, writes are refused quickly as retryable, and everything recovers at once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aura.v1 import behavior_pb2, recommend_pb2, types_pb2
from conftest import NOW, copy_of
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from test_ranking import Served

from aura_server.grpc_api.converters import timestamp

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

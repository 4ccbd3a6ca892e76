"""Metrics and structured logs from a real two-worker server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from aura.v1 import behavior_pb2, onboarding_pb2, recommend_pb2, types_pb2
from harness import Workers

from aura_server.telemetry.metrics import remove_orphaned_folders

TOKEN = "secret-looking-token-value-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_add_up_over_workers_and_every_call_logs_one_json_line(tmp_path: Path) -> None:
    started = Workers(tmp_path)
    try:
        line = started.serving()[0]
        rest_port = int(re.search(r"REST on http://[^:]+:(\d+)", line)[1])  # type: ignore[index]
        admin_port = int(re.search(r"pages on http://[^:]+:(\d+)", line)[1])  # type: ignore[index]
        metadata = (("authorization", f"Bearer {TOKEN}"), ("x-request-id", "req-telemetry"))
        feeds = 0
        for worker, stubs in started.by_worker.items():
            stubs.onboarding.Onboard(
                onboarding_pb2.OnboardRequest(user_id=f"t{worker}", intent=1, age=30),
                metadata=metadata,
            )
            for _ in range(3):
                feed = stubs.recommend.Feed(
                    recommend_pb2.FeedRequest(user_id=f"t{worker}", lat=40.7, lng=-73.95),
                    metadata=metadata,
                )
                feeds += 1
            stubs.behavior.LogBehavior(
                behavior_pb2.LogBehaviorRequest(
                    user_id=f"t{worker}",
                    action=types_pb2.ACTION_VIEW,
                    event_id=feed.items[0].event.event_id,
                )
            )
            with pytest.raises(grpc.RpcError):
                stubs.recommend.Feed(recommend_pb2.FeedRequest(user_id="", lat=40.7, lng=-73.95))
        with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/v1/health") as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics") as answer:
            text = answer.read().decode()
        # Both workers' calls, in one view (plus the probes that found the workers).
        assert sample(text, "aura_requests_total", rpc="Feed", door="grpc", code="OK") >= feeds
        assert sample(text, "aura_requests_total", rpc="Feed", code="INVALID_ARGUMENT") == 2
        assert sample(text, "aura_requests_total", rpc="GetStatus", door="rest") == 1
        assert sample(text, "aura_behaviors_total", action="view") == 2
        assert sample(text, "aura_catalog_events") == 400
        assert sample(text, "aura_feed_slots_total", choice="greedy") > 0
        assert sample(text, "aura_store_seconds_count", operation="insert_behavior") == 2
        assert "aura_request_seconds_bucket" in text

        started.process.terminate()
        started.process.wait(timeout=30)
        time.sleep(0.2)
        lines = [json.loads(line) for line in started.lines if line.startswith("{")]
        requests = [line for line in lines if line.get("rpc") == "Feed"]
        assert len(requests) >= feeds + 2
        tagged = [line for line in requests if line["request_id"] == "req-telemetry"]
        assert len(tagged) == feeds
        assert {line["worker"] for line in tagged} == {"0", "1"}
        for line in tagged:
            assert line["status"] == "OK" and line["latency_ms"] > 0
            assert line["user_id"].startswith("t") and line["door"] == "grpc"
        assert TOKEN not in "".join(started.lines), "no token in the logs"
    finally:
        started.stop()


def test_the_metrics_folders_of_servers_that_died_are_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    orphaned = tmp_path / f"aura-metrics-{finished.pid}-x1y2"
    orphaned.mkdir()
    (orphaned / "counter_1.db").write_bytes(b"\0" * 64)
    running = tmp_path / f"aura-metrics-{os.getpid()}-a1b2"
    running.mkdir()
    unattributed = tmp_path / "aura-metrics-q7r8"  # no owner in the name: left alone
    unattributed.mkdir()
    remove_orphaned_folders(str(tmp_path))
    assert not orphaned.exists()
    assert running.exists() and unattributed.exists()

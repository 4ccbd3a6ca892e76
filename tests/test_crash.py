"""Acknowledged writes survive SIGKILL; SIGTERM stops gracefully and saves the model."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aura.v1 import behavior_pb2, feedback_pb2, onboarding_pb2, types_pb2
from harness import free_port
from stubs import AuraStubs

AURA = str(Path(sys.executable).with_name("aura"))


class Process:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        env = {**os.environ, "AURA_DB_PATH": str(folder / "aura.db"), "AURA_AUTH": "disabled"}
        env.pop("MONGODB_URL", None)
        self.process = subprocess.Popen(
            [
                AURA,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-http",
                "--admin-port",
                "0",
                "--workers",
                "1",
            ],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stubs = AuraStubs(self.channel)

    def stop(self, sig: int) -> int:
        self.channel.close()
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Path]:
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db")}
    subprocess.run(
        [AURA, "catalog", "seed-demo", "--count", "300"],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    yield tmp_path


def test_acknowledged_writes_survive_sigkill(seeded: Path) -> None:
    server = Process(seeded)
    server.stubs.onboarding.Onboard(onboarding_pb2.OnboardRequest(user_id="k", intent=1, age=30))
    acknowledged = []
    for n in range(60):
        reply = server.stubs.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id="k",
                action=types_pb2.ACTION_VIEW,
                event_id=f"demo-{n:05d}",
                behavior_id=f"kill-{n}",
            )
        )
        acknowledged.append(reply.behavior_id)
    for n in range(60, 80):
        reply = server.stubs.feedback.SubmitReward(
            feedback_pb2.SubmitRewardRequest(
                user_id="k",
                event_id=f"demo-{n:05d}",
                action=types_pb2.ACTION_LIKE,
                behavior_id=f"kill-{n}",
            )
        )
        acknowledged.append(reply.behavior_id)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    with sqlite3.connect(seeded / "aura.db") as db:
        stored = dict(db.execute("SELECT behavior_id, COUNT(*) FROM behaviors GROUP BY 1"))
    assert all(stored.get(behavior_id) == 1 for behavior_id in acknowledged)

    again = Process(seeded)
    try:
        profile = again.stubs.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="k"))
        assert profile.profile.behavior_count == 80
        repeat = again.stubs.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id="k",
                action=types_pb2.ACTION_VIEW,
                event_id="demo-00000",
                behavior_id="kill-0",
            )
        )
        assert repeat.duplicate
    finally:
        assert again.stop(signal.SIGTERM) == 0


def test_sigterm_stops_gracefully_and_saves_the_model(seeded: Path) -> None:
    server = Process(seeded)
    assert server.stop(signal.SIGTERM) == 0
    with sqlite3.connect(seeded / "aura.db") as db:
        assert db.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 1

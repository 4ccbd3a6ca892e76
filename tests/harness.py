"""What the tests share: the held moment, events, a served Aura stack and its clients,
free ports. Fixtures that use them are in conftest.py."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from aura.v1 import behavior_pb2, feedback_pb2, onboarding_pb2, recommend_pb2, types_pb2
from stubs import AuraStubs

from aura_server.access.tokens import TokenVerifier
from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.domain.models import Event
from aura_server.grpc_api.converters import timestamp
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.gateway import RestGateway
from aura_server.store import Repository
from aura_server.store.sqlite import SQLiteRepository

NOW = datetime(2026, 6, 5, 16, 0, tzinfo=UTC)  # a Friday noon in New York
WILLIAMSBURG = (40.7081, -73.9571)
AURA = str(Path(sys.executable).with_name("aura"))
PICK_PORTS = ("--port", "0", "--http-port", "0")


def make_event(event_id: str, **overrides: object) -> Event:
    fields: dict[str, object] = {
        "event_id": event_id,
        "title": f"Event {event_id}",
        "categories": ["Techno"],
        "city": "Brooklyn",
        "neighborhood": "Bushwick",
        "lat": 40.6944,
        "lng": -73.9213,
        "starts_at": NOW + timedelta(days=1),
        "price_min": 20.0,
        "price_max": 30.0,
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def copy_of(catalog_file: Path, target: Path) -> Path:
    """A store of its own for one test, holding the shared demo catalog."""
    target.write_bytes(catalog_file.read_bytes())
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client(AuraStubs):
    def feed(self, user_id: str, limit: int = 10, **fields: object) -> recommend_pb2.FeedResponse:
        request = recommend_pb2.FeedRequest(
            user_id=user_id,
            lat=WILLIAMSBURG[0],
            lng=WILLIAMSBURG[1],
            limit=limit,
            now=timestamp(NOW),
            **fields,  # type: ignore[arg-type]
        )
        return self.recommend.Feed(request)

    def onboard(self, user_id: str, age: int = 27, intent: int = types_pb2.INTENT_EXPLORE) -> None:
        self.onboarding.Onboard(
            onboarding_pb2.OnboardRequest(
                user_id=user_id,
                intent=intent,
                age=age,  # type: ignore[arg-type]
                neighborhood="Williamsburg",
            )
        )

    def reward(self, user_id: str, event_id: str, action: int, feed_id: str) -> None:
        self.feedback.SubmitReward(
            feedback_pb2.SubmitRewardRequest(
                user_id=user_id,
                event_id=event_id,
                action=action,
                feed_id=feed_id,  # type: ignore[arg-type]
            )
        )

    def view(
        self, user_id: str, event_id: str, feed_id: str, position: int | None = None
    ) -> behavior_pb2.LogBehaviorResponse:
        return self.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id=user_id,
                action=types_pb2.ACTION_VIEW,
                event_id=event_id,
                feed_id=feed_id,
                position=position,
            )
        )

    def log(
        self, user_id: str, action: int, event_id: str, behavior_id: str = ""
    ) -> behavior_pb2.LogBehaviorResponse:
        return self.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id=user_id, action=action, event_id=event_id, behavior_id=behavior_id
            )
        )


class Served:
    """An Aura stack over a SQLite file (or another store), served on a free port."""

    def __init__(
        self,
        path: Path | Repository,
        settings: Settings | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        repo = SQLiteRepository(path) if isinstance(path, Path) else path
        self.aura = Aura.build(repo, settings or Settings())
        self.server = GrpcServer(
            self.aura.plane, host="127.0.0.1", port=0, health_interval=0.2, verifier=verifier
        )
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.server.port}")
        self.client = Client(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.server.stop(grace=0)
        self.aura.close()


class Rest:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            payload = error.read()
            return error.code, dict(error.headers), json.loads(payload) if payload else None


SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class Secured(Served):
    """A served stack with token checks on, and its REST door."""

    def __init__(self, path: Path, settings: Settings) -> None:
        super().__init__(path, settings, verifier=TokenVerifier.from_settings(settings))
        self.stubs = AuraStubs(self.channel)
        self.gateway = RestGateway(f"127.0.0.1:{self.server.port}", host="127.0.0.1", port=0)
        self.gateway.start()
        self.rest = Rest(self.gateway.port)

    def close(self) -> None:
        self.gateway.stop()
        super().close()


def worker_of(stubs: AuraStubs) -> str:
    _, call = stubs.recommend.Feed.with_call(
        recommend_pb2.FeedRequest(user_id="probe", lat=40.7, lng=-73.95, limit=1)
    )
    return dict(call.trailing_metadata())["x-aura-worker"]


class Workers:
    """`aura serve --workers 2` on ports it picks itself, and a channel to each worker."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.folder = folder
        environ = {**os.environ, "AURA_DB_PATH": str(folder / "aura.db"), "AURA_AUTH": "disabled"}
        environ.pop("MONGODB_URL", None)
        environ.update(env)
        subprocess.run(
            [AURA, "catalog", "seed-demo", "--count", "400"],
            env=environ,
            check=True,
            capture_output=True,
            cwd=folder,
        )
        self.process = subprocess.Popen(
            [AURA, "serve", "--workers", "2", "--host", "127.0.0.1", *PICK_PORTS],
            env=environ,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while len(self.serving()) < 2:
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("".join(self.lines))
            time.sleep(0.1)
        ports = {re.search(r"gRPC on port (\d+)", line)[1] for line in self.serving()}  # type: ignore[index]
        assert len(ports) == 1, f"both workers serve one port: {self.serving()}"
        self.port = int(ports.pop())
        self.by_worker = self.connect()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def serving(self) -> list[str]:
        return [line for line in self.lines if " serving " in line]

    def connect(self) -> dict[str, AuraStubs]:
        by_worker: dict[str, AuraStubs] = {}
        deadline = time.monotonic() + 60
        while len(by_worker) < 2 and time.monotonic() < deadline:
            # A local subchannel pool gives every channel its own connection, which the
            # kernel hands to either worker.
            channel = grpc.insecure_channel(
                f"127.0.0.1:{self.port}", options=[("grpc.use_local_subchannel_pool", 1)]
            )
            try:
                grpc.channel_ready_future(channel).result(timeout=10)
                stubs = AuraStubs(channel)
                by_worker.setdefault(worker_of(stubs), stubs)
            except (grpc.FutureTimeoutError, grpc.RpcError):
                time.sleep(0.2)
        assert sorted(by_worker) == ["0", "1"], "both workers answer"
        return by_worker

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

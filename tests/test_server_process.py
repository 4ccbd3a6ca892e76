"""The installed `aura` command, started as a user would, explored through reflection."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aura.v1 import catalog_pb2, catalog_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from harness import free_port

from aura_server.grpc_api.server import SERVICE_NAMES

AURA = str(Path(sys.executable).with_name("aura"))


NO_HTTP = ("--no-http", "--admin-port", "0")  # gRPC only; the operators' door on any port


def run_aura(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db"), "AURA_AUTH": "disabled"}
    env.pop("MONGODB_URL", None)
    return subprocess.run(
        [AURA, *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, grpc.Channel]]:
    tmp_path = tmp_path_factory.mktemp("served")
    seeded = run_aura(tmp_path, "catalog", "seed-demo", "--count", "600")
    assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db"), "AURA_AUTH": "disabled"}
    env.pop("MONGODB_URL", None)
    process = subprocess.Popen(
        [AURA, "serve", "--host", "127.0.0.1", "--port", str(port), "--http-port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=30)
        yield port, channel
    finally:
        channel.close()
        process.terminate()
        process.wait(timeout=15)


def test_reflection_lists_every_service(served: tuple[int, grpc.Channel]) -> None:
    _, channel = served
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert set(SERVICE_NAMES) <= services
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
    assert len(SERVICE_NAMES) == 6


def test_seeded_catalog_is_served(served: tuple[int, grpc.Channel]) -> None:
    _, channel = served
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    page = catalog_pb2_grpc.CatalogServiceStub(channel).ListEvents(
        catalog_pb2.ListEventsRequest(page_size=5)
    )
    assert len(page.events) == 5 and page.next_page_token


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed")
def test_buf_curl_calls_through_reflection(served: tuple[int, grpc.Channel]) -> None:
    port, _ = served
    result = subprocess.run(
        [
            "npx",
            "--yes",
            "@bufbuild/buf@1.75.0",
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "-d",
            '{"user_id": "buf-user", "lat": 40.7081, "lng": -73.9571, "limit": 3}',
            f"http://127.0.0.1:{port}/aura.v1.RecommendService/Feed",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert len(reply["items"]) == 3 and reply["coldStart"] is True


def test_server_refuses_a_taken_port(tmp_path: Path, served: tuple[int, grpc.Channel]) -> None:
    port, _ = served
    started = time.monotonic()
    result = run_aura(
        tmp_path, "serve", "--host", "127.0.0.1", "--port", str(port), "--http-port", "0"
    )
    assert result.returncode != 0
    assert f"aura: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert time.monotonic() - started < 60


def test_auth_is_on_by_default_and_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db")}
    for name in ("AURA_AUTH", "SECRET_KEY", "AURA_JWT_PUBLIC_KEY", "AURA_JWKS_FILE"):
        env.pop(name, None)
    result = subprocess.run(
        [AURA, "serve", "--host", "127.0.0.1", "--port", str(free_port()), *NO_HTTP],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "SECRET_KEY" in result.stderr


def test_port_zero_gives_both_doors_free_ports(tmp_path: Path) -> None:
    """A developer's own `make run` may hold 8000 and 50051: --port 0 must not fall back
    to 8000 for the REST door."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", 8000))
        blocker.listen()
    except OSError:
        pass  # something else holds 8000 already, which is the point
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db"), "AURA_AUTH": "disabled"}
    env.pop("MONGODB_URL", None)
    process = subprocess.Popen(
        [AURA, "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        while line and "serving" not in line:
            line = process.stderr.readline()
        found = re.search(r"gRPC on port (\d+), REST on http://[^:]+:(\d+)", line)
        assert found, line
        assert int(found.group(2)) != 8000
        with urllib.request.urlopen(f"http://127.0.0.1:{found.group(2)}/v1/health") as reply:
            assert json.loads(reply.read())["status"] == "SERVING"
    finally:
        process.terminate()
        process.wait(timeout=15)
        blocker.close()

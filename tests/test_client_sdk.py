"""The Python client SDK (aura_client) against a live server, and its retries against a
server that fails on purpose."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from aura.v1 import behavior_pb2, recommend_pb2
from aura_client import (
    AsyncAuraClient,
    AuraClient,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from harness import SECRET, Secured, copy_of, free_port

from aura_server.access.tokens import issue_token
from aura_server.cli.commands.catalog import seed_demo
from aura_server.config import Settings
from aura_server.grpc_api.server import GrpcServer
from aura_server.store.sqlite import SQLiteRepository

EXAMPLES = Path(__file__).resolve().parent.parent / "clients" / "python" / "examples"


@pytest.fixture(scope="module")
def upcoming_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo events from today on: the examples ask for feeds at the real time."""
    path = tmp_path_factory.mktemp("upcoming") / "catalog.db"
    repo = SQLiteRepository(path)
    seed_demo(repo, count=1500, out=io.StringIO())
    repo.close()  # folds the WAL into the file that copy_of copies
    return path


@pytest.fixture
def secured(upcoming_catalog: Path, tmp_path: Path) -> Iterator[Secured]:
    stack = Secured(
        copy_of(upcoming_catalog, tmp_path / "aura.db"), Settings(auth="jwt", secret_key=SECRET)
    )
    yield stack
    stack.close()


def target(stack: Secured) -> str:
    return f"127.0.0.1:{stack.server.port}"


def test_every_method_of_the_sync_client(secured: Secured) -> None:
    service = issue_token(SECRET, "backend", service=True, admin=True)
    with AuraClient(target(secured), token=service) as aura:
        onboarded = aura.onboard(
            user_id="sdk-ana", intent="explore", age=28, favorite_categories=["Jazz"]
        )
        assert onboarded.profile.user_id == "sdk-ana"
        assert aura.get_profile(user_id="sdk-ana").profile.onboarding_intent == 1  # EXPLORE
        feed = aura.feed(user_id="sdk-ana", lat=40.71, lng=-73.96, limit=5)
        assert len(feed.items) == 5 and feed.feed_id
        event_id = feed.items[0].event.event_id
        logged = aura.log_behavior(
            user_id="sdk-ana", action="click", event_id=event_id, feed_id=feed.feed_id
        )
        assert logged.behavior_id and not logged.duplicate
        reward = aura.submit_reward(
            user_id="sdk-ana", event_id=event_id, action="ACTION_PURCHASE", feed_id=feed.feed_id
        )
        assert reward.applied
        assert len(aura.natural(user_id="sdk-ana", query="jazz tonight", limit=3).items) <= 3
        assert aura.highlights(user_id="sdk-ana", lat=40.71, lng=-73.96, limit=5).items
        event = {
            "event_id": "sdk-event",
            "title": "SDK night",
            "categories": ["Jazz"],
            "city": "Brooklyn",
            "lat": 40.68,
            "lng": -73.97,
            "starts_at": "2030-01-01T20:00:00Z",
        }
        assert aura.upsert_events(events=[event]).upserted == 1
        assert aura.get_event(event_id="sdk-event").event.title == "SDK night"
        assert aura.list_events(page_size=2).events
        aura.delete_event(event_id="sdk-event")
        with pytest.raises(NotFoundError):
            aura.get_event(event_id="sdk-event")
        assert aura.reset_profile(user_id="sdk-ana").profile.total_events_attended == 0
        assert aura.get_status().status == "SERVING"


def test_errors_are_typed_and_name_the_field(secured: Secured) -> None:
    with AuraClient(target(secured), token=issue_token(SECRET, "bob")) as aura:
        with pytest.raises(InvalidArgumentError) as bad:
            aura.onboard(user_id="bob", intent="explore", age=7)
        assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in bad.value.violations] == ["age"]
        with pytest.raises(PermissionDeniedError):
            aura.get_profile(user_id="someone-else")
        with pytest.raises(ValueError, match="intent"):
            aura.onboard(user_id="bob", intent="sightseeing", age=30)
        with pytest.raises(ValueError) as word:
            aura.log_behavior(user_id="bob", action="love", event_id="demo-00001")
        assert str(word.value) == (
            "action: 'love' is not one of search, view, click, like, save, share, purchase, "
            "skip, hide"
        )
    with AuraClient(target(secured)) as anonymous, pytest.raises(UnauthenticatedError):
        anonymous.get_profile(user_id="bob")


def test_a_token_provider_is_asked_before_every_call(secured: Secured) -> None:
    asked: list[int] = []

    def provider() -> str:
        asked.append(1)
        return issue_token(SECRET, "carla")

    with AuraClient(target(secured), token_provider=provider) as aura:
        aura.onboard(user_id="carla", intent="create", age=30)
        aura.get_profile(user_id="carla")
    assert len(asked) == 2


def test_the_async_client(secured: Secured) -> None:
    async def session() -> list[str]:
        token = issue_token(SECRET, "dana")
        async with AsyncAuraClient(target(secured), token=token, timeout=5) as aura:
            await aura.onboard(user_id="dana", intent="explore", age=31)
            feed = await aura.feed(user_id="dana", lat=40.71, lng=-73.96, limit=3)
            await aura.log_behavior(
                user_id="dana", action="view", event_id=feed.items[0].event.event_id
            )
            with pytest.raises(InvalidArgumentError):
                await aura.feed(user_id="dana", limit=1000)
            return [item.event.event_id for item in feed.items]

    assert len(asyncio.run(session())) == 3


class Flaky:
    """A server whose LogBehavior and Natural fail UNAVAILABLE `failures` times first, and
    whose Feed is slower than any deadline the test sets."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: dict[str, list[Any]] = {"LogBehavior": [], "Natural": []}
        self.server = grpc.server(futures.ThreadPoolExecutor(4))
        handlers = {
            "LogBehavior": grpc.unary_unary_rpc_method_handler(
                self.log_behavior,
                behavior_pb2.LogBehaviorRequest.FromString,
                behavior_pb2.LogBehaviorResponse.SerializeToString,
            ),
            "Natural": grpc.unary_unary_rpc_method_handler(
                self.natural,
                recommend_pb2.NaturalRequest.FromString,
                recommend_pb2.NaturalResponse.SerializeToString,
            ),
        }
        self.server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "aura.v1.BehaviorService", {"LogBehavior": handlers["LogBehavior"]}
                ),
                grpc.method_handlers_generic_handler(
                    "aura.v1.RecommendService", {"Natural": handlers["Natural"]}
                ),
            ]
        )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _fail_first(self, name: str, request: Any, context: grpc.ServicerContext) -> None:
        self.seen[name].append(request)
        if len(self.seen[name]) <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "try again")

    def log_behavior(
        self, request: behavior_pb2.LogBehaviorRequest, context: grpc.ServicerContext
    ) -> behavior_pb2.LogBehaviorResponse:
        self._fail_first("LogBehavior", request, context)
        return behavior_pb2.LogBehaviorResponse(behavior_id=request.behavior_id)

    def natural(
        self, request: recommend_pb2.NaturalRequest, context: grpc.ServicerContext
    ) -> recommend_pb2.NaturalResponse:
        self._fail_first("Natural", request, context)
        return recommend_pb2.NaturalResponse()


def test_retries_repeat_one_logical_call_and_only_safe_ones() -> None:
    flaky = Flaky(failures=2)
    try:
        with AuraClient(f"127.0.0.1:{flaky.port}") as aura:
            answer = aura.log_behavior(user_id="eve", action="view", event_id="e1")
            attempts = flaky.seen["LogBehavior"]
            assert len(attempts) == 3  # two UNAVAILABLE, then served
            assert len({attempt.behavior_id for attempt in attempts}) == 1
            assert answer.behavior_id == attempts[0].behavior_id != ""
            again = aura.log_behavior(user_id="eve", action="view", event_id="e1")
            assert again.behavior_id != answer.behavior_id  # a new logical call, a new key
            with pytest.raises(UnavailableError):
                aura.natural(user_id="eve", query="jazz")
            assert len(flaky.seen["Natural"]) == 1  # not retried: it logs a search
    finally:
        flaky.server.stop(0)


def test_a_call_past_its_deadline_raises() -> None:
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with AuraClient(f"127.0.0.1:{port}", timeout=0.3) as aura:
            with pytest.raises(DeadlineExceededError):
                aura.get_status()
            with pytest.raises(DeadlineExceededError):
                aura.get_status(timeout=0.1)  # a per-call deadline


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("onboard_and_feed.py", [], "feed "),
        ("session_and_reward.py", [], "bought "),
        ("natural_search.py", ["techno in brooklyn tonight"], "rules parser"),
        ("catalog_import.py", ["EVENTS"], "imported 2 of 2 events"),
    ],
)
def test_the_examples_run(
    secured: Secured, tmp_path: Path, script: str, args: list[str], expected: str
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps(
                {
                    "event_id": f"import-{n}",
                    "title": f"Imported {n}",
                    "categories": ["Comedy"],
                    "city": "Manhattan",
                    "lat": 40.73,
                    "lng": -73.99,
                    "starts_at": "2030-05-01T21:00:00Z",
                }
            )
            for n in range(2)
        )
    )
    env = {
        **os.environ,
        "AURA_TARGET": target(secured),
        "AURA_TOKEN": issue_token(SECRET, "examples", service=True, admin=True),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / script),
            *[str(events) if a == "EVENTS" else a for a in args],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def self_signed_localhost() -> tuple[bytes, bytes]:
    """A certificate and key for 127.0.0.1, made on the spot."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def test_tls_with_the_servers_root_certificate(secured: Secured) -> None:
    certificate, key = self_signed_localhost()
    port = free_port()
    tls_server = GrpcServer(secured.aura.plane, host="127.0.0.1", port=free_port())
    tls_server.server.add_secure_port(
        f"127.0.0.1:{port}", grpc.ssl_server_credentials([(key, certificate)])
    )
    tls_server.start()
    try:
        with AuraClient(f"127.0.0.1:{port}", root_certificates=certificate) as aura:
            assert aura.get_status().status == "SERVING"
        with (
            AuraClient(f"127.0.0.1:{port}", tls=True, timeout=2) as untrusted,
            pytest.raises((UnavailableError, DeadlineExceededError)),
        ):
            untrusted.get_status()  # the system roots do not know this certificate
    finally:
        tls_server.stop(grace=0)

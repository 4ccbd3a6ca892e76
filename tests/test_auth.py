"""JWT authentication and authorization through the real server: each attack refused with
the right code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import pytest
from aura.v1 import catalog_pb2, onboarding_pb2, recommend_pb2, status_pb2, status_pb2_grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import SECRET, Rest, Secured, copy_of
from stubs import AuraStubs

from aura_server.access.tokens import TokenVerifier, issue_token
from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.gateway import RestGateway
from aura_server.store.sqlite import SQLiteRepository


@pytest.fixture
def secured(catalog_file: Path, tmp_path: Path) -> Iterator[Secured]:
    path = copy_of(catalog_file, tmp_path / "aura.db")
    stack = Secured(path, Settings(auth="jwt", secret_key=SECRET))
    yield stack
    stack.close()


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def code_of(call: object) -> grpc.StatusCode:
    assert callable(call)
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()  # type: ignore[attr-defined,no-any-return]


def profile_call(stack: Secured, token: str | None, user_id: str = "ana") -> object:
    metadata = bearer(token) if token is not None else None
    return lambda: stack.stubs.onboarding.GetProfile(
        onboarding_pb2.GetProfileRequest(user_id=user_id), metadata=metadata
    )


def forged(claims: dict[str, object], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def test_user_tokens_act_for_their_own_user(secured: Secured) -> None:
    token = issue_token(SECRET, "ana")
    onboarded = secured.stubs.onboarding.Onboard(
        onboarding_pb2.OnboardRequest(intent=1, age=30), metadata=bearer(token)
    )
    assert onboarded.profile.user_id == "ana", "an empty user_id is filled from the token"
    assert (
        secured.stubs.onboarding.GetProfile(
            onboarding_pb2.GetProfileRequest(user_id="ana"), metadata=bearer(token)
        ).profile.user_id
        == "ana"
    )
    assert code_of(profile_call(secured, token, "bob")) == grpc.StatusCode.PERMISSION_DENIED
    service = issue_token(SECRET, "backend", service=True)
    assert secured.stubs.recommend.Feed(
        recommend_pb2.FeedRequest(user_id="bob", lat=40.7, lng=-73.95), metadata=bearer(service)
    ).feed_id


def test_catalog_writes_need_the_admin_scope(secured: Secured) -> None:
    request = catalog_pb2.DeleteEventRequest(event_id="demo-00001")
    for token in (issue_token(SECRET, "ana"), issue_token(SECRET, "svc", service=True)):
        assert (
            code_of(lambda t=token: secured.stubs.catalog.DeleteEvent(request, metadata=bearer(t)))
            == grpc.StatusCode.PERMISSION_DENIED
        )
    admin = issue_token(SECRET, "ops", admin=True)
    assert secured.stubs.catalog.DeleteEvent(request, metadata=bearer(admin)).event_id
    reader = issue_token(SECRET, "ana")
    assert secured.stubs.catalog.GetEvent(
        catalog_pb2.GetEventRequest(event_id="demo-00002"), metadata=bearer(reader)
    ).event.event_id


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        forged({"sub": "ana", "exp": int(time.time()) - 3600}),
        forged({"sub": "ana", "exp": int(time.time()) + 3600, "nbf": int(time.time()) + 3600}),
        forged(
            {"sub": "ana", "exp": int(time.time()) + 3600},
            key="the-wrong-key-entirely-wrong-and-long-enough",
        ),
        jwt.encode({"sub": "ana", "exp": int(time.time()) + 3600}, None, algorithm="none"),
        forged({"sub": "ana"}),  # no exp
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "expired",
        "not-yet-valid",
        "wrong-key",
        "alg-none",
        "no-exp",
    ],
)
def test_bad_tokens_are_unauthenticated(secured: Secured, token: str | None) -> None:
    assert code_of(profile_call(secured, token)) == grpc.StatusCode.UNAUTHENTICATED


def test_a_tampered_payload_is_refused(secured: Secured) -> None:
    header, _, signature = issue_token(SECRET, "ana").split(".")
    _, other_payload, _ = issue_token(SECRET, "bob", service=True).split(".")
    tampered = ".".join([header, other_payload, signature])
    assert code_of(profile_call(secured, tampered)) == grpc.StatusCode.UNAUTHENTICATED


def test_health_status_and_reflection_stay_open(secured: Secured) -> None:
    health = health_pb2_grpc.HealthStub(secured.channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    status = status_pb2_grpc.StatusServiceStub(secured.channel).GetStatus(
        status_pb2.GetStatusRequest()
    )
    assert status.status == "SERVING"
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    assert (
        "aura.v1.RecommendService"
        in ProtoReflectionDescriptorDatabase(secured.channel).get_services()
    )


def test_the_rest_door_maps_auth_errors(secured: Secured) -> None:
    status, _, error = secured.rest.call("GET", "/v1/user/profile?user_id=ana")
    assert status == 401 and error["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    token = issue_token(SECRET, "ana")
    headers = {"Authorization": f"Bearer {token}"}
    status, _, _ = secured.rest.call("GET", "/v1/user/profile?user_id=bob", headers=headers)
    assert status == 403
    status, _, _ = secured.rest.call(
        "POST", "/v1/user/onboarding", {"intent": "INTENT_EXPLORE", "age": 30}, headers=headers
    )
    assert status == 200
    assert secured.rest.call("GET", "/v1/health")[0] == 200


def test_rs256_pins_the_algorithm(catalog_file: Path, tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    path = copy_of(catalog_file, tmp_path / "aura.db")
    stack = Secured(path, Settings(auth="jwt", jwt_public_key=public_pem, jwt_issuer="auth.test"))
    try:
        claims = {"sub": "ana", "exp": int(time.time()) + 600, "iss": "auth.test"}
        good = jwt.encode(claims, private, algorithm="RS256")
        assert code_of(profile_call(stack, good)) == grpc.StatusCode.NOT_FOUND  # authenticated

        # HS/RS confusion: HS256 signed with the public key as the shared secret.
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = (
            b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            + "."
            + b64(json.dumps(claims).encode())
        )
        mac = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
        confused = signing_input + "." + b64(mac)
        assert code_of(profile_call(stack, confused)) == grpc.StatusCode.UNAUTHENTICATED
        wrong_issuer = jwt.encode({**claims, "iss": "evil"}, private, algorithm="RS256")
        assert code_of(profile_call(stack, wrong_issuer)) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        stack.close()


def test_the_server_refuses_to_start_with_auth_on_and_no_key() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        TokenVerifier.from_settings(Settings(auth="jwt"))
    assert TokenVerifier.from_settings(Settings(auth="disabled")) is None


def test_rate_limits_answer_resource_exhausted_with_a_retry_delay(
    catalog_file: Path, tmp_path: Path
) -> None:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from aura_server.access.limits import RateLimiter

    path = copy_of(catalog_file, tmp_path / "aura.db")
    aura = Aura.build(SQLiteRepository(path))
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0, limiter=RateLimiter(rate=2, burst=3))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    gateway = RestGateway(f"127.0.0.1:{server.port}", host="127.0.0.1", port=0)
    gateway.start()
    try:
        stubs = AuraStubs(channel)
        request = onboarding_pb2.OnboardRequest(user_id="busy", intent=1, age=30)
        for _ in range(3):
            stubs.onboarding.Onboard(request)
        with pytest.raises(grpc.RpcError) as caught:
            stubs.onboarding.Onboard(request)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
        status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry) and retry.retry_delay.ToNanoseconds() > 0
        other = onboarding_pb2.OnboardRequest(user_id="calm", intent=1, age=30)
        assert stubs.onboarding.Onboard(other).profile.user_id == "calm", "limits are per user"
        code, headers, _ = Rest(gateway.port).call(
            "POST", "/v1/user/onboarding", {"user_id": "busy", "intent": 1, "age": 30}
        )
        assert code == 429 and int(headers["Retry-After"]) >= 1
        time.sleep(0.6)
        assert stubs.onboarding.Onboard(request).profile.user_id == "busy", "the bucket refills"
    finally:
        gateway.stop()
        channel.close()
        server.stop(grace=0)
        aura.close()


def test_a_jwks_file_and_the_token_command(
    catalog_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aura_server.cli.main import main

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    verifier = TokenVerifier.from_settings(
        Settings(auth="jwt", jwks_file=str(jwks), jwt_audience="aura")
    )
    assert verifier is not None
    claims = {"sub": "ana", "exp": int(time.time()) + 60, "aud": "aura"}
    good = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(good).subject == "ana"
    from aura_server.access.tokens import Unauthenticated

    with pytest.raises(Unauthenticated):
        verifier.verify(jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k9"}))
    with pytest.raises(Unauthenticated):
        verifier.verify(
            jwt.encode(
                {**claims, "aud": "other"}, private, algorithm="RS256", headers={"kid": "k1"}
            )
        )

    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert main(["token", "ops", "--admin", "--ttl", "120"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier("HS256", key=SECRET).verify(token)
    assert principal.subject == "ops" and principal.is_admin

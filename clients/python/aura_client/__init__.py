"""A typed Python client for Aura, in sync and asyncio forms.

    from aura_client import AuraClient

    with AuraClient("localhost:50051", token="...") as aura:
        aura.onboard(user_id="ana", intent="explore", age=28, favorite_categories=["Jazz"])
        feed = aura.feed(user_id="ana", lat=40.71, lng=-73.96)

Every RPC is a method named as the RPC in snake_case, taking the request's fields as
keyword arguments and returning the response message. Failures raise AuraError subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import grpc
import grpc.aio

from aura_client._methods import RETRIED_METHODS, AsyncMethods, SyncMethods
from aura_client.calls import (
    DEFAULT_TIMEOUT_SECONDS,
    TokenProvider,
    channel_options,
    credentials,
)
from aura_client.errors import (
    AlreadyExistsError,
    AuraError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnauthenticatedError,
    UnavailableError,
)

__all__ = [
    "AlreadyExistsError",
    "AsyncAuraClient",
    "AuraClient",
    "AuraError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "UnauthenticatedError",
    "UnavailableError",
]


def _open(
    api: Any,
    target: str,
    tls: bool | grpc.ChannelCredentials,
    root_certificates: bytes | None,
    extra: Sequence[tuple[str, Any]],
) -> Any:
    """A channel from `grpc` or `grpc.aio` (same calls), retrying what is safe to retry."""
    options = [*channel_options(RETRIED_METHODS), *extra]
    secure = credentials(tls, root_certificates)
    if secure is None:
        return api.insecure_channel(target, options=options)
    return api.secure_channel(target, secure, options=options)


class AuraClient(SyncMethods):
    """Aura over one gRPC channel. `token` (or `token_provider`, called before every call)
    is sent as a bearer token; `tls=True` (or `root_certificates`, or your own
    grpc.ChannelCredentials) for TLS, plaintext otherwise; `timeout` is every call's
    deadline unless the call gives its own; `options` are extra gRPC channel options
    (keepalive, a local subchannel pool, ...)."""

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        tls: bool | grpc.ChannelCredentials = False,
        root_certificates: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        super().__init__(token, token_provider, timeout)
        self.channel = _open(grpc, target, tls, root_certificates, options)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> AuraClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAuraClient(AsyncMethods):
    """AuraClient for asyncio: the same methods, awaited."""

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        tls: bool | grpc.ChannelCredentials = False,
        root_certificates: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        super().__init__(token, token_provider, timeout)
        self.channel = _open(grpc.aio, target, tls, root_certificates, options)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncAuraClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

"""One interceptor checks, for every RPC, the bearer token and what it may do, the client's
deadline, and the per-user and per-token rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from aura_server.domain.errors import DeadlineExceeded
from aura_server.domain.limits import RateLimiter
from aura_server.grpc_api.errors import Handler, wrap_unary
from aura_server.security import (
    PermissionDenied,
    Principal,
    TokenVerifier,
    bearer_token,
)

# Open to everyone: health checks, reflection, and the status behind GET /v1/health.
OPEN_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.",
    "/aura.v1.StatusService/",
)
ADMIN_METHODS = frozenset(
    {
        "/aura.v1.CatalogService/UpsertEvents",
        "/aura.v1.CatalogService/DeleteEvent",
    }
)


def authorize(principal: Principal, method: str, request: Any) -> None:
    """Raise PermissionDenied unless the principal may make this call; fill an empty
    user_id from a user token's subject."""
    if method in ADMIN_METHODS and not principal.is_admin:
        raise PermissionDenied("", "catalog writes need the aura:admin scope")
    if not hasattr(request, "user_id") or principal.is_service:
        return
    if not request.user_id:
        request.user_id = principal.subject
    elif request.user_id != principal.subject:
        raise PermissionDenied("user_id", "a user token may act only for its own user")


class AuthInterceptor(grpc.ServerInterceptor):
    """Checks the token (when a verifier is configured), what it may do, the deadline and
    the rate limits, before the servicer runs."""

    def __init__(self, verifier: TokenVerifier | None, limiter: RateLimiter) -> None:
        self.verifier = verifier
        self.limiter = limiter

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if method.startswith(OPEN_PREFIXES):
            return handler

        def check(inner: Handler) -> Handler:
            def checked(request: Any, context: grpc.ServicerContext) -> Any:
                remaining = context.time_remaining()
                if remaining is not None and remaining <= 0:
                    raise DeadlineExceeded("the client's deadline passed before the work began")
                if self.verifier is not None:
                    metadata = dict(context.invocation_metadata())
                    principal = self.verifier.verify(bearer_token(metadata.get("authorization")))
                    authorize(principal, method, request)
                    if not principal.is_service:
                        self.limiter.take(
                            f"token:{principal.subject}", f"token {principal.subject}"
                        )
                user_id = getattr(request, "user_id", "")
                if user_id:
                    self.limiter.take(f"user:{user_id}", f"user {user_id}")
                return inner(request, context)

            return checked

        return wrap_unary(handler, check)

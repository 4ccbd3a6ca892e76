"""What a token may do: which methods are open to everyone, which need the admin scope,
and whose user_id a user token may act for (checked by grpc_api/interceptor.py)."""

from __future__ import annotations

from typing import Any

from aura_server.access.tokens import (
    PermissionDenied,
    Principal,
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

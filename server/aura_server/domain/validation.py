"""The id check of an event the catalog takes in (catalog.normalise_event, for every way
in: UpsertEvents, `aura catalog import`, the demo catalog). A request's own rules are
declared in the protos and checked at the door (grpc_api/constraints.py)."""

from __future__ import annotations

from aura_server.domain.errors import InvalidArgument

MAX_ID_LENGTH = 128


def require_id(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(field, f"must be at most {MAX_ID_LENGTH} characters")
    return value

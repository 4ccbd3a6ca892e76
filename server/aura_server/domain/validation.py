"""Checks shared by the domain services; each failure names the offending field."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from aura_server.domain.errors import InvalidArgument

MAX_ID_LENGTH = 128
MAX_QUERY_LENGTH = 500


def require_id(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(field, f"must be at most {MAX_ID_LENGTH} characters")
    return value


def check_query(query: str, missing: str = "is required") -> None:
    """A search's text: some words, and not a document."""
    if not query.strip():
        raise InvalidArgument("query", missing)
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidArgument("query", f"must be at most {MAX_QUERY_LENGTH} characters")


def check_coordinates(lat: float | None, lng: float | None, prefix: str = "") -> None:
    """lat and lng come together and lie on the globe."""
    if (lat is None) != (lng is None):
        missing = "lng" if lng is None else "lat"
        raise InvalidArgument(prefix + missing, "lat and lng must be given together")
    if lat is not None and (not math.isfinite(lat) or not -90 <= lat <= 90):
        raise InvalidArgument(prefix + "lat", "must be between -90 and 90")
    if lng is not None and (not math.isfinite(lng) or not -180 <= lng <= 180):
        raise InvalidArgument(prefix + "lng", "must be between -180 and 180")


def check_limit(value: int, default: int, low: int, high: int, field: str = "limit") -> int:
    """0 means the default; anything else must lie in [low, high]."""
    if value == 0:
        return default
    if not low <= value <= high:
        raise InvalidArgument(field, f"must be between {low} and {high} (0 for {default})")
    return value


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def check_moment(field: str, moment: datetime | None) -> datetime | None:
    """A client-given time must be a plausible one (replays and tests use the past)."""
    if moment is not None and not EARLIEST <= moment < LATEST:
        raise InvalidArgument(field, "must be between 2000 and 2100")
    return moment

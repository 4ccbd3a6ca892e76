"""The catalog of events: validation, writes, paging."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime

from aura_server.domain.catalog_index import CatalogIndex
from aura_server.domain.errors import InvalidArgument, NotFound
from aura_server.domain.models import Event, as_datetime
from aura_server.domain.repository import EventCursor, EventFilter, Repository
from aura_server.domain.taxonomy import canonical_borough, canonical_category, find_neighborhood

MAX_BATCH = 1000
DEFAULT_PAGE_SIZE = 100


def normalise_event(event: Event) -> Event:
    """An incoming event in canonical form, or InvalidArgument naming the field. Its own
    rules (lengths, ranges, sizes, time and price order) are the protos', checked before
    it gets here: at the door for UpsertEvents, line by line for `aura catalog import`
    (grpc_api/constraints.py). Here: what needs the gazetteer and the taxonomy. NaN
    coordinates mean "not given": the neighborhood's are used."""
    event.title = event.title.strip()
    categories: list[str] = []
    for index, name in enumerate(event.categories):
        category = canonical_category(name)
        if category is None:
            raise InvalidArgument(f"categories[{index}]", f"unknown category {name!r}")
        if category not in categories:
            categories.append(category)
    event.categories = categories
    event.tags = [tag.strip().lower() for tag in event.tags]
    hood = find_neighborhood(event.neighborhood) if event.neighborhood else None
    if event.neighborhood and hood is None:
        raise InvalidArgument("neighborhood", f"unknown neighborhood {event.neighborhood!r}")
    borough = canonical_borough(event.city) if event.city else None
    if event.city and borough is None:
        raise InvalidArgument("city", f"unknown borough {event.city!r}")
    if hood is not None:
        if borough is not None and borough != hood.city:
            raise InvalidArgument("city", f"{hood.name} is in {hood.city}, not {event.city}")
        event.city, event.neighborhood = hood.city, hood.name
    elif borough is not None:
        event.city = borough
    else:
        raise InvalidArgument("city", "a borough or a known neighborhood is required")
    if math.isnan(event.lat) or math.isnan(event.lng):
        if hood is None:
            raise InvalidArgument("lat", "lat and lng are required without a neighborhood")
        event.lat, event.lng = hood.lat, hood.lng
    if event.price_min is None and event.price_max is not None:
        event.price_min = event.price_max
    if event.price_max is None and event.price_min is not None:
        event.price_max = event.price_min
    if event.status not in ("active", "cancelled"):
        raise InvalidArgument("status", "must be active or cancelled")
    return event


def encode_page_token(event: Event) -> str:
    raw = json.dumps([event.starts_at.isoformat(), event.event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> EventCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        starts_at, event_id = json.loads(raw)
        return EventCursor(as_datetime(str(starts_at)), str(event_id))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidArgument("page_token", "is not a token this service issued") from exc


def _neighborhood_name(name: str) -> str | None:
    hood = find_neighborhood(name)
    return None if hood is None else hood.name


class CatalogService:
    def __init__(self, repo: Repository, index: CatalogIndex) -> None:
        self.repo = repo
        self.index = index

    def upsert(self, events: Sequence[Event]) -> int:
        """Write the batch whole, or refuse it naming the first event the catalog cannot
        take ("events[3].neighborhood"): a client never has to work out what was kept."""
        if len(events) > MAX_BATCH:
            raise InvalidArgument("events", f"at most {MAX_BATCH} events per call")
        valid: dict[str, Event] = {}
        for index, event in enumerate(events):
            try:
                normalised = normalise_event(event)
            except InvalidArgument as exc:
                raise InvalidArgument(f"events[{index}].{exc.field}", exc.description) from None
            valid[normalised.event_id] = normalised  # the last copy of an id wins
        self.repo.upsert_events(list(valid.values()))
        self.index.mark_stale()
        return len(valid)

    def get(self, event_id: str) -> Event:
        event = self.repo.get_event(event_id)
        if event is None:
            raise NotFound("event_id", f"no event {event_id!r}")
        return event

    def list(
        self,
        page_size: int,
        page_token: str = "",
        city: str = "",
        neighborhood: str = "",
        category: str = "",
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> tuple[list[Event], str]:
        page_size = page_size or DEFAULT_PAGE_SIZE  # its range is the protos', at the door
        where = EventFilter(
            city=self._canonical("city", city, canonical_borough),
            neighborhood=self._canonical("neighborhood", neighborhood, _neighborhood_name),
            category=self._canonical("category", category, canonical_category),
            starts_after=starts_after,
            starts_before=starts_before,
        )
        after = decode_page_token(page_token) if page_token else None
        events = self.repo.list_events(where, page_size + 1, after)
        if len(events) > page_size:
            return events[:page_size], encode_page_token(events[page_size - 1])
        return events, ""

    @staticmethod
    def _canonical(field: str, value: str, lookup: Callable[[str], str | None]) -> str:
        if not value:
            return ""
        canonical = lookup(value)
        if canonical is None:
            raise InvalidArgument(field, f"unknown {field} {value!r}")
        return str(canonical)

    def delete(self, event_id: str) -> str:
        if not self.repo.delete_event(event_id):
            raise NotFound("event_id", f"no event {event_id!r}")
        self.index.mark_stale()
        return event_id

"""An in-memory, numpy-backed index of the active catalog for fast candidate selection.

It is rebuilt from the store when the store's catalog version moves (a write in this
process marks it stale at once; writes by other processes are seen within
``refresh_interval`` seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from aura_server.domain.arrays import FloatArray, IntArray
from aura_server.domain.clock import NEW_YORK
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.geo import haversine_km
from aura_server.domain.models import Event
from aura_server.domain.repository import Repository
from aura_server.domain.taxonomy import CATEGORY_CODES, INTENT_MAP, IntentMatch
from aura_server.telemetry.metrics import metrics

log = logging.getLogger(__name__)


def hour_of_week(moment: datetime) -> int:
    """0 = Monday 00:00 in New York."""
    local = moment.astimezone(NEW_YORK)
    return local.weekday() * 24 + local.hour


def _intent_match(match: IntentMatch, event: Event) -> float:
    if match.categories.intersection(event.categories):
        return 1.0
    return 0.5 if match.tags.intersection(event.tags) else 0.0


NO_CATEGORY = len(CATEGORY_CODES)
# How many keywords' matches a snapshot keeps (vibe words are a few hundred; a flood of
# new words is matched each time instead of kept).
KEYWORDS_KEPT = 4096


def _padded_codes(events: list[Event]) -> IntArray:
    width = max((len(e.categories) for e in events), default=1)
    codes = np.full((len(events), width), NO_CATEGORY, dtype=np.int64)
    for row, event in enumerate(events):
        for k, category in enumerate(event.categories):
            codes[row, k] = CATEGORY_CODES[category]
    return codes


def category_bits(categories: Sequence[str]) -> int:
    """Categories as a bit mask: bit CATEGORY_CODES[c] set for each."""
    bits = 0
    for category in categories:
        bits |= 1 << CATEGORY_CODES[category]
    return bits


@dataclass(frozen=True)
class CatalogSnapshot:
    """Immutable column arrays of the active events, aligned by position."""

    version: int
    events: list[Event]
    positions: dict[str, int]
    lat: FloatArray
    lng: FloatArray
    starts_at: FloatArray  # epoch seconds
    price_min: FloatArray  # NaN where unknown
    price_max: FloatArray  # NaN where unknown
    start_hour: IntArray  # local start hour, New York
    city: npt.NDArray[np.str_]
    neighborhood: npt.NDArray[np.str_]
    text: list[str]  # lower-case title, tags, description and venue, for keyword filters
    category_mask: IntArray  # bit i set when the event has category code i
    # [row, k]: the event's k-th category code, padded with NO_CATEGORY (so a lookup
    # table with one extra entry gives each event's categories' values at once).
    category_codes: IntArray
    lat_rad: FloatArray
    lng_rad: FloatArray
    cos_lat: FloatArray
    popularity: FloatArray
    start_hour_of_week: IntArray  # 0 = Monday 00:00 in New York
    intent_match: dict[str, FloatArray]  # per intent: 1 category match, 0.5 tag match
    neighborhoods: frozenset[str] = frozenset()  # the neighbourhoods that have events
    # Per keyword, the events whose text mentions it: worked out once per snapshot.
    _mentions: dict[str, npt.NDArray[np.bool_]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def build(cls, version: int, events: list[Event]) -> CatalogSnapshot:
        masks = np.zeros(len(events), dtype=np.int64)
        lats = np.array([e.lat for e in events], dtype=np.float64)
        for row, event in enumerate(events):
            masks[row] = category_bits(event.categories)
        return cls(
            version=version,
            events=events,
            positions={event.event_id: row for row, event in enumerate(events)},
            lat=lats,
            lng=np.array([e.lng for e in events], dtype=np.float64),
            starts_at=np.array([e.starts_at.timestamp() for e in events], dtype=np.float64),
            price_min=np.array(
                [np.nan if e.price_min is None else e.price_min for e in events], dtype=np.float64
            ),
            price_max=np.array(
                [np.nan if e.price_max is None else e.price_max for e in events], dtype=np.float64
            ),
            start_hour=np.array(
                [e.starts_at.astimezone(NEW_YORK).hour for e in events], dtype=np.int64
            ),
            city=np.array([e.city for e in events], dtype=str),
            neighborhood=np.array([e.neighborhood for e in events], dtype=str),
            neighborhoods=frozenset(e.neighborhood for e in events),
            text=[" ".join([e.title, *e.tags, e.description, e.venue]).lower() for e in events],
            category_mask=masks,
            category_codes=_padded_codes(events),
            lat_rad=np.radians(lats),
            lng_rad=np.radians([e.lng for e in events]),
            cos_lat=np.cos(np.radians(lats)),
            popularity=np.array([e.popularity for e in events], dtype=np.float64),
            start_hour_of_week=np.array(
                [hour_of_week(e.starts_at) for e in events], dtype=np.int64
            ),
            intent_match={
                intent: np.array([_intent_match(match, e) for e in events], dtype=np.float64)
                for intent, match in INTENT_MAP.items()
            },
        )

    def mentioning(self, words: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which events mention any of `words` in their title, tags, description or venue
        (as a substring: "rooftop" finds "rooftops")."""
        found = np.zeros(len(self.events), dtype=bool)
        for word in words:
            mentions = self._mentions.get(word)
            if mentions is None:
                mentions = np.fromiter((word in text for text in self.text), bool, len(self.text))
                if len(self._mentions) < KEYWORDS_KEPT:
                    self._mentions[word] = mentions
            found |= mentions
        return found


@dataclass(frozen=True)
class CandidateFilter:
    """What a request asks of events beyond place and time. Empty fields ask nothing."""

    categories: Sequence[str] = ()  # any of them
    excluded_categories: Sequence[str] = ()  # none of them
    # The event's price range must overlap [price_min, price_max]. Events with no known
    # price stay: a filter should not hide what it cannot judge.
    price_min: float | None = None
    price_max: float | None = None
    start_hours: frozenset[int] = frozenset()  # local start hour, New York
    city: str = ""
    neighborhood: str = ""
    # Within this many km of where the request is centred (0: its radius decides): a named
    # place with no events of its own is searched around its centre.
    around_km: float = 0.0
    # Any of these words in the event's title, tags, description or venue.
    keywords: Sequence[str] = ()

    def mask(self, snap: CatalogSnapshot) -> npt.NDArray[np.bool_]:
        keep = np.ones(len(snap.events), dtype=bool)
        if self.categories:
            keep &= (snap.category_mask & category_bits(self.categories)) != 0
        if self.excluded_categories:
            keep &= (snap.category_mask & category_bits(self.excluded_categories)) == 0
        unknown_price = np.isnan(snap.price_min)
        if self.price_max is not None:
            keep &= unknown_price | (snap.price_min <= self.price_max)
        if self.price_min is not None:
            keep &= unknown_price | (snap.price_max >= self.price_min)
        if self.start_hours:
            keep &= np.isin(snap.start_hour, list(self.start_hours))
        if self.neighborhood:
            keep &= snap.neighborhood == self.neighborhood
        if self.city:
            keep &= snap.city == self.city
        if self.keywords:
            keep &= snap.mentioning(self.keywords)
        return keep


@dataclass(frozen=True)
class Candidates:
    """The rows of a snapshot that fit a request, with their distances."""

    snapshot: CatalogSnapshot
    rows: IntArray
    distance_km: FloatArray

    def __len__(self) -> int:
        return len(self.rows)

    def events(self) -> list[Event]:
        return [self.snapshot.events[row] for row in self.rows]


class CatalogIndex:
    def __init__(self, repo: Repository, refresh_interval: float = 1.0) -> None:
        self.repo = repo
        self.refresh_interval = refresh_interval
        self._snapshot = CatalogSnapshot.build(-1, [])
        self._checked_at = 0.0
        self._stale = True
        self._lock = threading.Lock()

    def mark_stale(self) -> None:
        self._stale = True

    def snapshot(self) -> CatalogSnapshot:
        now = time.monotonic()
        if self._stale or now - self._checked_at >= self.refresh_interval:
            with self._lock:
                if self._stale or now - self._checked_at >= self.refresh_interval:
                    self._checked_at = now
                    try:
                        version = self.repo.catalog_version()
                        if version != self._snapshot.version:
                            events = self.repo.active_events()
                            self._snapshot = CatalogSnapshot.build(version, events)
                            metrics().catalog_events.set(len(events))
                        self._stale = False
                    except StoreUnavailable as exc:
                        # Keep serving the catalog we have; try again next interval.
                        log.warning("catalog refresh failed, serving the last snapshot: %s", exc)
        return self._snapshot

    def event(self, event_id: str) -> Event | None:
        """An active event of the current snapshot, or None."""
        snapshot = self.snapshot()
        row = snapshot.positions.get(event_id)
        return snapshot.events[row] if row is not None else None

    def add_popularity(self, event_id: str, delta: float) -> None:
        """Keep the in-memory popularity in step with the store's counter."""
        snapshot = self._snapshot
        row = snapshot.positions.get(event_id)
        if row is not None:
            snapshot.popularity[row] += delta
            snapshot.events[row].popularity += delta

    def select(
        self,
        lat: float,
        lng: float,
        radius_km: float,
        window_start: datetime,
        window_end: datetime,
        exclude: Set[str],
        where: CandidateFilter | None = None,
    ) -> Candidates:
        """Active events within radius_km starting inside the window, minus exclude, that
        pass the filter."""
        snap = self.snapshot()
        start, end = window_start.timestamp(), window_end.timestamp()
        keep = (snap.starts_at >= start) & (snap.starts_at <= end)
        if where is not None:
            keep &= where.mask(snap)
        if exclude:
            hidden = [snap.positions[e] for e in exclude if e in snap.positions]
            keep[hidden] = False
        rows = np.flatnonzero(keep)
        distance = haversine_km(
            lat, lng, snap.lat_rad[rows], snap.lng_rad[rows], snap.cos_lat[rows]
        )
        if where is not None and where.around_km:
            radius_km = min(radius_km, where.around_km)
        near = distance <= radius_km
        rows, distance = rows[near], distance[near]
        return Candidates(snap, rows.astype(np.int64), distance)

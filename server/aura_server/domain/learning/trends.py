"""Time-decayed engagement: what is popular, and with whom, right now.

Counts come from the store (behaviors grouped per event, age bracket, action and hour), so
every process sees every process's behaviors; a view for the wall clock is rebuilt every
``refresh_interval`` seconds and this process's own behaviors are added to it at once.
Requests with an explicit `now` (tests, replays) get a view computed for that moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from aura_server.domain.arrays import FloatArray
from aura_server.domain.catalog_index import CatalogSnapshot
from aura_server.domain.clock import utcnow
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.learning.actions import engagement_weight
from aura_server.domain.repository import EngagementCount, Repository
from aura_server.domain.taxonomy import AGE_BRACKETS

log = logging.getLogger(__name__)
LOOKBACK = timedelta(hours=72)
HALF_LIFE_HOURS = 24.0
HOURS_OF_WEEK = 168


@dataclass
class TrendView:
    """Decayed engagement at one moment, aligned with one catalog snapshot's rows."""

    snapshot: CatalogSnapshot
    at: datetime
    overall: FloatArray
    by_bracket: dict[str, FloatArray]
    # Per bracket: engagement by the start hour-of-week of the events engaged with.
    bracket_hours: dict[str, FloatArray] = field(default_factory=dict)

    @classmethod
    def empty(cls, snapshot: CatalogSnapshot, at: datetime) -> TrendView:
        rows = len(snapshot.events)
        return cls(
            snapshot,
            at,
            np.zeros(rows),
            {b: np.zeros(rows) for b in AGE_BRACKETS},
            {b: np.zeros(HOURS_OF_WEEK) for b in AGE_BRACKETS},
        )

    def add(self, event_id: str, bracket: str, weight: float) -> None:
        row = self.snapshot.positions.get(event_id)
        if row is None or weight <= 0:
            return
        self.overall[row] += weight
        if bracket in self.by_bracket:
            self.by_bracket[bracket][row] += weight
            start_hour = self.snapshot.start_hour_of_week[row]
            self.bracket_hours[bracket][start_hour] += weight


class EngagementTrends:
    def __init__(self, repo: Repository, refresh_interval: float = 30.0) -> None:
        self.repo = repo
        self.refresh_interval = refresh_interval
        self._live: TrendView | None = None
        self._live_built = 0.0
        self._past: OrderedDict[tuple[int, int], TrendView] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, snapshot: CatalogSnapshot, now: datetime | None = None) -> TrendView:
        """The view of a catalog snapshot for the wall clock (cached), or for an explicit
        moment."""
        wall = utcnow()
        if now is None or abs((now - wall).total_seconds()) < 60:
            with self._lock:
                live = self._live
                stale = time.monotonic() - self._live_built >= self.refresh_interval
                if live is None or stale or live.snapshot is not snapshot:
                    live = self._build(snapshot, wall)
                    self._live, self._live_built = live, time.monotonic()
                return live
        key = (int(now.timestamp() // 60), snapshot.version)
        with self._lock:
            cached = self._past.get(key)
            if cached is None or cached.snapshot is not snapshot:
                cached = self._build(snapshot, now)
                self._past[key] = cached
                while len(self._past) > 16:
                    self._past.popitem(last=False)
            return cached

    def record(self, event_id: str, bracket: str, action: str, occurred_at: datetime) -> None:
        """Count a behavior of this process in the cached views right away."""
        weight = engagement_weight(action)
        with self._lock:
            views = list(self._past.values())
            if self._live is not None:
                views.append(self._live)
            for view in views:
                age_hours = (view.at - occurred_at).total_seconds() / 3600
                if view is self._live or 0 <= age_hours <= LOOKBACK.total_seconds() / 3600:
                    decay = 0.5 ** (max(age_hours, 0.0) / HALF_LIFE_HOURS)
                    view.add(event_id, bracket, weight * decay)

    def _build(self, snapshot: CatalogSnapshot, at: datetime) -> TrendView:
        view = TrendView.empty(snapshot, at)
        now_hour = at.timestamp() / 3600
        try:
            rows: list[EngagementCount] = self.repo.engagement_counts(at - LOOKBACK, at)
        except StoreUnavailable as exc:
            log.warning("trends refresh failed: %s", exc)
            live = self._live
            if live is not None and live.snapshot is snapshot:
                return live  # the last counts, still aligned with this catalog
            return view  # no trends until the store is back
        for row in rows:
            weight = engagement_weight(row.action) * row.count
            # The middle of the counted hour, halved every HALF_LIFE_HOURS.
            age_hours = max(now_hour - (row.hour + 0.5), 0.0)
            view.add(row.event_id, row.age_bracket, weight * 0.5 ** (age_hours / HALF_LIFE_HOURS))
        return view

"""What the learning simulators share: an Aura to talk to, the catalog as plain records,
and distances."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from aura.v1 import types_pb2
from aura_client import AuraClient

from aura_server.domain.taxonomy import CATEGORIES, CATEGORY_CODES

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class SimEvent:
    event_id: str
    categories: tuple[str, ...]
    lat: float
    lng: float
    starts_at: datetime
    price: float
    popularity: float


def km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    dlat, dlng = math.radians(lat2 - lat1), math.radians(lng2 - lng1)
    a = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dlng / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def load_catalog(aura: AuraClient) -> list[SimEvent]:
    """Every active event, through ListEvents a page at a time."""
    events, token = [], ""
    while True:
        page = aura.list_events(page_size=1000, page_token=token)
        for e in page.events:
            if e.status == types_pb2.EVENT_STATUS_CANCELLED:
                continue
            events.append(
                SimEvent(
                    e.event_id,
                    tuple(e.categories),
                    e.lat,
                    e.lng,
                    e.starts_at.ToDatetime(tzinfo=UTC),
                    e.price_min,
                    e.popularity,
                )
            )
        token = page.next_page_token
        if not token:
            return events


@dataclass(frozen=True)
class CatalogArrays:
    """The catalog as numpy columns, for utilities over every event at once."""

    events: list[SimEvent]
    positions: dict[str, int]
    lat: np.ndarray
    lng: np.ndarray
    price: np.ndarray
    starts_at: np.ndarray  # epoch seconds
    categories: np.ndarray  # [event, category code] booleans

    @classmethod
    def of(cls, events: list[SimEvent]) -> CatalogArrays:
        matrix = np.zeros((len(events), len(CATEGORIES)), dtype=bool)
        for row, event in enumerate(events):
            for category in event.categories:
                matrix[row, CATEGORY_CODES[category]] = True
        return cls(
            events,
            {e.event_id: row for row, e in enumerate(events)},
            np.array([e.lat for e in events]),
            np.array([e.lng for e in events]),
            np.array([e.price for e in events]),
            np.array([e.starts_at.timestamp() for e in events]),
            matrix,
        )

    def distances_km(self, lat: float, lng: float) -> np.ndarray:
        phi, lats = math.radians(lat), np.radians(self.lat)
        a = (
            np.sin((lats - phi) / 2) ** 2
            + math.cos(phi)
            * np.cos(lats)
            * np.sin((np.radians(self.lng) - math.radians(lng)) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _nothing_to_wait_for() -> None:
    return None


# The moment an in-process server is held at, a Friday at 17:10 in New York: every run sees
# the same catalog (the demo's 14 days from that day) at the same moment, so a run replays
# exactly whatever the day and hour it is started. In the past, so `aura evaluate --since`
# reaches a kept run's decision log.
SIMULATED_NOW = datetime(2026, 11, 27, 22, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """A server to simulate against, the time it serves at, and how to wait until it has
    written what it served."""

    address: str
    # Waits until every list served so far is written and the model has learned every
    # example sent (only for a server in this process). A simulated user answers within
    # microseconds, before the list is written; a person reads first. Waiting makes the
    # order the one people make, and a run replay exactly: the model a list is ranked
    # with no longer depends on how fast the server's threads ran.
    settle: Callable[[], object] = _nothing_to_wait_for
    # The moment an in-process server is held at; None for a server on the wall clock.
    held_at: datetime | None = None

    def now(self) -> datetime:
        return self.held_at or datetime.now(UTC)


@contextmanager
def aura_target(target: str = "", keep: Path | None = None) -> Iterator[Target]:
    """The given server, or one started in this process on a fresh store holding the demo
    catalog (in `keep` when given, so the run's decision log can be evaluated after)."""
    if target:
        yield Target(target)
        return
    from aura_server.app import Aura
    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.config import Settings
    from aura_server.domain.clock import held_at
    from aura_server.grpc_api.server import GrpcServer
    from aura_server.store.sqlite import SQLiteRepository

    folder = keep or Path(tempfile.mkdtemp(prefix="aura-sim-"))
    if folder.exists():
        shutil.rmtree(folder)  # a fresh store every run
    folder.mkdir(parents=True)
    # This server is its store's only writer, so its own behaviors keep its trends whole;
    # recounting them from the store every 30 wall-clock seconds would only add the same
    # counts in another order, at moments that differ from run to run.
    # Every learned feed is logged with its candidate set, so `aura evaluate --candidate`
    # can replay other slate configurations on a kept run's log.
    settings = replace(  # AURA_* apply
        Settings.from_env(), trends_refresh_seconds=math.inf, candidate_log_share=1.0
    )

    def settle(app: Aura) -> bool:
        """Every list written and taken into its user's profile, and the model caught up
        with every example: what the server has learned no longer depends on how fast its
        threads ran. A served user takes their list in at their first answer; one who does
        not answer has it folded in now, as the background sweep would have before their
        next session (sessions here are moments apart on a held clock; people's are hours)."""
        written = app.recommender.impressions.flush(timeout=30.0)
        app.profiles.fold_idle(0.0)
        return written and app.learning.settle(30.0)

    with held_at(SIMULATED_NOW):
        repo = SQLiteRepository(folder / "aura.db")
        seed_demo(repo)
        app = Aura.build(repo, settings)
        server = GrpcServer(app.plane, host="127.0.0.1", port=0)
        server.start()
        try:
            yield Target(f"127.0.0.1:{server.port}", lambda: settle(app), SIMULATED_NOW)
        finally:
            server.stop(grace=0)
            app.close()
            if keep is None:  # a scratch store (18 MB a run) is not left behind
                shutil.rmtree(folder, ignore_errors=True)

"""The one storage interface; SQLite and MongoDB implement it."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from aura_server.domain.models import (
    Behavior,
    Event,
    Impression,
    ListMark,
    ShownList,
    UserProfile,
)

T = TypeVar("T")


@dataclass(frozen=True)
class EventFilter:
    city: str = ""
    neighborhood: str = ""
    category: str = ""
    starts_after: datetime | None = None
    starts_before: datetime | None = None


@dataclass(frozen=True)
class EventCursor:
    """Keyset position in (starts_at, event_id) order."""

    starts_at: datetime
    event_id: str


@dataclass(frozen=True)
class EngagementCount:
    """How many times users of an age bracket did an action on an event in one hour."""

    event_id: str
    age_bracket: str
    action: str
    hour: int  # hours since the epoch, UTC
    count: int


@dataclass(frozen=True)
class PendingView:
    """A viewed item of an impression, waiting for a reward until due_at."""

    feed_id: str
    event_id: str
    user_id: str
    due_at: datetime


@dataclass(frozen=True)
class ModelSnapshot:
    version: str
    created_at: datetime
    learned: int
    blob: bytes
    # The last example of the learning log the model includes (0: none).
    last_seq: int = 0


@dataclass(frozen=True)
class LearnedExample:
    """One cb example, as every worker must learn it, in the log's order."""

    shared: str
    actions: tuple[str, ...]
    chosen: int
    reward: float
    propensity: float


@dataclass(frozen=True)
class LoggedExample:
    seq: int
    created_at: datetime
    example: LearnedExample


@dataclass(frozen=True)
class LogPosition:
    """Where a page of a time-ordered log ended: the last record's time and id."""

    at: datetime
    key: str


class Repository(abc.ABC):
    """Everything the domain persists. Each method is one durable operation."""

    backend: str
    # Whether a read can hang (a server that stopped answering): the read path then reads
    # within a budget, on a thread of its own.
    reads_can_stall: bool = True

    def atomic(self) -> AbstractContextManager[None]:
        """Writes made inside, by this thread, commit together or not at all, where the
        backend can: the embedded store can; MongoDB writes each stand alone here (a
        multi-document transaction needs a replica-set session, not used yet)."""
        return contextlib.nullcontext()

    def transaction(self, work: Callable[[], T]) -> T:
        """Run `work` (repository calls) as one transaction and return its result once it
        is durable. The embedded store group-commits: many requests' work in one commit."""
        with self.atomic():
            return work()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the transaction this thread is in has committed (never, if
        it rolls back); at once outside a transaction. What a process keeps of a write
        (a cached profile) must not run ahead of the store."""
        callback()

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """`transaction` without waiting, for a write behind an answer (nobody waits for
        it): the future holds the result or the error. The store may hold it a few
        milliseconds to commit it with other work."""
        done: Future[T] = Future()
        try:
            done.set_result(self.transaction(work))
        except Exception as exc:
            done.set_exception(exc)
        return done

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # Users
    @abc.abstractmethod
    def get_user(self, user_id: str) -> UserProfile | None: ...

    @abc.abstractmethod
    def profile_version(self, user_id: str) -> int | None:
        """The stored profile's version (bumped on every write), None when there is none:
        one small read, to tell whether a copy kept in the process is current."""

    @abc.abstractmethod
    def save_user(self, profile: UserProfile) -> bool:
        """Write the profile if the stored copy still has version profile.version - 1
        (or does not exist when profile.version == 1). False means someone else wrote
        first; re-read and retry."""

    # Behaviors
    @abc.abstractmethod
    def insert_behavior(self, behavior: Behavior) -> bool:
        """Store durably; False (and no change) when behavior_id already exists."""

    @abc.abstractmethod
    def get_behavior(self, behavior_id: str) -> Behavior | None: ...

    @abc.abstractmethod
    def latest_behavior(
        self, user_id: str, event_id: str, action: str, feed_id: str = ""
    ) -> Behavior | None:
        """The newest matching behavior (feed_id only narrows when non-empty)."""

    @abc.abstractmethod
    def record_reward(self, behavior_id: str, reward: float) -> bool:
        """Set the behavior's reward and mark it rewarded, only if it is not rewarded
        yet; False when it already was."""

    @abc.abstractmethod
    def excluded_event_ids(self, user_id: str) -> set[str]:
        """Events the user hid or bought."""

    @abc.abstractmethod
    def engagement_counts(self, since: datetime, until: datetime) -> list[EngagementCount]:
        """Behaviors on events in [since, until), counted per event, bracket, action, hour."""

    # Events
    @abc.abstractmethod
    def upsert_events(self, events: Sequence[Event]) -> None:
        """Insert or replace by event_id, all or nothing; popularity is kept."""

    @abc.abstractmethod
    def get_event(self, event_id: str) -> Event | None: ...

    @abc.abstractmethod
    def list_events(
        self, where: EventFilter, limit: int, after: EventCursor | None = None
    ) -> list[Event]: ...

    @abc.abstractmethod
    def delete_event(self, event_id: str) -> bool: ...

    @abc.abstractmethod
    def active_events(self) -> list[Event]: ...

    @abc.abstractmethod
    def count_events(self) -> int: ...

    @abc.abstractmethod
    def add_popularity(self, event_id: str, delta: float) -> None: ...

    @abc.abstractmethod
    def catalog_version(self) -> int:
        """A number that changes whenever events are written or deleted."""

    # Impressions
    @abc.abstractmethod
    def insert_impressions(self, impressions: Sequence[Impression]) -> None:
        """Store several impressions at once (every feed's write behind the answers)."""

    def insert_impression(self, impression: Impression) -> None:
        self.insert_impressions([impression])

    @abc.abstractmethod
    def get_impression(self, feed_id: str) -> Impression | None: ...

    @abc.abstractmethod
    def newest_list(self, user_id: str) -> ListMark | None:
        """The newest impression shown to the user, as a mark, or None."""

    @abc.abstractmethod
    def lists_after(self, user_id: str, mark: ListMark | None) -> list[ShownList]:
        """The lists shown to the user after `mark` (all, for None), oldest first (lists
        shown at one moment in the order they were written), as exposure needs them: the
        lists a profile has not taken in yet."""

    @abc.abstractmethod
    def latest_impression_with(
        self, user_id: str, event_id: str, since: datetime
    ) -> Impression | None:
        """The newest impression since `since` that showed the event to the user."""

    @abc.abstractmethod
    def impressions_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Impression]:
        """Impressions created in [since, until), oldest first (ties by feed_id), starting
        after `after`: read a long log page by page."""

    @abc.abstractmethod
    def behaviors_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Behavior]:
        """Behaviors that occurred in [since, until), oldest first (ties by behavior_id),
        starting after `after`."""

    # Learning
    @abc.abstractmethod
    def claim(self, key: str) -> bool:
        """True the first time a key is claimed, False ever after: learn exactly once."""

    @abc.abstractmethod
    def add_pending_view(self, view: PendingView) -> None:
        """Remember a viewed item (once per feed and event; a repeat keeps the first)."""

    @abc.abstractmethod
    def remove_pending_view(self, feed_id: str, event_id: str) -> None: ...

    @abc.abstractmethod
    def due_pending_views(self, now: datetime, limit: int) -> list[PendingView]: ...

    @abc.abstractmethod
    def save_model(self, snapshot: ModelSnapshot) -> None: ...

    @abc.abstractmethod
    def latest_model(self) -> ModelSnapshot | None: ...

    @abc.abstractmethod
    def append_example(self, example: LearnedExample) -> int:
        """Add to the learning log; returns its sequence number (increasing)."""

    @abc.abstractmethod
    def examples_after(self, seq: int, limit: int) -> list[LoggedExample]:
        """The log after `seq`, in sequence order."""

    @abc.abstractmethod
    def trim_examples(self, upto_seq: int) -> int:
        """Forget the log up to and including `upto_seq` (snapshots hold it)."""

    @abc.abstractmethod
    def add_to_counter(self, name: str, amount: int = 1) -> None: ...

    @abc.abstractmethod
    def counter(self, name: str) -> int: ...

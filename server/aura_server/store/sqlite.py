"""The embedded store: one SQLite file in WAL mode, created on first use."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from aura_server.domain.clock import utcnow
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.models import (
    Behavior,
    Event,
    Impression,
    ListMark,
    ShownList,
    UserProfile,
)
from aura_server.domain.repository import (
    EngagementCount,
    EventCursor,
    EventFilter,
    LearnedExample,
    LoggedExample,
    LogPosition,
    ModelSnapshot,
    PendingView,
    Repository,
)
from aura_server.store.availability import unavailable_on
from aura_server.store.documents import (
    event_from_doc,
    event_to_doc,
    example_to_doc,
    impression_from_doc,
    impression_to_doc,
    profile_from_doc,
    profile_to_doc,
    shown_from_doc,
    shown_to_doc,
)
from aura_server.store.group_commit import GroupCommitter

T = TypeVar("T")
# How long a write may wait for the store (another process holding it) before UNAVAILABLE.
DEFAULT_WRITE_BUDGET = 1.0
CHECKPOINT_SECONDS = 0.5
BACKSTOP_CHECKPOINT_PAGES = 20_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS behaviors (
    behavior_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    event_id TEXT NOT NULL,
    query TEXT NOT NULL,
    feed_id TEXT NOT NULL,
    position INTEGER,
    occurred_at REAL NOT NULL,
    reward REAL,
    rewarded INTEGER NOT NULL DEFAULT 0,
    age_bracket TEXT NOT NULL DEFAULT '',
    occurred_hour INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS behaviors_by_user_event
    ON behaviors (user_id, event_id, action, occurred_at);
CREATE INDEX IF NOT EXISTS behaviors_by_time ON behaviors (occurred_at);
CREATE INDEX IF NOT EXISTS behaviors_by_hour ON behaviors (occurred_hour);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    city TEXT NOT NULL,
    neighborhood TEXT NOT NULL,
    categories TEXT NOT NULL,
    starts_at REAL NOT NULL,
    popularity REAL NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_start ON events (starts_at, event_id);
CREATE TABLE IF NOT EXISTS impressions (
    feed_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    doc TEXT NOT NULL,
    -- " id1 id2 ... ": the events shown, for the join of a behavior without a feed_id
    event_ids TEXT NOT NULL DEFAULT '',
    -- what its exposure needs (documents.shown_to_doc), read without the whole document
    shown BLOB
);
CREATE INDEX IF NOT EXISTS impressions_by_user ON impressions (user_id, created_at);
CREATE INDEX IF NOT EXISTS impressions_by_time ON impressions (created_at, feed_id);
CREATE TABLE IF NOT EXISTS learning_claims (
    key TEXT PRIMARY KEY,
    claimed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_views (
    feed_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    due_at REAL NOT NULL,
    PRIMARY KEY (feed_id, event_id)
);
CREATE INDEX IF NOT EXISTS pending_views_by_due ON pending_views (due_at);
CREATE TABLE IF NOT EXISTS models (
    version TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    learned INTEGER NOT NULL,
    blob BLOB NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS learning_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

BEHAVIOR_COLUMNS = (
    "behavior_id, user_id, action, event_id, query, feed_id, position, occurred_at, "
    "reward, rewarded, age_bracket, occurred_hour"
)


MODELS_KEPT = 3


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _dumps(doc: dict[str, Any] | list[Any]) -> bytes:
    """JSON, with times as ISO text (orjson: documents are written on every request)."""
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)


def _loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def _categories_key(categories: Sequence[str]) -> str:
    # "|Techno|House|" lets one LIKE pattern find a whole category name.
    return "|" + "|".join(categories) + "|"


def _example(doc: dict[str, Any]) -> LearnedExample:
    return LearnedExample(
        doc["shared"], tuple(doc["actions"]), doc["chosen"], doc["reward"], doc["propensity"]
    )


def _behavior_from_row(row: sqlite3.Row) -> Behavior:
    return Behavior(
        behavior_id=row["behavior_id"],
        user_id=row["user_id"],
        action=row["action"],
        event_id=row["event_id"],
        query=row["query"],
        feed_id=row["feed_id"],
        position=row["position"],
        occurred_at=_dt(row["occurred_at"]),
        reward=row["reward"],
        rewarded=bool(row["rewarded"]),
        age_bracket=row["age_bracket"],
    )


@unavailable_on(sqlite3.OperationalError, sqlite3.DatabaseError)
class SQLiteRepository(Repository):
    backend = "sqlite"
    reads_can_stall = False  # WAL: readers never wait for a writer

    def __init__(self, path: str | Path, write_budget: float = DEFAULT_WRITE_BUDGET) -> None:
        self.path = str(path)
        # How long a write may wait for the store before it is refused as unavailable.
        self.write_budget = write_budget
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lock_file: tuple[int, IO[bytes]] | None = None  # (owning pid, file)
        self._add_missing_columns()
        self._conn().executescript(SCHEMA)  # executescript manages its own transaction
        self._committer = GroupCommitter(
            self._begin_batch, self._execute, self._finish_batch, write_budget
        )
        self._checkpointer: tuple[int, threading.Thread] | None = None  # (pid, thread)
        self._closing = threading.Event()

    def _add_missing_columns(self) -> None:
        """Bring a file written by an older release up to the current tables."""
        added = self._add_columns(
            "behaviors",
            [
                ("age_bracket", "TEXT NOT NULL DEFAULT ''"),
                ("occurred_hour", "INTEGER NOT NULL DEFAULT 0"),
            ],
        )
        if "occurred_hour" in added:
            self._conn().execute(
                "UPDATE behaviors SET occurred_hour = CAST(occurred_at / 3600 AS INTEGER)"
            )
        self._add_columns("models", [("last_seq", "INTEGER NOT NULL DEFAULT 0")])
        self._add_columns("impressions", [("shown", "BLOB")])
        if self._add_columns("impressions", [("event_ids", "TEXT NOT NULL DEFAULT ''")]):
            # Releases before this one kept a row per item shown in impression_events.
            conn = self._conn()
            conn.execute(
                "UPDATE impressions SET event_ids = ' ' || (SELECT group_concat(event_id, ' ') "
                "FROM impression_events e WHERE e.feed_id = impressions.feed_id) || ' '"
            )
            conn.execute("DROP TABLE IF EXISTS impression_events")

    def _add_columns(self, table: str, wanted: list[tuple[str, str]]) -> list[str]:
        """Add the columns a table lacks (none for a new file: SCHEMA creates it whole)."""
        conn = self._conn()
        columns = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if not columns:
            return []
        added = [name for name, _ in wanted if name not in columns]
        for name, ddl in wanted:
            if name in added:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")
        return added

    # One connection per thread: sqlite3 connections must not be shared across threads.
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process crashes in WAL mode (only an OS crash can
            # lose the last transactions); FULL costs an fsync per behavior.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Checkpoints run on a thread of their own (_checkpoints): one run by a commit
            # holds up every write behind it for the disk's time (up to 100 ms seen here).
            # This is the backstop, should that thread fall behind.
            conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _start_checkpoints(self) -> None:
        """Copy the write-ahead log into the database every CHECKPOINT_SECONDS, on a thread
        of this process's (started with the first write, again in a forked worker),
        without waiting for readers or writers (PASSIVE): writes never wait for it."""
        if self.path == ":memory:":
            return
        running = self._checkpointer
        if running is not None and running[0] == os.getpid() and running[1].is_alive():
            return
        thread = threading.Thread(target=self._checkpoints, name="aura-checkpoint", daemon=True)
        self._checkpointer = (os.getpid(), thread)
        thread.start()

    def _checkpoints(self) -> None:
        while not self._closing.wait(CHECKPOINT_SECONDS):
            try:
                self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # busy or gone: the next round, or the backstop
                continue

    def transaction(self, work: Callable[[], T]) -> T:
        if getattr(self._local, "depth", 0):  # already inside one (the writer's batch)
            return work()
        result: T = self._committer.run(work)
        return result

    def submit(self, work: Callable[[], T]) -> Future[T]:
        return self._committer.submit(work, behind=True)

    def on_commit(self, callback: Callable[[], None]) -> None:
        if self._committer.in_batch():
            self._committer.defer(callback)
        elif getattr(self._local, "depth", 0):
            self._local.after_commit.append(callback)
        else:
            callback()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction for every write this thread makes inside (nested: the outermost
        commits)."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        handle = self._begin_batch(self.write_budget)
        self._local.after_commit = []
        try:
            yield
        except BaseException:
            self._finish_batch(handle, commit=False)
            raise
        self._finish_batch(handle, commit=True)
        for callback in self._local.after_commit:
            callback()

    def _begin_batch(self, timeout: float) -> sqlite3.Connection:
        """Open this thread's write transaction within `timeout` seconds, or refuse.

        Writers queue on locks that hand over at once (threads of this process on a
        thread lock, processes on an flock of a side file) instead of in SQLite's busy
        handler, which sleeps in growing steps (1, 2, 5 ... 100 ms) and was most of the
        tail latency with two workers. The busy handler stays as the fallback for writers
        that do not take the side lock (the sqlite3 shell, a backup), bounded by what is
        left of the timeout."""
        deadline = time.monotonic() + timeout
        try:
            conn = self._conn()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        self._start_checkpoints()
        if not self._write_lock.acquire(timeout=timeout):
            raise StoreUnavailable(f"sqlite: no write slot within {timeout:.2f} s; retry")
        try:
            self._lock_process(deadline)
            try:
                left = max(deadline - time.monotonic(), 0.001)
                conn.execute(f"PRAGMA busy_timeout={int(left * 1000)}")
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self._unlock_process()
                raise StoreUnavailable(f"sqlite: {exc}; retry") from exc
        except BaseException:
            self._write_lock.release()
            raise
        self._local.depth = 1
        return conn

    def _execute(self, sql: str) -> None:
        try:
            self._conn().execute(sql)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _finish_batch(self, conn: sqlite3.Connection, commit: bool) -> None:
        try:
            if commit:
                conn.execute("COMMIT")
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        finally:
            self._local.depth = 0
            self._unlock_process()
            self._write_lock.release()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.atomic():
            yield self._conn()

    def _lock_process(self, deadline: float) -> None:
        """Take the writers' flock across processes by `deadline`, or refuse."""
        if self.path == ":memory:":
            return
        # A forked child must not share its parent's open file: flock belongs to it.
        if self._lock_file is None or self._lock_file[0] != os.getpid():
            self._lock_file = (os.getpid(), open(self.path + ".writelock", "ab"))  # noqa: SIM115
        handle = self._lock_file[1]
        pause = 0.0001
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        "sqlite: another process holds the write lock; retry"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def _unlock_process(self) -> None:
        if self.path != ":memory:" and self._lock_file is not None:
            fcntl.flock(self._lock_file[1], fcntl.LOCK_UN)

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def close(self) -> None:
        self._committer.close()  # what is queued is written first
        self._closing.set()
        if self._checkpointer is not None and self._checkpointer[0] == os.getpid():
            self._checkpointer[1].join(timeout=5)
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.ProgrammingError):  # closed already
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._lock_file is not None and self._lock_file[0] == os.getpid():
            self._lock_file[1].close()
        self._lock_file = None

    # Users
    def get_user(self, user_id: str) -> UserProfile | None:
        row = self._conn().execute("SELECT doc FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else profile_from_doc(_loads(row["doc"]))

    def profile_version(self, user_id: str) -> int | None:
        row = (
            self._conn()
            .execute("SELECT version FROM users WHERE user_id = ?", (user_id,))
            .fetchone()
        )
        return None if row is None else int(row[0])

    def save_user(self, profile: UserProfile) -> bool:
        doc = _dumps(profile_to_doc(profile))
        with self._write() as conn:
            if profile.version == 1:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO users (user_id, version, doc) VALUES (?, ?, ?)",
                    (profile.user_id, profile.version, doc),
                )
            else:
                cur = conn.execute(
                    "UPDATE users SET version = ?, doc = ? WHERE user_id = ? AND version = ?",
                    (profile.version, doc, profile.user_id, profile.version - 1),
                )
            return cur.rowcount == 1

    # Behaviors
    def insert_behavior(self, behavior: Behavior) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO behaviors ({BEHAVIOR_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    behavior.behavior_id,
                    behavior.user_id,
                    behavior.action,
                    behavior.event_id,
                    behavior.query,
                    behavior.feed_id,
                    behavior.position,
                    _ts(behavior.occurred_at),
                    behavior.reward,
                    int(behavior.rewarded),
                    behavior.age_bracket,
                    int(_ts(behavior.occurred_at) // 3600),
                ),
            )
            return cur.rowcount == 1

    def get_behavior(self, behavior_id: str) -> Behavior | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {BEHAVIOR_COLUMNS} FROM behaviors WHERE behavior_id = ?", (behavior_id,)
            )
            .fetchone()
        )
        return None if row is None else _behavior_from_row(row)

    def latest_behavior(
        self, user_id: str, event_id: str, action: str, feed_id: str = ""
    ) -> Behavior | None:
        sql = (
            f"SELECT {BEHAVIOR_COLUMNS} FROM behaviors "
            "WHERE user_id = ? AND event_id = ? AND action = ?"
        )
        params: list[Any] = [user_id, event_id, action]
        if feed_id:
            sql += " AND feed_id = ?"
            params.append(feed_id)
        row = self._conn().execute(sql + " ORDER BY occurred_at DESC LIMIT 1", params).fetchone()
        return None if row is None else _behavior_from_row(row)

    def record_reward(self, behavior_id: str, reward: float) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE behaviors SET reward = ?, rewarded = 1 "
                "WHERE behavior_id = ? AND rewarded = 0",
                (reward, behavior_id),
            )
            return cur.rowcount == 1

    def excluded_event_ids(self, user_id: str) -> set[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT event_id FROM behaviors "
            "WHERE user_id = ? AND action IN ('hide', 'purchase')",
            (user_id,),
        )
        return {row["event_id"] for row in rows}

    def engagement_counts(self, since: datetime, until: datetime) -> list[EngagementCount]:
        rows = self._conn().execute(
            "SELECT event_id, age_bracket, action, occurred_hour, COUNT(*) AS n FROM behaviors "
            "WHERE occurred_at >= ? AND occurred_at < ? AND event_id != '' "
            "GROUP BY event_id, age_bracket, action, occurred_hour",
            (_ts(since), _ts(until)),
        )
        return [
            EngagementCount(
                r["event_id"], r["age_bracket"], r["action"], r["occurred_hour"], r["n"]
            )
            for r in rows
        ]

    # Events
    def upsert_events(self, events: Sequence[Event]) -> None:
        with self._write() as conn:
            for event in events:
                row = conn.execute(
                    "SELECT popularity FROM events WHERE event_id = ?", (event.event_id,)
                ).fetchone()
                popularity = event.popularity if row is None else row["popularity"]
                doc = event_to_doc(event)
                doc["popularity"] = popularity
                conn.execute(
                    "INSERT OR REPLACE INTO events (event_id, status, city, neighborhood, "
                    "categories, starts_at, popularity, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.event_id,
                        event.status,
                        event.city,
                        event.neighborhood,
                        _categories_key(event.categories),
                        _ts(event.starts_at),
                        popularity,
                        _dumps(doc),
                    ),
                )
            self._bump_catalog_version(conn)

    def _bump_catalog_version(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('catalog_version', 1) "
            "ON CONFLICT(key) DO UPDATE SET value = value + 1"
        )

    def _event_from_row(self, row: sqlite3.Row) -> Event:
        event = event_from_doc(_loads(row["doc"]))
        event.popularity = row["popularity"]
        return event

    def get_event(self, event_id: str) -> Event | None:
        row = (
            self._conn()
            .execute("SELECT doc, popularity FROM events WHERE event_id = ?", (event_id,))
            .fetchone()
        )
        return None if row is None else self._event_from_row(row)

    def list_events(
        self, where: EventFilter, limit: int, after: EventCursor | None = None
    ) -> list[Event]:
        clauses: list[str] = []
        params: list[Any] = []
        if where.city:
            clauses.append("city = ?")
            params.append(where.city)
        if where.neighborhood:
            clauses.append("neighborhood = ?")
            params.append(where.neighborhood)
        if where.category:
            clauses.append("categories LIKE ?")
            params.append(f"%|{where.category}|%")
        if where.starts_after is not None:
            clauses.append("starts_at >= ?")
            params.append(_ts(where.starts_after))
        if where.starts_before is not None:
            clauses.append("starts_at < ?")
            params.append(_ts(where.starts_before))
        if after is not None:
            clauses.append("(starts_at > ? OR (starts_at = ? AND event_id > ?))")
            params += [_ts(after.starts_at), _ts(after.starts_at), after.event_id]
        sql = "SELECT doc, popularity FROM events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY starts_at, event_id LIMIT ?"
        params.append(limit)
        return [self._event_from_row(row) for row in self._conn().execute(sql, params)]

    def delete_event(self, event_id: str) -> bool:
        with self._write() as conn:
            cur = conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
            if cur.rowcount:
                self._bump_catalog_version(conn)
            return cur.rowcount == 1

    def active_events(self) -> list[Event]:
        rows = self._conn().execute(
            "SELECT doc, popularity FROM events WHERE status = 'active' ORDER BY event_id"
        )
        return [self._event_from_row(row) for row in rows]

    def count_events(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def add_popularity(self, event_id: str, delta: float) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE events SET popularity = popularity + ? WHERE event_id = ?",
                (delta, event_id),
            )

    def catalog_version(self) -> int:
        row = (
            self._conn().execute("SELECT value FROM meta WHERE key = 'catalog_version'").fetchone()
        )
        return 0 if row is None else int(row["value"])

    # Impressions
    def insert_impressions(self, impressions: Sequence[Impression]) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO impressions (feed_id, user_id, created_at, doc, event_ids, shown) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        impression.feed_id,
                        impression.user_id,
                        _ts(impression.created_at),
                        _dumps(impression_to_doc(impression)),
                        " " + " ".join(item.event_id for item in impression.items) + " ",
                        _dumps(shown_to_doc(impression)),
                    )
                    for impression in impressions
                ],
            )

    # Lists are ordered by when they were shown, then by when they were written (rowid):
    # lists shown at one moment (a held clock) keep the order they were served in.
    def newest_list(self, user_id: str) -> ListMark | None:
        row = (
            self._conn()
            .execute(
                "SELECT created_at, feed_id FROM impressions WHERE user_id = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (user_id,),
            )
            .fetchone()
        )
        return None if row is None else ListMark(_dt(row["created_at"]), row["feed_id"])

    def lists_after(self, user_id: str, mark: ListMark | None) -> list[ShownList]:
        if mark is None:
            rows = self._conn().execute(
                "SELECT created_at, feed_id, shown FROM impressions WHERE user_id = ? "
                "ORDER BY created_at, rowid",
                (user_id,),
            )
        else:
            at = _ts(mark.at)
            rows = self._conn().execute(
                "SELECT created_at, feed_id, shown FROM impressions WHERE user_id = ? "
                "AND (created_at > ? OR (created_at = ? AND rowid > "
                "(SELECT rowid FROM impressions WHERE feed_id = ?))) ORDER BY created_at, rowid",
                (user_id, at, at, mark.feed_id),
            )
        return [
            shown_from_doc(
                ListMark(_dt(row["created_at"]), row["feed_id"]),
                _loads(row["shown"]) if row["shown"] else None,
            )
            for row in rows
        ]

    def get_impression(self, feed_id: str) -> Impression | None:
        row = (
            self._conn()
            .execute("SELECT doc FROM impressions WHERE feed_id = ?", (feed_id,))
            .fetchone()
        )
        return None if row is None else impression_from_doc(_loads(row["doc"]))

    def impressions_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Impression]:
        start, key = (_ts(after.at), after.key) if after else (_ts(since), "")
        rows = self._conn().execute(
            "SELECT doc FROM impressions WHERE created_at < ? AND created_at >= ? "
            "AND (created_at > ? OR (created_at = ? AND feed_id > ?)) "
            "ORDER BY created_at, feed_id LIMIT ?",
            (_ts(until), _ts(since), start, start, key, limit),
        )
        return [impression_from_doc(_loads(row["doc"])) for row in rows]

    def behaviors_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Behavior]:
        start, key = (_ts(after.at), after.key) if after else (_ts(since), "")
        rows = self._conn().execute(
            f"SELECT {BEHAVIOR_COLUMNS} FROM behaviors WHERE occurred_at < ? "
            "AND occurred_at >= ? AND (occurred_at > ? OR (occurred_at = ? AND behavior_id > ?)) "
            "ORDER BY occurred_at, behavior_id LIMIT ?",
            (_ts(until), _ts(since), start, start, key, limit),
        )
        return [_behavior_from_row(row) for row in rows]

    def latest_impression_with(
        self, user_id: str, event_id: str, since: datetime
    ) -> Impression | None:
        row = (
            self._conn()
            .execute(
                "SELECT doc FROM impressions WHERE user_id = ? AND created_at >= ? "
                "AND instr(event_ids, ?) > 0 ORDER BY created_at DESC LIMIT 1",
                (user_id, _ts(since), f" {event_id} "),
            )
            .fetchone()
        )
        return None if row is None else impression_from_doc(_loads(row["doc"]))

    # Learning
    def claim(self, key: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO learning_claims (key, claimed_at) VALUES (?, ?)",
                (key, _ts(utcnow())),
            )
            return cur.rowcount == 1

    def add_pending_view(self, view: PendingView) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pending_views (feed_id, event_id, user_id, due_at) "
                "VALUES (?, ?, ?, ?)",
                (view.feed_id, view.event_id, view.user_id, _ts(view.due_at)),
            )

    def remove_pending_view(self, feed_id: str, event_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM pending_views WHERE feed_id = ? AND event_id = ?", (feed_id, event_id)
            )

    def due_pending_views(self, now: datetime, limit: int) -> list[PendingView]:
        rows = self._conn().execute(
            "SELECT feed_id, event_id, user_id, due_at FROM pending_views "
            "WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            (_ts(now), limit),
        )
        return [
            PendingView(r["feed_id"], r["event_id"], r["user_id"], _dt(r["due_at"])) for r in rows
        ]

    def save_model(self, snapshot: ModelSnapshot) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO models (version, created_at, learned, blob, last_seq) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    snapshot.version,
                    _ts(snapshot.created_at),
                    snapshot.learned,
                    snapshot.blob,
                    snapshot.last_seq,
                ),
            )
            # Keep the newest few: enough to fall back on, not a growing table.
            conn.execute(
                "DELETE FROM models WHERE version NOT IN "
                "(SELECT version FROM models ORDER BY created_at DESC LIMIT ?)",
                (MODELS_KEPT,),
            )

    def latest_model(self) -> ModelSnapshot | None:
        row = (
            self._conn()
            .execute(
                "SELECT version, created_at, learned, blob, last_seq FROM models "
                "ORDER BY created_at DESC LIMIT 1"
            )
            .fetchone()
        )
        if row is None:
            return None
        return ModelSnapshot(
            row["version"],
            _dt(row["created_at"]),
            row["learned"],
            bytes(row["blob"]),
            row["last_seq"],
        )

    def append_example(self, example: LearnedExample) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO learning_log (created_at, doc) VALUES (?, ?)",
                (_ts(utcnow()), _dumps(example_to_doc(example))),
            )
            return int(cur.lastrowid or 0)

    def examples_after(self, seq: int, limit: int) -> list[LoggedExample]:
        rows = self._conn().execute(
            "SELECT seq, created_at, doc FROM learning_log WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [
            LoggedExample(r["seq"], _dt(r["created_at"]), _example(_loads(r["doc"]))) for r in rows
        ]

    def trim_examples(self, upto_seq: int) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM learning_log WHERE seq <= ?", (upto_seq,)).rowcount

    def add_to_counter(self, name: str, amount: int = 1) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                (f"counter:{name}", amount),
            )

    def counter(self, name: str) -> int:
        row = (
            self._conn()
            .execute("SELECT value FROM meta WHERE key = ?", (f"counter:{name}",))
            .fetchone()
        )
        return 0 if row is None else int(row["value"])

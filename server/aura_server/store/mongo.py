"""The production store: MongoDB through pymongo."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import pymongo
from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from aura_server.domain.clock import utcnow
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.models import (
    Behavior,
    Event,
    Impression,
    ListMark,
    ShownList,
    UserProfile,
    as_datetime,
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

Doc = dict[str, Any]
MODELS_KEPT = 3


def _page_filter(
    time_field: str, key_field: str, since: datetime, until: datetime, after: LogPosition | None
) -> Doc:
    window: Doc = {time_field: {"$gte": since, "$lt": until}}
    if after is None:
        return window
    return {
        "$and": [
            window,
            {
                "$or": [
                    {time_field: {"$gt": after.at}},
                    {time_field: after.at, key_field: {"$gt": after.key}},
                ]
            },
        ]
    }


def _behavior_from_doc(doc: Doc) -> Behavior:
    return Behavior(
        behavior_id=doc["behavior_id"],
        user_id=doc["user_id"],
        action=doc["action"],
        occurred_at=as_datetime(doc["occurred_at"]),
        event_id=doc.get("event_id", ""),
        query=doc.get("query", ""),
        feed_id=doc.get("feed_id", ""),
        position=doc.get("position"),
        reward=doc.get("reward"),
        rewarded=bool(doc.get("rewarded", False)),
        age_bracket=doc.get("age_bracket", ""),
    )


def _event_doc(event: Event) -> Doc:
    doc = event_to_doc(event)
    doc["location"] = {"type": "Point", "coordinates": [event.lng, event.lat]}
    return doc


# A request's store operations end within this (as long as a write may wait on the
# embedded store): a server that stops answering turns into a quick, retryable
# UNAVAILABLE instead of a call that hangs. Imports, scans, index builds and model
# snapshots keep pymongo's own limits (server selection within 3 s, no operation limit).
OPERATION_TIMEOUT_SECONDS = 1.0

Method = TypeVar("Method", bound=Callable[..., Any])
T = TypeVar("T")


def request_budget(method: Method) -> Method:
    """Run this operation under pymongo's client-side timeout of OPERATION_TIMEOUT_SECONDS
    (server selection included)."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with pymongo.timeout(OPERATION_TIMEOUT_SECONDS):
            return method(*args, **kwargs)

    return run  # type: ignore[return-value]


# Duplicate keys are answered inside the methods; everything else a driver raises means the
# store could not do the work.
@unavailable_on(PyMongoError)
class MongoRepository(Repository):
    backend = "mongodb"

    def __init__(self, client: pymongo.MongoClient[Doc], database: str = "aura") -> None:
        self.client = client
        db = client[database]
        self.users: Collection[Doc] = db["users"]
        self.behaviors: Collection[Doc] = db["behaviors"]
        self.events: Collection[Doc] = db["events"]
        self.impressions: Collection[Doc] = db["impressions"]
        self.meta: Collection[Doc] = db["meta"]
        self.claims: Collection[Doc] = db["learning_claims"]
        self.pending_views: Collection[Doc] = db["pending_views"]
        self.models: Collection[Doc] = db["models"]
        self.learning_log: Collection[Doc] = db["learning_log"]
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="aura-mongo-writer")
        self._ensure_indexes()

    @classmethod
    def connect(
        cls, url: str, database: str = "aura", write_concern: str = "majority"
    ) -> MongoRepository:
        """Writes are acknowledged only once journaled on `write_concern` members
        ("majority" by default; a number for that many), so an acknowledged write
        survives a crash of the server or of the primary."""
        w: str | int = int(write_concern) if write_concern.isdigit() else write_concern
        client: pymongo.MongoClient[Doc] = pymongo.MongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=3000, w=w, journal=True
        )
        return cls(client, database)

    def _ensure_indexes(self) -> None:
        try:
            self.users.create_index("user_id", unique=True)
            self.behaviors.create_index("behavior_id", unique=True)
            self.behaviors.create_index(
                [
                    ("user_id", ASCENDING),
                    ("event_id", ASCENDING),
                    ("action", ASCENDING),
                    ("occurred_at", DESCENDING),
                ]
            )
            self.behaviors.create_index("occurred_at")
            self.events.create_index("event_id", unique=True)
            self.events.create_index([("starts_at", ASCENDING), ("event_id", ASCENDING)])
            self.events.create_index([("location", "2dsphere")])
            self.impressions.create_index("feed_id", unique=True)
            self.impressions.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
            self.impressions.create_index([("created_at", ASCENDING), ("feed_id", ASCENDING)])
            self.impressions.create_index(
                [("user_id", ASCENDING), ("items.event_id", ASCENDING), ("created_at", DESCENDING)]
            )
            self.behaviors.create_index("occurred_hour")
            self.claims.create_index("key", unique=True)
            self.pending_views.create_index(
                [("feed_id", ASCENDING), ("event_id", ASCENDING)], unique=True
            )
            self.pending_views.create_index("due_at")
            self.models.create_index([("created_at", DESCENDING)])
            self.learning_log.create_index("seq", unique=True)
        except PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc

    def ping(self) -> None:
        try:
            self.client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Writes behind an answer (a feed's impression) go to one writer thread, in the
        order given, so the answer never waits on the server, nor hangs with it."""
        try:
            return self._writer.submit(self.transaction, work)
        except RuntimeError:  # closed: a late retry of an impression finds no writer
            done: Future[T] = Future()
            done.set_exception(StoreUnavailable("mongodb: the store is closed"))
            return done

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.client.close()

    # Users
    @request_budget
    def get_user(self, user_id: str) -> UserProfile | None:
        doc = self.users.find_one({"user_id": user_id}, {"_id": 0})
        return None if doc is None else profile_from_doc(doc)

    @request_budget
    def profile_version(self, user_id: str) -> int | None:
        doc = self.users.find_one({"user_id": user_id}, {"_id": 0, "version": 1})
        return None if doc is None else int(doc.get("version", 0))

    @request_budget
    def save_user(self, profile: UserProfile) -> bool:
        doc = profile_to_doc(profile)
        if profile.version == 1:
            try:
                self.users.insert_one(doc)
            except DuplicateKeyError:
                return False
            return True
        result = self.users.replace_one(
            {"user_id": profile.user_id, "version": profile.version - 1}, doc
        )
        return result.matched_count == 1

    # Behaviors
    @request_budget
    def insert_behavior(self, behavior: Behavior) -> bool:
        doc = dict(vars(behavior))
        doc["occurred_hour"] = int(behavior.occurred_at.timestamp() // 3600)
        try:
            self.behaviors.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    @request_budget
    def get_behavior(self, behavior_id: str) -> Behavior | None:
        doc = self.behaviors.find_one({"behavior_id": behavior_id})
        return None if doc is None else _behavior_from_doc(doc)

    @request_budget
    def latest_behavior(
        self, user_id: str, event_id: str, action: str, feed_id: str = ""
    ) -> Behavior | None:
        query: Doc = {"user_id": user_id, "event_id": event_id, "action": action}
        if feed_id:
            query["feed_id"] = feed_id
        doc = self.behaviors.find_one(query, sort=[("occurred_at", DESCENDING)])
        return None if doc is None else _behavior_from_doc(doc)

    @request_budget
    def record_reward(self, behavior_id: str, reward: float) -> bool:
        result = self.behaviors.update_one(
            {"behavior_id": behavior_id, "rewarded": False},
            {"$set": {"reward": reward, "rewarded": True}},
        )
        return result.modified_count == 1

    @request_budget
    def excluded_event_ids(self, user_id: str) -> set[str]:
        cursor = self.behaviors.find(
            {"user_id": user_id, "action": {"$in": ["hide", "purchase"]}}, {"event_id": 1}
        )
        return {doc["event_id"] for doc in cursor}

    def engagement_counts(self, since: datetime, until: datetime) -> list[EngagementCount]:
        pipeline: list[Doc] = [
            {"$match": {"occurred_at": {"$gte": since, "$lt": until}, "event_id": {"$ne": ""}}},
            {
                "$group": {
                    "_id": {
                        "event_id": "$event_id",
                        "age_bracket": "$age_bracket",
                        "action": "$action",
                        "hour": "$occurred_hour",
                    },
                    "count": {"$sum": 1},
                }
            },
        ]
        return [
            EngagementCount(
                row["_id"]["event_id"],
                row["_id"].get("age_bracket") or "",
                row["_id"]["action"],
                int(row["_id"]["hour"]),
                int(row["count"]),
            )
            for row in self.behaviors.aggregate(pipeline)
        ]

    # Events
    def upsert_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        operations = []
        for event in events:
            doc = _event_doc(event)
            popularity = doc.pop("popularity")
            operations.append(
                UpdateOne(
                    {"event_id": event.event_id},
                    {"$set": doc, "$setOnInsert": {"popularity": popularity}},
                    upsert=True,
                )
            )
        try:
            self.events.bulk_write(operations, ordered=True)
        except PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc
        self._bump_catalog_version()

    def _bump_catalog_version(self) -> None:
        self.meta.find_one_and_update(
            {"key": "catalog_version"},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )

    @request_budget
    def get_event(self, event_id: str) -> Event | None:
        doc = self.events.find_one({"event_id": event_id})
        return None if doc is None else event_from_doc(doc)

    @request_budget
    def list_events(
        self, where: EventFilter, limit: int, after: EventCursor | None = None
    ) -> list[Event]:
        query: Doc = {}
        if where.city:
            query["city"] = where.city
        if where.neighborhood:
            query["neighborhood"] = where.neighborhood
        if where.category:
            query["categories"] = where.category
        window: Doc = {}
        if where.starts_after is not None:
            window["$gte"] = where.starts_after
        if where.starts_before is not None:
            window["$lt"] = where.starts_before
        if window:
            query["starts_at"] = window
        if after is not None:
            query["$or"] = [
                {"starts_at": {"$gt": after.starts_at}},
                {"starts_at": after.starts_at, "event_id": {"$gt": after.event_id}},
            ]
        cursor = (
            self.events.find(query)
            .sort([("starts_at", ASCENDING), ("event_id", ASCENDING)])
            .limit(limit)
        )
        return [event_from_doc(doc) for doc in cursor]

    @request_budget
    def delete_event(self, event_id: str) -> bool:
        deleted = self.events.delete_one({"event_id": event_id}).deleted_count == 1
        if deleted:
            self._bump_catalog_version()
        return deleted

    def active_events(self) -> list[Event]:
        cursor = self.events.find({"status": "active"}).sort("event_id", ASCENDING)
        return [event_from_doc(doc) for doc in cursor]

    def count_events(self) -> int:
        return self.events.count_documents({})

    @request_budget
    def add_popularity(self, event_id: str, delta: float) -> None:
        self.events.update_one({"event_id": event_id}, {"$inc": {"popularity": delta}})

    def catalog_version(self) -> int:
        doc = self.meta.find_one({"key": "catalog_version"})
        return 0 if doc is None else int(doc["value"])

    # Impressions
    @request_budget
    def insert_impressions(self, impressions: Sequence[Impression]) -> None:
        self.impressions.insert_many(
            [{**impression_to_doc(i), "shown": shown_to_doc(i)} for i in impressions], ordered=True
        )

    @request_budget
    def get_impression(self, feed_id: str) -> Impression | None:
        doc = self.impressions.find_one({"feed_id": feed_id})
        return None if doc is None else impression_from_doc(doc)

    # Lists are ordered by when they were shown, then by _id (its counter orders the lists
    # one process wrote at one moment: a held clock).
    @request_budget
    def newest_list(self, user_id: str) -> ListMark | None:
        doc = self.impressions.find_one(
            {"user_id": user_id},
            {"_id": 0, "created_at": 1, "feed_id": 1},
            sort=[("created_at", DESCENDING), ("_id", DESCENDING)],
        )
        return None if doc is None else ListMark(as_datetime(doc["created_at"]), doc["feed_id"])

    @request_budget
    def lists_after(self, user_id: str, mark: ListMark | None) -> list[ShownList]:
        query: Doc = {"user_id": user_id}
        if mark is not None:
            marked = self.impressions.find_one({"feed_id": mark.feed_id}, {"_id": 1})
            later: list[Doc] = [{"created_at": {"$gt": mark.at}}]
            if marked is not None:
                later.append({"created_at": mark.at, "_id": {"$gt": marked["_id"]}})
            query["$or"] = later
        docs = self.impressions.find(
            query,
            {"created_at": 1, "feed_id": 1, "shown": 1},
            sort=[("created_at", ASCENDING), ("_id", ASCENDING)],
        )
        return [
            shown_from_doc(ListMark(as_datetime(d["created_at"]), d["feed_id"]), d.get("shown"))
            for d in docs
        ]

    def impressions_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Impression]:
        docs = self.impressions.find(
            _page_filter("created_at", "feed_id", since, until, after),
            sort=[("created_at", ASCENDING), ("feed_id", ASCENDING)],
            limit=limit,
        )
        return [impression_from_doc(doc) for doc in docs]

    def behaviors_page(
        self, since: datetime, until: datetime, after: LogPosition | None, limit: int
    ) -> list[Behavior]:
        docs = self.behaviors.find(
            _page_filter("occurred_at", "behavior_id", since, until, after),
            sort=[("occurred_at", ASCENDING), ("behavior_id", ASCENDING)],
            limit=limit,
        )
        return [_behavior_from_doc(doc) for doc in docs]

    @request_budget
    def latest_impression_with(
        self, user_id: str, event_id: str, since: datetime
    ) -> Impression | None:
        doc = self.impressions.find_one(
            {"user_id": user_id, "items.event_id": event_id, "created_at": {"$gte": since}},
            sort=[("created_at", DESCENDING)],
        )
        return None if doc is None else impression_from_doc(doc)

    # Learning
    @request_budget
    def claim(self, key: str) -> bool:
        try:
            self.claims.insert_one({"key": key, "claimed_at": utcnow()})
        except DuplicateKeyError:
            return False
        return True

    @request_budget
    def add_pending_view(self, view: PendingView) -> None:
        self.pending_views.update_one(
            {"feed_id": view.feed_id, "event_id": view.event_id},
            {"$setOnInsert": {"user_id": view.user_id, "due_at": view.due_at}},
            upsert=True,
        )

    @request_budget
    def remove_pending_view(self, feed_id: str, event_id: str) -> None:
        self.pending_views.delete_one({"feed_id": feed_id, "event_id": event_id})

    def due_pending_views(self, now: datetime, limit: int) -> list[PendingView]:
        cursor = (
            self.pending_views.find({"due_at": {"$lte": now}})
            .sort("due_at", ASCENDING)
            .limit(limit)
        )
        return [
            PendingView(d["feed_id"], d["event_id"], d["user_id"], as_datetime(d["due_at"]))
            for d in cursor
        ]

    def save_model(self, snapshot: ModelSnapshot) -> None:
        self.models.replace_one(
            {"version": snapshot.version},
            {
                "version": snapshot.version,
                "created_at": snapshot.created_at,
                "learned": snapshot.learned,
                "blob": Binary(snapshot.blob),
                "last_seq": snapshot.last_seq,
            },
            upsert=True,
        )
        stale = [d["_id"] for d in self.models.find({}, {"_id": 1}).sort("created_at", -1)][
            MODELS_KEPT:
        ]
        if stale:
            self.models.delete_many({"_id": {"$in": stale}})

    def latest_model(self) -> ModelSnapshot | None:
        doc = self.models.find_one(sort=[("created_at", DESCENDING)])
        if doc is None:
            return None
        return ModelSnapshot(
            doc["version"],
            as_datetime(doc["created_at"]),
            int(doc["learned"]),
            bytes(doc["blob"]),
            int(doc.get("last_seq", 0)),
        )

    @request_budget
    def append_example(self, example: LearnedExample) -> int:
        # The counter hands out numbers; a writer that dies between the two steps leaves
        # a gap, which readers skip once it is old enough (see LearningLoop.sync).
        counter = self.meta.find_one_and_update(
            {"key": "learning_seq"},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert counter is not None  # upsert with ReturnDocument.AFTER always returns it
        seq = int(counter["value"])
        doc = {"seq": seq, "created_at": utcnow(), **example_to_doc(example)}
        self.learning_log.insert_one(doc)
        return seq

    @request_budget
    def examples_after(self, seq: int, limit: int) -> list[LoggedExample]:
        cursor = self.learning_log.find({"seq": {"$gt": seq}}).sort("seq", ASCENDING).limit(limit)
        return [
            LoggedExample(
                int(d["seq"]),
                as_datetime(d["created_at"]),
                LearnedExample(
                    d["shared"],
                    tuple(d["actions"]),
                    int(d["chosen"]),
                    float(d["reward"]),
                    float(d["propensity"]),
                ),
            )
            for d in cursor
        ]

    def trim_examples(self, upto_seq: int) -> int:
        return self.learning_log.delete_many({"seq": {"$lte": upto_seq}}).deleted_count

    @request_budget
    def add_to_counter(self, name: str, amount: int = 1) -> None:
        self.meta.update_one({"key": f"counter:{name}"}, {"$inc": {"value": amount}}, upsert=True)

    def counter(self, name: str) -> int:
        doc = self.meta.find_one({"key": f"counter:{name}"})
        return 0 if doc is None else int(doc["value"])

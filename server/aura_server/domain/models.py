"""Plain data types of the domain; they know nothing about gRPC or the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COLD_START_BEHAVIORS = 3
# Stands for a required time the caller did not give (or gave out of range).
UNSET_TIME = datetime.min.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Event:
    event_id: str
    title: str
    categories: list[str]
    city: str
    neighborhood: str
    lat: float
    lng: float
    starts_at: datetime
    description: str = ""
    tags: list[str] = field(default_factory=list)
    venue: str = ""
    ends_at: datetime | None = None
    price_min: float | None = None
    price_max: float | None = None
    status: str = "active"  # active | cancelled
    popularity: float = 0.0


@dataclass
class PriceRange:
    avg: float
    sweet_spot_min: float
    sweet_spot_max: float


@dataclass
class TasteEvidence:
    """The learner's decayed statistics of one user's feedback (see tastes.py)."""

    liked: dict[str, float] = field(default_factory=dict)  # per category
    passed: dict[str, float] = field(default_factory=dict)  # per category
    # Per distance band and per price band: how much the user was shown that they should
    # have liked, and how much of it they took.
    distance_shown: list[float] = field(default_factory=list)
    distance_taken: list[float] = field(default_factory=list)
    price_shown: list[float] = field(default_factory=list)
    price_taken: list[float] = field(default_factory=list)
    paid_max: float | None = None  # the most they have paid (fading with the rest)

    def to_doc(self) -> dict[str, Any]:
        return {
            "liked": dict(self.liked),
            "passed": dict(self.passed),
            "distance_shown": list(self.distance_shown),
            "distance_taken": list(self.distance_taken),
            "price_shown": list(self.price_shown),
            "price_taken": list(self.price_taken),
            "paid_max": self.paid_max,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> TasteEvidence:
        doc = doc or {}
        return cls(
            liked={str(k): float(v) for k, v in doc.get("liked", {}).items()},
            passed={str(k): float(v) for k, v in doc.get("passed", {}).items()},
            distance_shown=[float(v) for v in doc.get("distance_shown", [])],
            distance_taken=[float(v) for v in doc.get("distance_taken", [])],
            price_shown=[float(v) for v in doc.get("price_shown", [])],
            price_taken=[float(v) for v in doc.get("price_taken", [])],
            paid_max=doc.get("paid_max"),
        )


@dataclass
class UserProfile:
    user_id: str
    intent: str = ""  # explore | create | freelance | "" (never onboarded)
    age: int = 0
    gender: str = ""
    categories: dict[str, float] = field(default_factory=dict)
    # Dislike the scores cannot show (they stop at 0): what negative rewards would have
    # taken below zero, given back by positive ones. Ranking uses score - aversion.
    category_aversion: dict[str, float] = field(default_factory=dict)
    price_range: PriceRange | None = None
    # (city, neighborhood) -> score; neighborhood may be "" for a whole borough.
    locations: dict[tuple[str, str], float] = field(default_factory=dict)
    total_events_attended: int = 0
    behavior_count: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    home_lat: float | None = None
    home_lng: float | None = None
    # What the user told us at onboarding; a reset returns the profile to it.
    favorite_categories: list[str] = field(default_factory=list)
    home_city: str = ""
    home_neighborhood: str = ""
    # What the learner has gathered from feedback (tastes.py); not part of the document.
    evidence: TasteEvidence = field(default_factory=TasteEvidence)
    # Bumped on every write; the store refuses a write based on a stale copy.
    version: int = 0

    @property
    def cold_start_completed(self) -> bool:
        return self.behavior_count >= COLD_START_BEHAVIORS

    def category_preferences(self) -> dict[str, float]:
        """Net preference per category in [-1, 1]: score minus aversion."""
        names = self.categories.keys() | self.category_aversion.keys()
        return {
            name: self.categories.get(name, 0.0) - self.category_aversion.get(name, 0.0)
            for name in names
        }

    def to_doc(self) -> dict[str, Any]:
        """A JSON-ready document, the shape both stores keep."""
        return {
            "user_id": self.user_id,
            "intent": self.intent,
            "age": self.age,
            "gender": self.gender,
            "categories": dict(self.categories),
            "category_aversion": dict(self.category_aversion),
            "price_range": None
            if self.price_range is None
            else {
                "avg": self.price_range.avg,
                "sweet_spot_min": self.price_range.sweet_spot_min,
                "sweet_spot_max": self.price_range.sweet_spot_max,
            },
            "locations": [
                {"city": city, "neighborhood": hood, "score": score}
                for (city, hood), score in self.locations.items()
            ],
            "total_events_attended": self.total_events_attended,
            "behavior_count": self.behavior_count,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "home_lat": self.home_lat,
            "home_lng": self.home_lng,
            "favorite_categories": list(self.favorite_categories),
            "home_city": self.home_city,
            "home_neighborhood": self.home_neighborhood,
            "evidence": self.evidence.to_doc(),
            "version": self.version,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> UserProfile:
        price = doc.get("price_range")
        return cls(
            user_id=doc["user_id"],
            intent=doc.get("intent", ""),
            age=int(doc.get("age", 0)),
            gender=doc.get("gender", ""),
            categories={str(k): float(v) for k, v in doc.get("categories", {}).items()},
            category_aversion={
                str(k): float(v) for k, v in doc.get("category_aversion", {}).items()
            },
            price_range=None if price is None else PriceRange(**price),
            locations={
                (loc["city"], loc["neighborhood"]): float(loc["score"])
                for loc in doc.get("locations", [])
            },
            total_events_attended=int(doc.get("total_events_attended", 0)),
            behavior_count=int(doc.get("behavior_count", 0)),
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            home_lat=doc.get("home_lat"),
            home_lng=doc.get("home_lng"),
            favorite_categories=list(doc.get("favorite_categories", [])),
            home_city=doc.get("home_city", ""),
            home_neighborhood=doc.get("home_neighborhood", ""),
            evidence=TasteEvidence.from_doc(doc.get("evidence")),
            version=int(doc.get("version", 0)),
        )


@dataclass
class Behavior:
    behavior_id: str
    user_id: str
    action: str  # search | view | click | like | save | share | purchase | skip | hide
    occurred_at: datetime
    event_id: str = ""
    query: str = ""
    feed_id: str = ""
    position: int | None = None
    # The reward whose profile update has been applied (from the action table or a
    # SubmitReward); None for actions that carry none (search).
    reward: float | None = None
    # True once SubmitReward recorded a reward on it: a second one is a duplicate.
    rewarded: bool = False
    # True for behaviors logged before the user's last ResetProfile.
    before_reset: bool = False
    # The user's age bracket when it happened, for the brackets' trends.
    age_bracket: str = ""


@dataclass
class ImpressionItem:
    event_id: str
    position: int
    score: float
    reason: str
    explored: bool
    propensity: float
    # The learner's action features for this item at decision time ("" when none).
    features: str = ""
    # The slot's exploration probability (None in logs written before it was kept).
    epsilon: float | None = None


@dataclass
class Impression:
    """What was shown to whom, logged under feed_id so rewards can be joined to it."""

    feed_id: str
    user_id: str
    kind: str  # feed | highlights
    created_at: datetime
    context: dict[str, Any]
    items: list[ImpressionItem]
    model_version: str
    # The learner's shared (user and context) features at decision time.
    shared_features: str = ""


def as_datetime(value: datetime | str) -> datetime:
    """Read a stored time (a datetime, or ISO text) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_to_doc(event: Event) -> dict[str, Any]:
    """The stored shape of an event (times stay datetimes; each store encodes them)."""
    return {
        "event_id": event.event_id,
        "title": event.title,
        "description": event.description,
        "categories": list(event.categories),
        "tags": list(event.tags),
        "venue": event.venue,
        "city": event.city,
        "neighborhood": event.neighborhood,
        "lat": event.lat,
        "lng": event.lng,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "price_min": event.price_min,
        "price_max": event.price_max,
        "status": event.status,
        "popularity": event.popularity,
    }


def event_from_doc(doc: dict[str, Any]) -> Event:
    ends_at = doc.get("ends_at")
    # Categories, tags, places and statuses repeat across a catalog: interned, a
    # 100,000-event catalog index holds one copy of each instead of one per event.
    return Event(
        event_id=doc["event_id"],
        title=doc["title"],
        description=doc.get("description", ""),
        categories=[sys.intern(c) for c in doc.get("categories", [])],
        tags=[sys.intern(t) for t in doc.get("tags", [])],
        venue=sys.intern(doc.get("venue", "")),
        city=sys.intern(doc["city"]),
        neighborhood=sys.intern(doc.get("neighborhood", "")),
        lat=float(doc["lat"]),
        lng=float(doc["lng"]),
        starts_at=as_datetime(doc["starts_at"]),
        ends_at=None if ends_at is None else as_datetime(ends_at),
        price_min=doc.get("price_min"),
        price_max=doc.get("price_max"),
        status=sys.intern(doc.get("status", "active")),
        popularity=float(doc.get("popularity", 0.0)),
    )


def impression_to_doc(impression: Impression) -> dict[str, Any]:
    return {
        "feed_id": impression.feed_id,
        "user_id": impression.user_id,
        "kind": impression.kind,
        "created_at": impression.created_at,
        "context": impression.context,
        "items": [vars(item) for item in impression.items],
        "model_version": impression.model_version,
        "shared_features": impression.shared_features,
    }


def impression_from_doc(doc: dict[str, Any]) -> Impression:
    return Impression(
        feed_id=doc["feed_id"],
        user_id=doc["user_id"],
        kind=doc["kind"],
        created_at=as_datetime(doc["created_at"]),
        context=dict(doc["context"]),
        items=[ImpressionItem(**item) for item in doc["items"]],
        model_version=doc["model_version"],
        shared_features=doc.get("shared_features", ""),
    )

"""The stored shapes of the domain's records: what both stores keep, as JSON-ready
documents (times stay datetimes where a store encodes them itself)."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import Any

from aura_server.domain.models import (
    CandidateSet,
    Event,
    Impression,
    ImpressionItem,
    ListMark,
    PriceRange,
    ShownItem,
    ShownList,
    TasteEvidence,
    UserProfile,
    as_datetime,
)
from aura_server.domain.repository import LearnedExample


def profile_to_doc(profile: UserProfile) -> dict[str, Any]:
    """A JSON-ready document, the shape both stores keep."""
    return {
        "user_id": profile.user_id,
        "intent": profile.intent,
        "age": profile.age,
        "gender": profile.gender,
        "categories": dict(profile.categories),
        "category_aversion": dict(profile.category_aversion),
        "price_range": None
        if profile.price_range is None
        else {
            "avg": profile.price_range.avg,
            "sweet_spot_min": profile.price_range.sweet_spot_min,
            "sweet_spot_max": profile.price_range.sweet_spot_max,
        },
        "locations": [
            {"city": city, "neighborhood": hood, "score": score}
            for (city, hood), score in profile.locations.items()
        ],
        "total_events_attended": profile.total_events_attended,
        "behavior_count": profile.behavior_count,
        "feedback_count": profile.feedback_count,
        "created_at": profile.created_at.isoformat(),
        "updated_at": profile.updated_at.isoformat(),
        "home_lat": profile.home_lat,
        "home_lng": profile.home_lng,
        "favorite_categories": list(profile.favorite_categories),
        "home_city": profile.home_city,
        "home_neighborhood": profile.home_neighborhood,
        "evidence": evidence_to_doc(profile.evidence),
        "exposure_folded": None
        if profile.exposure_folded is None
        else {
            "at": profile.exposure_folded.at.isoformat(),
            "feed_id": profile.exposure_folded.feed_id,
        },
        "version": profile.version,
    }


def profile_from_doc(doc: dict[str, Any]) -> UserProfile:
    price = doc.get("price_range")
    return UserProfile(
        user_id=doc["user_id"],
        intent=doc.get("intent", ""),
        age=int(doc.get("age", 0)),
        gender=doc.get("gender", ""),
        categories={str(k): float(v) for k, v in doc.get("categories", {}).items()},
        category_aversion={str(k): float(v) for k, v in doc.get("category_aversion", {}).items()},
        price_range=None if price is None else PriceRange(**price),
        locations={
            (loc["city"], loc["neighborhood"]): float(loc["score"])
            for loc in doc.get("locations", [])
        },
        total_events_attended=int(doc.get("total_events_attended", 0)),
        behavior_count=int(doc.get("behavior_count", 0)),
        # Profiles written before it was counted: every behavior counted as feedback.
        feedback_count=int(doc.get("feedback_count", doc.get("behavior_count", 0))),
        created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]),
        home_lat=doc.get("home_lat"),
        home_lng=doc.get("home_lng"),
        favorite_categories=list(doc.get("favorite_categories", [])),
        home_city=doc.get("home_city", ""),
        home_neighborhood=doc.get("home_neighborhood", ""),
        evidence=evidence_from_doc(doc.get("evidence")),
        exposure_folded=_list_mark(doc.get("exposure_folded")),
        version=int(doc.get("version", 0)),
    )


def _list_mark(doc: dict[str, Any] | None) -> ListMark | None:
    return None if doc is None else ListMark(as_datetime(doc["at"]), str(doc["feed_id"]))


def evidence_to_doc(evidence: TasteEvidence) -> dict[str, Any]:
    return {
        "liked": dict(evidence.liked),
        "passed": dict(evidence.passed),
        "distance_shown": list(evidence.distance_shown),
        "distance_taken": list(evidence.distance_taken),
        "price_shown": list(evidence.price_shown),
        "price_taken": list(evidence.price_taken),
        "paid_max": evidence.paid_max,
        "recent_liked": dict(evidence.recent_liked),
        "recent_passed": dict(evidence.recent_passed),
        "surprise": evidence.surprise,
        "list_surprise": evidence.list_surprise,
        "list_id": evidence.list_id,
        "answered_list": evidence.answered_list,
        "restarts": evidence.restarts,
        "item_passes": dict(evidence.item_passes),
        "list_exposure": dict(evidence.list_exposure),
        "competed_list": evidence.competed_list,
    }


def evidence_from_doc(doc: dict[str, Any] | None) -> TasteEvidence:
    doc = doc or {}

    def masses(name: str) -> dict[str, float]:
        return {str(k): float(v) for k, v in doc.get(name, {}).items()}

    return TasteEvidence(
        liked=masses("liked"),
        passed=masses("passed"),
        distance_shown=[float(v) for v in doc.get("distance_shown", [])],
        distance_taken=[float(v) for v in doc.get("distance_taken", [])],
        price_shown=[float(v) for v in doc.get("price_shown", [])],
        price_taken=[float(v) for v in doc.get("price_taken", [])],
        paid_max=doc.get("paid_max"),
        recent_liked=masses("recent_liked"),
        recent_passed=masses("recent_passed"),
        surprise=float(doc.get("surprise", 0.0)),
        list_surprise=float(doc.get("list_surprise", 0.0)),
        list_id=str(doc.get("list_id", "")),
        answered_list=str(doc.get("answered_list", "")),
        restarts=int(doc.get("restarts", 0)),
        item_passes=masses("item_passes"),
        list_exposure=masses("list_exposure"),
        competed_list=str(doc.get("competed_list", "")),
    )


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


# A list's items are stored column by column, one list per field in list order: a 30-item
# list takes about half the bytes of an object per item, and decodes in a fraction of the
# time. Documents written before hold a list of objects; both are read.
ITEM_COLUMNS = tuple(field.name for field in dataclasses.fields(ImpressionItem))


def impression_to_doc(impression: Impression) -> dict[str, Any]:
    items = impression.items
    return {
        "feed_id": impression.feed_id,
        "user_id": impression.user_id,
        "kind": impression.kind,
        "created_at": impression.created_at,
        "context": impression.context,
        "items": {name: [getattr(item, name) for item in items] for name in ITEM_COLUMNS},
        "model_version": impression.model_version,
        "shared_features": impression.shared_features,
        **(
            {}
            if impression.candidates is None
            else {"candidates": dataclasses.asdict(impression.candidates)}
        ),
        **({} if impression.searched is None else {"searched": list(impression.searched)}),
    }


def _candidates_from_doc(doc: dict[str, Any] | None) -> CandidateSet | None:
    if not doc:
        return None
    return CandidateSet(
        event_ids=tuple(doc["event_ids"]),
        scores=tuple(doc["scores"]),
        hopes=tuple(doc["hopes"]),
        bandit=tuple(doc["bandit"]),
        masks=tuple(doc["masks"]),
        caps=tuple(doc["caps"]),
        bandit_weight=float(doc["bandit_weight"]),
        window=int(doc["window"]),
    )


def _impression_items(stored: list[dict[str, Any]] | dict[str, list[Any]]) -> list[ImpressionItem]:
    if isinstance(stored, dict):  # column by column (a column added later may be absent)
        names = [name for name in ITEM_COLUMNS if name in stored]
        columns = [stored[name] for name in names]
        if "categories" in stored:
            columns[names.index("categories")] = [tuple(c) for c in stored["categories"]]
        if len(names) == len(ITEM_COLUMNS):
            return [ImpressionItem(*row) for row in zip(*columns, strict=True)]
        rows = zip(*columns, strict=True)
        return [ImpressionItem(**dict(zip(names, row, strict=True))) for row in rows]
    items = [ImpressionItem(**doc) for doc in stored]  # an object per item (written before)
    for item in items:
        item.categories = tuple(item.categories)
    return items


def impression_from_doc(doc: dict[str, Any]) -> Impression:
    return Impression(
        feed_id=doc["feed_id"],
        user_id=doc["user_id"],
        kind=doc["kind"],
        created_at=as_datetime(doc["created_at"]),
        context=dict(doc["context"]),
        items=_impression_items(doc["items"]),
        model_version=doc["model_version"],
        shared_features=doc.get("shared_features", ""),
        candidates=_candidates_from_doc(doc.get("candidates")),
        searched=_searched(doc.get("searched")),
    )


def _searched(categories: list[str] | None) -> tuple[str, ...] | None:
    return None if categories is None else tuple(categories)


def example_to_doc(example: LearnedExample) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every action line of every example.
    return {
        "shared": example.shared,
        "actions": list(example.actions),
        "chosen": example.chosen,
        "reward": example.reward,
        "propensity": example.propensity,
    }


def shown_to_doc(impression: Impression) -> list[list[Any]] | dict[str, Any]:
    """What the profile takes in from a list: per item [position, categories, price,
    distance, event_id] (rows written before item fatigue have no event_id); for a
    search, {"items": those rows, "searched": the categories it named}."""
    rows = [
        [item.position, list(item.categories), item.price_min, item.distance_km, item.event_id]
        for item in impression.shown().items
    ]
    if impression.searched is None:
        return rows
    return {"items": rows, "searched": list(impression.searched)}


def shown_from_doc(mark: ListMark, doc: list[list[Any]] | dict[str, Any] | None) -> ShownList:
    rows: list[list[Any]] = (doc["items"] if isinstance(doc, dict) else doc) or []
    searched = tuple(doc["searched"]) if isinstance(doc, dict) else None
    return ShownList(
        mark,
        tuple(
            ShownItem(
                int(row[0]), tuple(row[1]), row[2], row[3], str(row[4]) if len(row) > 4 else ""
            )
            for row in rows
        ),
        searched,
    )

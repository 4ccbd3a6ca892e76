"""Messages <-> domain types. The only place that knows both shapes: each RPC has an
`*_args(request)` (the message as the data plane's keyword arguments) and a
`*_reply(result)` (the domain's answer as the response message)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, TypedDict

from aura.v1 import (
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    status_pb2,
    types_pb2,
)
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from aura_server.domain.dataplane import ServiceStatus
from aura_server.domain.decision.ranking import RankedItem
from aura_server.domain.decision.recommend import FeedFilters, FeedResult
from aura_server.domain.errors import InvalidArgument
from aura_server.domain.learning.behaviors import LogResult, RewardResult
from aura_server.domain.models import UNSET_TIME, Event, UserProfile
from aura_server.domain.search.natural import NaturalResult
from aura_server.domain.search.query import ParsedQuery


# The keyword arguments of each data-plane call, typed, so that a parameter renamed in the
# domain fails mypy here (a call splats them: `plane.feed(**feed_args(request))`).
class OnboardArgs(TypedDict):
    user_id: str
    intent: str
    age: int
    gender: str
    lat: float | None
    lng: float | None
    city: str
    neighborhood: str
    favorite_categories: list[str]


class LogBehaviorArgs(TypedDict):
    user_id: str
    action: str
    event_id: str
    query: str
    feed_id: str
    position: int | None
    behavior_id: str
    occurred_at: datetime | None


class SubmitRewardArgs(TypedDict):
    user_id: str
    event_id: str
    action: str
    reward: float | None
    feed_id: str
    behavior_id: str


class WhereAndWhen(TypedDict):
    user_id: str
    lat: float | None
    lng: float | None
    limit: int
    now: datetime | None


class FeedArgs(WhereAndWhen):
    radius_km: float | None
    filters: FeedFilters
    feed_id: str


class NaturalArgs(WhereAndWhen):
    query: str


class ListEventsArgs(TypedDict):
    page_size: int
    page_token: str
    city: str
    neighborhood: str
    category: str
    starts_after: datetime | None
    starts_before: datetime | None


def enum_name(enum_type: str, value: int, field: str) -> str:
    """INTENT_EXPLORE -> "explore"; the UNSPECIFIED zero -> "" (the domain decides
    whether that is allowed); a number the enum does not define -> INVALID_ARGUMENT."""
    descriptor = types_pb2.DESCRIPTOR.enum_types_by_name[enum_type]
    if value not in descriptor.values_by_number:
        raise InvalidArgument(field, f"unknown {enum_type} value {value}")
    if value == 0:
        return ""
    prefix = descriptor.values[0].name.removesuffix("UNSPECIFIED")
    return descriptor.values_by_number[value].name.removeprefix(prefix).lower()


def enum_value(enum_type: str, name: str) -> int:
    if not name:
        return 0
    descriptor = types_pb2.DESCRIPTOR.enum_types_by_name[enum_type]
    prefix = descriptor.values[0].name.removesuffix("UNSPECIFIED")
    return descriptor.values_by_name[prefix + name.upper()].number


def optional_time(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidArgument(field, "is not a valid timestamp") from exc


def optional_float(message: Message, field: str) -> float | None:
    return getattr(message, field) if message.HasField(field) else None


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _event_time(message: types_pb2.Event, field: str) -> datetime | None:
    try:
        return optional_time(message, field)
    except InvalidArgument:
        return UNSET_TIME  # a time the declared rules refuse before it gets here


def event_from_proto(message: types_pb2.Event) -> Event:
    """Translate without judging (the declared rules were checked first, the catalog
    checks places): unset coordinates become NaN, an unset start UNSET_TIME."""
    status_names = types_pb2.DESCRIPTOR.enum_types_by_name["EventStatus"].values_by_number
    status = (
        enum_name("EventStatus", message.status, "status") or "active"
        if message.status in status_names
        else f"unknown ({message.status})"
    )
    return Event(
        event_id=message.event_id,
        title=message.title,
        description=message.description,
        categories=list(message.categories),
        tags=list(message.tags),
        venue=message.venue,
        city=message.city,
        neighborhood=message.neighborhood,
        lat=message.lat if message.HasField("lat") else math.nan,
        lng=message.lng if message.HasField("lng") else math.nan,
        starts_at=_event_time(message, "starts_at") or UNSET_TIME,
        ends_at=_event_time(message, "ends_at"),
        price_min=optional_float(message, "price_min"),
        price_max=optional_float(message, "price_max"),
        status=status,
    )


def event_to_proto(event: Event) -> types_pb2.Event:
    message = types_pb2.Event(
        event_id=event.event_id,
        title=event.title,
        description=event.description,
        categories=event.categories,
        tags=event.tags,
        venue=event.venue,
        city=event.city,
        neighborhood=event.neighborhood,
        lat=event.lat,
        lng=event.lng,
        starts_at=timestamp(event.starts_at),
        status=enum_value("EventStatus", event.status),  # type: ignore[arg-type]
        popularity=event.popularity,
    )
    if event.ends_at is not None:
        message.ends_at.CopyFrom(timestamp(event.ends_at))
    if event.price_min is not None:
        message.price_min = event.price_min
    if event.price_max is not None:
        message.price_max = event.price_max
    return message


def profile_to_proto(profile: UserProfile) -> types_pb2.UserProfile:
    message = types_pb2.UserProfile(
        user_id=profile.user_id,
        onboarding_intent=enum_value("Intent", profile.intent),  # type: ignore[arg-type]
        age=profile.age,
        gender=enum_value("Gender", profile.gender),  # type: ignore[arg-type]
        preferred_categories=[
            types_pb2.CategoryScore(name=name, score=score)
            for name, score in sorted(profile.categories.items(), key=lambda kv: (-kv[1], kv[0]))
            if score > 0  # a category at 0 says nothing
        ],
        preferred_locations=[
            types_pb2.LocationScore(city=city, neighborhood=hood, score=score)
            for (city, hood), score in sorted(
                profile.locations.items(), key=lambda kv: (-kv[1], kv[0])
            )
        ],
        total_events_attended=profile.total_events_attended,
        behavior_count=profile.behavior_count,
        feedback_count=profile.feedback_count,
        cold_start_completed=profile.cold_start_completed,
        created_at=timestamp(profile.created_at),
        updated_at=timestamp(profile.updated_at),
    )
    if profile.price_range is not None:
        message.preferred_price_range.CopyFrom(
            types_pb2.PriceRange(
                avg=round(profile.price_range.avg, 2),
                sweet_spot_min=round(profile.price_range.sweet_spot_min, 2),
                sweet_spot_max=round(profile.price_range.sweet_spot_max, 2),
            )
        )
    if profile.home_lat is not None and profile.home_lng is not None:
        message.home_lat = profile.home_lat
        message.home_lng = profile.home_lng
    return message


# Listed events' messages, made once per event object (a catalog snapshot's events live
# as long as the snapshot; their popularity is the one field that moves, set per answer).
_EVENT_MESSAGES: dict[int, tuple[Event, types_pb2.Event]] = {}
MAX_EVENT_MESSAGES = 100_000


def listed_event(event: Event) -> types_pb2.Event:
    """The event's message, made once per event object: a listed event comes from the
    catalog index, whose events stay the same objects until the catalog changes."""
    kept = _EVENT_MESSAGES.get(id(event))
    if kept is None or kept[0] is not event:
        if len(_EVENT_MESSAGES) >= MAX_EVENT_MESSAGES:
            _EVENT_MESSAGES.clear()  # events of old catalog snapshots
        kept = _EVENT_MESSAGES[id(event)] = (event, event_to_proto(event))
    return kept[1]


def add_items(listed: Any, items: list[RankedItem]) -> None:
    """Append the items to a response's repeated FeedItem field, in place (a message made
    apart and then added would be copied twice)."""
    for position, item in enumerate(items):
        message = listed.add()
        message.event.CopyFrom(listed_event(item.event))
        message.event.popularity = item.event.popularity
        message.score = item.score
        message.position = position
        message.reason = item.reason
        message.explored = item.explored
        message.propensity = item.propensity


def parsed_query_to_proto(parsed: ParsedQuery) -> recommend_pb2.ParsedQuery:
    message = recommend_pb2.ParsedQuery(
        categories=parsed.categories,
        excluded_categories=parsed.excluded_categories,
        time_slot=recommend_pb2.TimeSlot.Value(  # type: ignore[arg-type]
            f"TIME_SLOT_{(parsed.time_slot or 'unspecified').upper()}"
        ),
        vibe_keywords=parsed.vibe_keywords,
        free_text=parsed.free_text,
    )
    if parsed.price_min is not None:
        message.price_min = parsed.price_min
    if parsed.price_max is not None:
        message.price_max = parsed.price_max
    if parsed.date_from is not None:
        message.date_from.CopyFrom(timestamp(parsed.date_from))
    if parsed.date_to is not None:
        message.date_to.CopyFrom(timestamp(parsed.date_to))
    if parsed.city:
        message.location.CopyFrom(
            recommend_pb2.Place(city=parsed.city, neighborhood=parsed.neighborhood)
        )
    if parsed.start_hour_from is not None and parsed.start_hour_to is not None:
        message.start_hour_from = parsed.start_hour_from
        message.start_hour_to = parsed.start_hour_to
    return message


# OnboardingService


def onboard_args(request: onboarding_pb2.OnboardRequest) -> OnboardArgs:
    return {
        "user_id": request.user_id,
        "intent": enum_name("Intent", request.intent, "intent"),
        "age": request.age,
        "gender": enum_name("Gender", request.gender, "gender"),
        "lat": optional_float(request, "lat"),
        "lng": optional_float(request, "lng"),
        "city": request.city,
        "neighborhood": request.neighborhood,
        "favorite_categories": list(request.favorite_categories),
    }


def onboard_reply(result: tuple[UserProfile, bool]) -> onboarding_pb2.OnboardResponse:
    profile, created = result
    return onboarding_pb2.OnboardResponse(profile=profile_to_proto(profile), created=created)


def get_profile_reply(profile: UserProfile) -> onboarding_pb2.GetProfileResponse:
    return onboarding_pb2.GetProfileResponse(profile=profile_to_proto(profile))


def reset_profile_reply(profile: UserProfile) -> onboarding_pb2.ResetProfileResponse:
    return onboarding_pb2.ResetProfileResponse(profile=profile_to_proto(profile))


# BehaviorService, FeedbackService


def log_behavior_args(request: behavior_pb2.LogBehaviorRequest) -> LogBehaviorArgs:
    return {
        "user_id": request.user_id,
        "action": enum_name("Action", request.action, "action"),
        "event_id": request.event_id,
        "query": request.query,
        "feed_id": request.feed_id,
        "position": request.position if request.HasField("position") else None,
        "behavior_id": request.behavior_id,
        "occurred_at": optional_time(request, "occurred_at"),
    }


def log_behavior_reply(result: LogResult) -> behavior_pb2.LogBehaviorResponse:
    return behavior_pb2.LogBehaviorResponse(
        behavior_id=result.behavior_id, duplicate=result.duplicate
    )


def submit_reward_args(request: feedback_pb2.SubmitRewardRequest) -> SubmitRewardArgs:
    return {
        "user_id": request.user_id,
        "event_id": request.event_id,
        "action": enum_name("Action", request.action, "action"),
        "reward": optional_float(request, "reward"),
        "feed_id": request.feed_id,
        "behavior_id": request.behavior_id,
    }


def submit_reward_reply(result: RewardResult) -> feedback_pb2.SubmitRewardResponse:
    return feedback_pb2.SubmitRewardResponse(
        applied=result.applied,
        duplicate=result.duplicate,
        profile=profile_to_proto(result.profile),
        behavior_id=result.behavior_id,
        reward=result.reward,
    )


# RecommendService


def _where_and_when(
    request: recommend_pb2.FeedRequest
    | recommend_pb2.HighlightsRequest
    | recommend_pb2.NaturalRequest,
) -> WhereAndWhen:
    """What Feed, Highlights and Natural all carry: who asks, from where, how many, when."""
    return {
        "user_id": request.user_id,
        "lat": optional_float(request, "lat"),
        "lng": optional_float(request, "lng"),
        "limit": request.limit,
        "now": optional_time(request, "now"),
    }


def feed_args(request: recommend_pb2.FeedRequest) -> FeedArgs:
    return {
        **_where_and_when(request),
        "radius_km": optional_float(request, "radius_km"),
        "filters": FeedFilters(
            exclude_event_ids=list(request.exclude_event_ids),
            categories=list(request.categories),
            price_max=optional_float(request, "price_max"),
        ),
        "feed_id": request.feed_id,
    }


def feed_reply(result: FeedResult) -> recommend_pb2.FeedResponse:
    reply = recommend_pb2.FeedResponse(
        feed_id=result.feed_id,
        cold_start=result.cold_start,
        model_version=result.model_version,
        degraded=result.degraded,
    )
    add_items(reply.items, result.items)
    return reply


def highlights_args(request: recommend_pb2.HighlightsRequest) -> WhereAndWhen:
    return _where_and_when(request)


def highlights_reply(result: FeedResult) -> recommend_pb2.HighlightsResponse:
    reply = recommend_pb2.HighlightsResponse(feed_id=result.feed_id, degraded=result.degraded)
    add_items(reply.items, result.items)
    return reply


def natural_args(request: recommend_pb2.NaturalRequest) -> NaturalArgs:
    return {**_where_and_when(request), "query": request.query}


def natural_reply(result: NaturalResult) -> recommend_pb2.NaturalResponse:
    reply = recommend_pb2.NaturalResponse(
        feed_id=result.feed_id,
        parsed=parsed_query_to_proto(result.parsed),
        parser=result.parsed.parser,
        relaxed=result.relaxed,
        cold_start=result.cold_start,
        model_version=result.model_version,
        degraded=result.degraded,
        unmatched_terms=result.parsed.unmatched_terms,
    )
    add_items(reply.items, result.items)
    return reply


# CatalogService


def upsert_events_args(request: catalog_pb2.UpsertEventsRequest) -> list[Event]:
    return [event_from_proto(message) for message in request.events]


def upsert_events_reply(upserted: int) -> catalog_pb2.UpsertEventsResponse:
    return catalog_pb2.UpsertEventsResponse(upserted=upserted)


def get_event_reply(event: Event) -> catalog_pb2.GetEventResponse:
    return catalog_pb2.GetEventResponse(event=event_to_proto(event))


def list_events_args(request: catalog_pb2.ListEventsRequest) -> ListEventsArgs:
    return {
        "page_size": request.page_size,
        "page_token": request.page_token,
        "city": request.city,
        "neighborhood": request.neighborhood,
        "category": request.category,
        "starts_after": optional_time(request, "starts_after"),
        "starts_before": optional_time(request, "starts_before"),
    }


def list_events_reply(result: tuple[list[Event], str]) -> catalog_pb2.ListEventsResponse:
    events, token = result
    return catalog_pb2.ListEventsResponse(
        events=[event_to_proto(e) for e in events], next_page_token=token
    )


def delete_event_reply(event_id: str) -> catalog_pb2.DeleteEventResponse:
    return catalog_pb2.DeleteEventResponse(event_id=event_id)


# StatusService


def status_reply(status: ServiceStatus) -> status_pb2.GetStatusResponse:
    return status_pb2.GetStatusResponse(**vars(status))

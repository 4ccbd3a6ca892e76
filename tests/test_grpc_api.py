"""Every RPC over a real channel to the real server, on every store backend."""

from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest
from aura.v1 import (
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    types_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from harness import NOW
from stubs import AuraStubs

from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.learning.tastes import decay_factor
from aura_server.grpc_api.converters import timestamp

BUSHWICK = (40.6944, -73.9213)
# What one feedback action leaves of earlier category scores (the default half-life).
FADE = decay_factor(Settings().taste_half_life)


class Api(AuraStubs):
    def __init__(self, channel: grpc.Channel) -> None:
        super().__init__(channel)
        self.health = health_pb2_grpc.HealthStub(channel)


def proto_event(event_id: str, category: str, hours: int, **fields: object) -> types_pb2.Event:
    values: dict[str, object] = {
        "event_id": event_id,
        "title": f"{category} night {event_id}",
        "categories": [category],
        "neighborhood": "Bushwick",
        "starts_at": timestamp(NOW + timedelta(hours=hours)),
        "price_min": 25.0,
        "price_max": 35.0,
    }
    values.update(fields)
    return types_pb2.Event(**values)  # type: ignore[arg-type]


def seed(api: Api) -> None:
    categories = ["Techno", "Jazz", "Comedy", "Art"]
    events = [proto_event(f"e{i:02d}", categories[i % 4], hours=2 + i) for i in range(40)]
    response = api.catalog.UpsertEvents(catalog_pb2.UpsertEventsRequest(events=events))
    assert response.upserted == 40


def now() -> Timestamp:
    return timestamp(NOW)


def error_field(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return bad.field_violations[0].field
    return ""


@pytest.fixture
def api(live_server: grpc.Channel) -> Api:
    client = Api(live_server)
    seed(client)
    return client


def test_health_and_services_serving(api: Api) -> None:
    for service in ("", "aura.v1.RecommendService", "aura.v1.CatalogService"):
        reply = api.health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_learning_flow_onboard_behave_reward_profile_feed(api: Api) -> None:
    onboarded = api.onboarding.Onboard(
        onboarding_pb2.OnboardRequest(
            user_id="ana",
            intent=types_pb2.INTENT_EXPLORE,
            age=26,
            gender=types_pb2.GENDER_FEMALE,
            neighborhood="bushwick",
        )
    )
    assert onboarded.created
    assert onboarded.profile.preferred_locations[0].neighborhood == "Bushwick"
    again = api.onboarding.Onboard(
        onboarding_pb2.OnboardRequest(user_id="ana", intent=types_pb2.INTENT_EXPLORE, age=26)
    )
    assert not again.created

    feed = api.recommend.Feed(recommend_pb2.FeedRequest(user_id="ana", limit=10, now=now()))
    assert feed.cold_start and len(feed.items) == 10 and feed.feed_id
    assert [item.position for item in feed.items] == list(range(10))
    jazz = next(item.event for item in feed.items if "Jazz" in item.event.categories)

    logged = api.behavior.LogBehavior(
        behavior_pb2.LogBehaviorRequest(
            user_id="ana",
            action=types_pb2.ACTION_CLICK,
            event_id=jazz.event_id,
            feed_id=feed.feed_id,
            position=3,
            behavior_id="click-1",
        )
    )
    assert logged.behavior_id == "click-1" and not logged.duplicate
    repeat = api.behavior.LogBehavior(
        behavior_pb2.LogBehaviorRequest(
            user_id="ana",
            action=types_pb2.ACTION_CLICK,
            event_id=jazz.event_id,
            behavior_id="click-1",
        )
    )
    assert repeat.duplicate

    reward = api.feedback.SubmitReward(
        feedback_pb2.SubmitRewardRequest(
            user_id="ana",
            event_id=jazz.event_id,
            action=types_pb2.ACTION_PURCHASE,
            feed_id=feed.feed_id,
        )
    )
    assert reward.applied and not reward.duplicate and reward.reward == 1.0
    scores = {c.name: c.score for c in reward.profile.preferred_categories}
    # The click's step fades by one feedback action's half-life before the purchase's.
    assert scores["Jazz"] == pytest.approx(0.045 * FADE + 0.15, abs=1e-6)
    assert reward.profile.total_events_attended == 1
    assert reward.profile.behavior_count == 2
    twice = api.feedback.SubmitReward(
        feedback_pb2.SubmitRewardRequest(
            user_id="ana",
            event_id=jazz.event_id,
            action=types_pb2.ACTION_PURCHASE,
            feed_id=feed.feed_id,
        )
    )
    assert twice.duplicate and not twice.applied
    profile = api.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="ana")).profile
    assert {c.name: c.score for c in profile.preferred_categories} == scores

    api.feedback.SubmitReward(
        feedback_pb2.SubmitRewardRequest(
            user_id="ana", event_id="e03", action=types_pb2.ACTION_SKIP
        )
    )
    after = api.recommend.Feed(recommend_pb2.FeedRequest(user_id="ana", limit=10, now=now()))
    assert not after.cold_start, "three behaviors complete the cold start"
    assert all(item.event.event_id != jazz.event_id for item in after.items), "bought: hidden"
    greedy = [item for item in after.items if not item.explored]
    assert greedy[0].event.categories == ["Jazz"], "the next feed uses the new profile"
    assert {item.reason for item in after.items} <= {"personalized", "exploration"}

    reset = api.onboarding.ResetProfile(onboarding_pb2.ResetProfileRequest(user_id="ana"))
    assert reset.profile.behavior_count == 0 and not reset.profile.preferred_categories
    assert not reset.profile.cold_start_completed


def test_feed_respects_radius_window_and_limit(api: Api) -> None:
    far = proto_event("far", "Techno", 3, neighborhood="St. George")
    late = proto_event("late", "Techno", 24 * 20)
    cancelled = proto_event("gone", "Techno", 3, status=types_pb2.EVENT_STATUS_CANCELLED)
    api.catalog.UpsertEvents(catalog_pb2.UpsertEventsRequest(events=[far, late, cancelled]))
    feed = api.recommend.Feed(
        recommend_pb2.FeedRequest(
            user_id="new", lat=BUSHWICK[0], lng=BUSHWICK[1], radius_km=5, limit=100, now=now()
        )
    )
    ids = {item.event.event_id for item in feed.items}
    assert len(ids) == 40
    assert not ids & {"far", "late", "gone"}
    api.catalog.DeleteEvent(catalog_pb2.DeleteEventRequest(event_id="e00"))
    feed = api.recommend.Feed(
        recommend_pb2.FeedRequest(user_id="new", lat=BUSHWICK[0], lng=BUSHWICK[1], now=now())
    )
    assert "e00" not in {item.event.event_id for item in feed.items}
    assert len(feed.items) == 30


def test_highlights_limits_and_category_cap(api: Api) -> None:
    for i in range(5):
        api.behavior.LogBehavior(
            behavior_pb2.LogBehaviorRequest(
                user_id=f"fan{i}",
                action=types_pb2.ACTION_PURCHASE,
                event_id="e07",
                occurred_at=timestamp(NOW - timedelta(hours=3)),
            )
        )
    highlights = api.recommend.Highlights(
        recommend_pb2.HighlightsRequest(user_id="x", lat=BUSHWICK[0], lng=BUSHWICK[1], now=now())
    )
    assert len(highlights.items) == 8
    assert highlights.items[0].event.event_id == "e07"
    assert highlights.items[0].reason == "trending"
    counts: dict[str, int] = {}
    for item in highlights.items:
        for category in item.event.categories:
            counts[category] = counts.get(category, 0) + 1
    assert max(counts.values()) <= 2


def test_catalog_get_list_paging_and_errors(api: Api) -> None:
    event = api.catalog.GetEvent(catalog_pb2.GetEventRequest(event_id="e05")).event
    assert event.neighborhood == "Bushwick" and event.city == "Brooklyn"
    assert event.lat == pytest.approx(40.6944)
    seen: list[str] = []
    token = ""
    while True:
        page = api.catalog.ListEvents(catalog_pb2.ListEventsRequest(page_size=7, page_token=token))
        seen += [e.event_id for e in page.events]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"e{i:02d}" for i in range(40)]
    comedy = api.catalog.ListEvents(catalog_pb2.ListEventsRequest(category="Comedy"))
    assert {e.categories[0] for e in comedy.events} == {"Comedy"} and len(comedy.events) == 10

    # A batch that breaks a rule the protos declare is refused whole, naming the event.
    declared = [
        proto_event("ok", "Jazz", 5),
        proto_event("badcat", "Polka", 5),
        proto_event("badprice", "Jazz", 5, price_min=-3.0),
    ]
    with pytest.raises(grpc.RpcError) as refused:
        api.catalog.UpsertEvents(catalog_pb2.UpsertEventsRequest(events=declared))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert error_field(refused.value) == "events[1].categories[0]"
    # So is one that needs the catalog's own knowledge (a place it does not know).
    unknown = [
        proto_event("ok", "Jazz", 5),
        proto_event("nowhere", "Jazz", 5, neighborhood="Atlantis"),
    ]
    with pytest.raises(grpc.RpcError) as refused:
        api.catalog.UpsertEvents(catalog_pb2.UpsertEventsRequest(events=unknown))
    assert error_field(refused.value) == "events[1].neighborhood"
    with pytest.raises(grpc.RpcError):
        api.catalog.GetEvent(catalog_pb2.GetEventRequest(event_id="ok"))


@pytest.mark.parametrize(
    ("call", "code", "field"),
    [
        (
            lambda a: a.onboarding.Onboard(
                onboarding_pb2.OnboardRequest(intent=types_pb2.INTENT_EXPLORE, age=20)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "user_id",
        ),
        (
            lambda a: a.onboarding.Onboard(
                onboarding_pb2.OnboardRequest(user_id="u", intent=99, age=20)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "intent",
        ),
        (
            lambda a: a.onboarding.Onboard(
                onboarding_pb2.OnboardRequest(user_id="u", intent=types_pb2.INTENT_CREATE, age=121)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "age",
        ),
        (
            lambda a: a.recommend.Feed(recommend_pb2.FeedRequest(user_id="u", lat=91, lng=0)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "lat",
        ),
        (
            lambda a: a.recommend.Feed(recommend_pb2.FeedRequest(user_id="u", lat=40, lng=-181)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "lng",
        ),
        (
            lambda a: a.recommend.Feed(
                recommend_pb2.FeedRequest(user_id="u", lat=40, lng=-73, limit=101)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit",
        ),
        (
            lambda a: a.recommend.Feed(recommend_pb2.FeedRequest(user_id="u", lat=40.7)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "lng",
        ),
        (
            lambda a: a.recommend.Highlights(
                recommend_pb2.HighlightsRequest(user_id="u", lat=40, lng=-73, limit=4)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit",
        ),
        (
            lambda a: a.behavior.LogBehavior(
                behavior_pb2.LogBehaviorRequest(
                    user_id="u", action=types_pb2.ACTION_CLICK, event_id="nope"
                )
            ),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            lambda a: a.behavior.LogBehavior(
                behavior_pb2.LogBehaviorRequest(user_id="u", action=types_pb2.ACTION_CLICK)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "event_id",
        ),
        (
            lambda a: a.behavior.LogBehavior(
                behavior_pb2.LogBehaviorRequest(user_id="u", event_id="e01")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "action",
        ),
        (
            lambda a: a.feedback.SubmitReward(
                feedback_pb2.SubmitRewardRequest(
                    user_id="u", event_id="e01", action=types_pb2.ACTION_LIKE, reward=1.5
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "reward",
        ),
        (
            lambda a: a.onboarding.GetProfile(onboarding_pb2.GetProfileRequest(user_id="ghost")),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            lambda a: a.catalog.GetEvent(catalog_pb2.GetEventRequest(event_id="nope")),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            lambda a: a.catalog.DeleteEvent(catalog_pb2.DeleteEventRequest(event_id="nope")),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            lambda a: a.catalog.ListEvents(catalog_pb2.ListEventsRequest(page_token="garbage!")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_token",
        ),
        (
            lambda a: a.catalog.ListEvents(catalog_pb2.ListEventsRequest(page_size=1001)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_size",
        ),
        (
            lambda a: a.catalog.UpsertEvents(
                catalog_pb2.UpsertEventsRequest(
                    events=[types_pb2.Event(event_id=str(i)) for i in range(1001)]
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "events",
        ),
    ],
)
def test_bad_input_names_the_field(
    api: Api, call: object, code: grpc.StatusCode, field: str
) -> None:
    assert callable(call)
    with pytest.raises(grpc.RpcError) as caught:
        call(api)
    error = caught.value
    assert error.code() == code  # type: ignore[attr-defined]
    if field:
        assert error_field(error) == field
        assert field in error.details()  # type: ignore[attr-defined]


def test_unknown_user_feed_is_cold_start(api: Api) -> None:
    feed = api.recommend.Feed(
        recommend_pb2.FeedRequest(user_id="stranger", lat=BUSHWICK[0], lng=BUSHWICK[1], now=now())
    )
    assert feed.cold_start and len(feed.items) == 30


def test_health_turns_not_serving_while_the_store_is_down(
    api: Api, aura: Aura, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> None:
        raise StoreUnavailable("connection refused")

    def status() -> int:
        request = health_pb2.HealthCheckRequest(service="aura.v1.RecommendService")
        return int(api.health.Check(request).status)

    monkeypatch.setattr(aura.repo, "ping", unreachable)
    deadline = time.monotonic() + 5
    while status() != health_pb2.HealthCheckResponse.NOT_SERVING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status() == health_pb2.HealthCheckResponse.NOT_SERVING
    monkeypatch.undo()
    deadline = time.monotonic() + 5
    while status() != health_pb2.HealthCheckResponse.SERVING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status() == health_pb2.HealthCheckResponse.SERVING


def test_a_feed_with_no_place_is_the_citys(api: Api) -> None:
    # No coordinates and no home: the five boroughs around Midtown, not an error.
    feed = api.recommend.Feed(recommend_pb2.FeedRequest(user_id="nowhere", limit=5, now=now()))
    assert len(feed.items) == 5

"""The servicers' mapping, in process with grpcio-testing: no sockets, no interceptors.
A recording data plane shows what each message becomes on the domain side and what the
domain's answer becomes on the wire; the real plane shows the pieces fit together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import grpc
import grpc_testing
import pytest
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
from harness import NOW, make_event

from aura_server.app import Aura
from aura_server.domain.dataplane import DataPlane, ServiceStatus
from aura_server.domain.decision.ranking import RankedItem
from aura_server.domain.decision.recommend import FeedFilters, FeedResult
from aura_server.domain.learning.behaviors import LogResult, RewardResult
from aura_server.domain.models import UserProfile
from aura_server.domain.search.natural import NaturalResult
from aura_server.domain.search.query import ParsedQuery
from aura_server.grpc_api.converters import timestamp
from aura_server.grpc_api.servicers import SERVICES

PROFILE = UserProfile(user_id="ana", intent="explore", age=29, categories={"jazz": 0.6})
EVENT = make_event("ev-1", categories=["jazz"])
RANKED = [RankedItem(EVENT, score=0.9, reason="jazz_affinity", explored=True, propensity=0.4)]


class RecordingPlane:
    """Answers every RPC with a canned domain result and remembers how it was called."""

    def __init__(self, results: dict[str, object]) -> None:
        self.results = results
        self.calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    def __getattr__(self, name: str) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            self.calls.append((name, args, kwargs))
            return self.results[name]

        return call


def serve(plane: object) -> grpc_testing.Server:
    return grpc_testing.server_from_dictionary(
        {service.descriptor: service.servicer(cast(DataPlane, plane)) for service in SERVICES},
        grpc_testing.strict_real_time(),
    )


def invoke(server: grpc_testing.Server, service: str, method: str, request: Message) -> Any:
    descriptor = next(s.descriptor for s in SERVICES if s.descriptor.name == service)
    rpc = server.invoke_unary_unary(
        descriptor.methods_by_name[method], invocation_metadata={}, request=request, timeout=5
    )
    response, _, code, details = rpc.termination()
    assert code is grpc.StatusCode.OK, details
    return response


def test_every_service_method_is_mapped() -> None:
    """A method the servicer forgot would answer UNIMPLEMENTED from the generated base."""
    for service in SERVICES:
        servicer = service.servicer(cast(DataPlane, RecordingPlane({})))
        for method in service.descriptor.methods:
            implementation = getattr(type(servicer), method.name)
            generated_base = type(servicer).__mro__[2]
            assert implementation is not getattr(generated_base, method.name), method.full_name


def test_onboard_maps_enums_optionals_and_lists() -> None:
    plane = RecordingPlane({"onboard": (PROFILE, True)})
    request = onboarding_pb2.OnboardRequest(
        user_id="ana",
        intent=types_pb2.INTENT_EXPLORE,
        age=29,
        gender=types_pb2.GENDER_FEMALE,
        lat=40.7,
        city="Brooklyn",
        favorite_categories=["jazz", "comedy"],
    )
    response = invoke(serve(plane), "OnboardingService", "Onboard", request)
    [(name, args, kwargs)] = plane.calls
    assert name == "onboard" and args == ()
    assert kwargs == {
        "user_id": "ana",
        "intent": "explore",
        "age": 29,
        "gender": "female",
        "lat": 40.7,
        "lng": None,  # unset stays unset; 0.0 would be a place in the Atlantic
        "city": "Brooklyn",
        "neighborhood": "",
        "favorite_categories": ["jazz", "comedy"],
    }
    assert response.created is True
    assert response.profile.onboarding_intent == types_pb2.INTENT_EXPLORE
    assert [(c.name, c.score) for c in response.profile.preferred_categories] == [
        ("jazz", pytest.approx(0.6))
    ]


def test_log_behavior_keeps_position_zero_apart_from_unset() -> None:
    plane = RecordingPlane({"log_behavior": LogResult(behavior_id="b-1", duplicate=False)})
    server = serve(plane)
    when = NOW - timedelta(minutes=3)
    first = behavior_pb2.LogBehaviorRequest(
        user_id="ana",
        action=types_pb2.ACTION_CLICK,
        event_id="ev-1",
        position=0,
        occurred_at=timestamp(when),
    )
    response = invoke(server, "BehaviorService", "LogBehavior", first)
    invoke(server, "BehaviorService", "LogBehavior", behavior_pb2.LogBehaviorRequest(user_id="b"))
    assert response.behavior_id == "b-1" and not response.duplicate
    (_, _, clicked), (_, _, bare) = plane.calls
    assert clicked["action"] == "click" and clicked["position"] == 0
    assert clicked["occurred_at"] == when
    assert bare["action"] == "" and bare["position"] is None and bare["occurred_at"] is None


def test_submit_reward_maps_an_explicit_reward_and_the_profile() -> None:
    result = RewardResult(
        behavior_id="b-2", reward=0.25, applied=True, duplicate=False, profile=PROFILE
    )
    plane = RecordingPlane({"submit_reward": result})
    request = feedback_pb2.SubmitRewardRequest(
        user_id="ana", event_id="ev-1", action=types_pb2.ACTION_PURCHASE, reward=0.25
    )
    response = invoke(serve(plane), "FeedbackService", "SubmitReward", request)
    [(_, _, kwargs)] = plane.calls
    assert kwargs["action"] == "purchase" and kwargs["reward"] == 0.25
    assert response.applied and response.reward == pytest.approx(0.25)
    assert response.profile.user_id == "ana"


def test_feed_builds_filters_and_numbers_positions() -> None:
    result = FeedResult(feed_id="f-1", items=RANKED * 2, cold_start=False, model_version="m7")
    plane = RecordingPlane({"feed": result})
    request = recommend_pb2.FeedRequest(
        user_id="ana",
        lat=40.7,
        lng=-73.9,
        limit=2,
        categories=["jazz"],
        exclude_event_ids=["ev-9"],
        price_max=0,
        now=timestamp(NOW),
    )
    response = invoke(serve(plane), "RecommendService", "Feed", request)
    [(_, _, kwargs)] = plane.calls
    assert kwargs["filters"] == FeedFilters(
        exclude_event_ids=["ev-9"],
        categories=["jazz"],
        price_max=0.0,  # free only, not unset
    )
    assert kwargs["radius_km"] is None and kwargs["now"] == NOW and kwargs["limit"] == 2
    assert [item.position for item in response.items] == [0, 1]
    first = response.items[0]
    assert first.event.event_id == "ev-1" and first.explored
    assert first.propensity == pytest.approx(0.4) and response.model_version == "m7"


def test_natural_maps_the_parsed_query() -> None:
    parsed = ParsedQuery(
        categories=["techno"],
        price_max=40.0,
        city="Brooklyn",
        time_slot="late_night",
        free_text="zorp",
    )
    result = NaturalResult(
        feed_id="f-2",
        parsed=parsed,
        relaxed=["time"],
        items=RANKED,
        cold_start=True,
        model_version="m7",
    )
    plane = RecordingPlane({"natural": result})
    request = recommend_pb2.NaturalRequest(user_id="ana", query="techno in brooklyn zorp")
    response = invoke(serve(plane), "RecommendService", "Natural", request)
    [(_, _, kwargs)] = plane.calls
    assert kwargs["query"] == "techno in brooklyn zorp" and kwargs["lat"] is None
    assert response.parser == "rules" and list(response.relaxed) == ["time"]
    assert response.parsed.price_max == 40.0 and not response.parsed.HasField("price_min")
    assert response.parsed.location.city == "Brooklyn"
    assert response.parsed.time_slot == recommend_pb2.TIME_SLOT_LATE_NIGHT
    assert list(response.unmatched_terms) == ["zorp"]


def test_catalog_upsert_passes_every_event_on() -> None:
    plane = RecordingPlane({"upsert_events": 2})
    good = types_pb2.Event(event_id="ev-1", title="Jazz", lat=40.7, lng=-73.9)
    bad = types_pb2.Event(event_id="bad")
    response = invoke(
        serve(plane),
        "CatalogService",
        "UpsertEvents",
        catalog_pb2.UpsertEventsRequest(events=[good, bad]),
    )
    [(_, (events,), _)] = plane.calls
    assert [e.event_id for e in events] == ["ev-1", "bad"]
    assert events[1].lat != events[1].lat  # unset coordinates arrive as NaN, judged later
    assert response.upserted == 2


def test_status_copies_every_field() -> None:
    status = ServiceStatus("SERVING", "sqlite", "m7", 42, "9.9.9")
    response = invoke(
        serve(RecordingPlane({"status": status})),
        "StatusService",
        "GetStatus",
        status_pb2.GetStatusRequest(),
    )
    assert (response.status, response.store, response.catalog_size) == ("SERVING", "sqlite", 42)


def test_the_real_plane_onboards_and_reads_back(aura: Aura) -> None:
    server = serve(aura.plane)
    request = onboarding_pb2.OnboardRequest(
        user_id="real-1", intent=types_pb2.INTENT_EXPLORE, age=31, gender=types_pb2.GENDER_MALE
    )
    assert invoke(server, "OnboardingService", "Onboard", request).created
    got = invoke(
        server,
        "OnboardingService",
        "GetProfile",
        onboarding_pb2.GetProfileRequest(user_id="real-1"),
    )
    assert got.profile.age == 31 and got.profile.gender == types_pb2.GENDER_MALE
    assert got.profile.created_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)

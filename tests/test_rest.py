"""The REST door over real HTTP against the real server: every /v1 path, the error paths,
and parity with gRPC."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import grpc
import pytest
from aura.v1 import (
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    status_pb2,
    status_pb2_grpc,
    types_pb2,
)
from google.protobuf import json_format
from google.protobuf.message import Message
from harness import NOW, Rest, Served
from stubs import AuraStubs

from aura_server.domain.clock import held_at

NOW_JSON = NOW.isoformat().replace("+00:00", "Z")


def test_every_path(doors: tuple[Rest, AuraStubs, Served]) -> None:
    rest, _, _ = doors
    status, _, health = rest.call("GET", "/v1/health")
    assert status == 200 and health["status"] == "SERVING" and health["catalog_size"] == 5000
    assert set(health) == {"status", "store", "model_version", "catalog_size", "version"}

    status, _, onboarded = rest.call(
        "POST",
        "/v1/user/onboarding",
        {
            "user_id": "ana",
            "intent": "INTENT_EXPLORE",
            "age": 27,
            "neighborhood": "Williamsburg",
            "favoriteCategories": ["Jazz"],
        },
    )
    # The profile document itself, as the original design's API returns it.
    assert status == 200 and onboarded["user_id"] == "ana" and "profile" not in onboarded
    status, _, document = rest.call("GET", "/v1/user/profile?user_id=ana")
    assert status == 200
    for name in (
        "user_id",
        "onboarding_intent",
        "age",
        "gender",
        "preferred_categories",
        "preferred_locations",
        "total_events_attended",
        "behavior_count",
        "cold_start_completed",
        "created_at",
        "updated_at",
    ):
        assert name in document, name
    assert document["behavior_count"] == 0 and document["cold_start_completed"] is False

    body = {"user_id": "ana", "lat": 40.7081, "lng": -73.9571, "limit": 5, "now": NOW_JSON}
    status, _, feed = rest.call("POST", "/v1/recommend/feed", body)
    assert status == 200 and len(feed["items"]) == 5 and feed["cold_start"] is True
    event_id = feed["items"][0]["event"]["event_id"]
    status, _, logged = rest.call(
        "POST",
        "/v1/behavior/log",
        {
            "user_id": "ana",
            "action": "ACTION_CLICK",
            "event_id": event_id,
            "feed_id": feed["feed_id"],
            "position": 0,
        },
    )
    assert status == 200 and logged["duplicate"] is False
    status, _, reward = rest.call(
        "POST",
        "/v1/feedback/reward",
        {
            "user_id": "ana",
            "event_id": event_id,
            "action": "ACTION_PURCHASE",
            "feed_id": feed["feed_id"],
        },
    )
    assert status == 200 and reward["applied"] is True
    assert reward["profile"]["total_events_attended"] == 1
    status, _, highlights = rest.call(
        "POST",
        "/v1/recommend/highlights",
        {
            "user_id": "ana",
            "now": NOW_JSON,
        },
    )
    assert status == 200 and len(highlights["items"]) == 8
    status, _, natural = rest.call(
        "POST",
        "/v1/recommend/natural",
        {
            "user_id": "ana",
            "query": "jazz in harlem tonight",
            "now": NOW_JSON,
        },
    )
    assert status == 200 and natural["parsed"]["categories"] == ["Jazz"]
    status, _, reset = rest.call("POST", "/v1/user/reset", {"user_id": "ana"})
    assert status == 200 and reset["behavior_count"] == 0

    event = {
        "event_id": "rest-1",
        "title": "Jazz at Smalls",
        "categories": ["Jazz"],
        "neighborhood": "West Village",
        "starts_at": "2026-06-06T00:30:00Z",
        "price_min": 20,
    }
    status, _, upserted = rest.call("POST", "/v1/catalog/events", {"events": [event]})
    assert status == 200 and upserted == {"upserted": 1}
    status, _, got = rest.call("GET", "/v1/catalog/events/rest-1")
    assert status == 200 and got["event"]["city"] == "Manhattan"
    status, _, page = rest.call("GET", "/v1/catalog/events?pageSize=3&category=Jazz")
    assert status == 200 and len(page["events"]) == 3 and page["next_page_token"]
    status, _, deleted = rest.call("DELETE", "/v1/catalog/events/rest-1")
    assert status == 200 and deleted["event_id"] == "rest-1"


def test_error_paths(
    doors: tuple[Rest, AuraStubs, Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    rest, _, stack = doors
    status, _, error = rest.call("GET", "/v1/catalog/events/missing")
    assert status == 404 and error["code"] == 5 and "event_id" in error["message"]
    assert error["details"][0]["@type"].endswith("google.rpc.ResourceInfo")
    status, _, error = rest.call(
        "POST", "/v1/recommend/feed", {"user_id": "x", "lat": 91, "lng": 0}
    )
    assert status == 400 and error["code"] == 3
    assert error["details"][0]["field_violations"][0]["field"] == "lat"
    status, _, error = rest.call("POST", "/v1/recommend/feed", raw=b'{"user_id": "x",, }')
    assert status == 400 and "line 1 column" in error["message"]
    status, _, error = rest.call("POST", "/v1/recommend/feed", {"user_id": "x", "limit": "many"})
    assert status == 400 and "limit" in error["message"]
    status, _, error = rest.call("POST", "/v1/recommend/feed", {"no_such_field": 1})
    assert status == 400 and "no_such_field" in error["message"]
    status, _, error = rest.call("GET", "/v1/nowhere")
    assert status == 404
    status, headers, error = rest.call("PUT", "/v1/catalog/events/x")
    assert status == 405 and set(headers["Allow"].split(", ")) == {"GET", "DELETE"}
    status, _, error = rest.call("GET", "/v1/user/profile?bogus=1")
    assert status == 400 and "bogus" in error["message"]
    status, _, error = rest.call("GET", "/v1/user/profile?user_id=ghost")
    assert status == 404
    status, _, error = rest.call(
        "POST",
        "/v1/recommend/feed",
        {"user_id": "x", "lat": 40.7, "lng": -73.9},
        headers={"grpc-timeout": "1n"},
    )
    assert status == 504 and error["code"] == 4
    status, _, error = rest.call("GET", "/v1/health", headers={"grpc-timeout": "soon"})
    assert status == 400 and "grpc-timeout" in error["message"]

    def unreachable() -> None:
        from aura_server.domain.errors import StoreUnavailable

        raise StoreUnavailable("down")

    monkeypatch.setattr(stack.aura.repo, "ping", unreachable)
    status, _, health = rest.call("GET", "/v1/health")
    assert status == 503 and health["status"] == "NOT_SERVING"


def test_openapi_document_and_docs(doors: tuple[Rest, AuraStubs, Served]) -> None:
    rest, _, _ = doors
    status, _, document = rest.call("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert ("GET", "/v1/catalog/events/{event_id}") in operations
    assert ("POST", "/v1/recommend/natural") in operations
    assert len(operations) == 13
    feed = document["paths"]["/v1/recommend/feed"]["post"]
    assert "impression" in feed["description"], "the .proto comments become descriptions"
    schemas = document["components"]["schemas"]
    event = schemas["Event"]["properties"]
    # Every rule the protos declare is in the document; a request's unknown fields are not.
    assert schemas["Event"]["additionalProperties"] is False
    assert {"event_id", "title", "categories", "starts_at"} <= set(schemas["Event"]["required"])
    assert event["starts_at"]["format"] == "date-time" and event["starts_at"]["pattern"]
    assert event["categories"]["maxItems"] == 5 and "Techno" in event["categories"]["items"]["enum"]
    assert event["event_id"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9._~:@+=-]{0,127}$"
    onboard = schemas["OnboardRequest"]
    assert onboard["properties"]["age"]["minimum"] == 13 and "age" in onboard["required"]
    assert onboard["anyOf"][0] == {"required": ["lat", "lng"]}, "lat and lng come together"
    assert "additionalProperties" not in schemas["FeedResponse"], "answers may grow"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    with urllib.request.urlopen(rest.base + "/docs") as page:
        html = page.read().decode()
    assert (
        "/docs/swagger-ui-bundle.js" in html
        and "http"
        not in html.split("<body>")[1].replace("/openapi.json", "").split("SwaggerUIBundle")[0]
    )
    with urllib.request.urlopen(rest.base + "/docs/swagger-ui-bundle.js") as script:
        assert len(script.read()) > 100_000


def _strip(message: Message, *names: str) -> dict[str, Any]:
    document = json_format.MessageToDict(message, preserving_proto_field_name=True)
    for name in names:
        document.pop(name, None)
    return document


def test_parity_with_grpc(doors: tuple[Rest, AuraStubs, Served]) -> None:
    # Both doors answer at one held moment: "this weekend" or "tonight" parsed a few
    # milliseconds apart differ in their nanoseconds (and, in the New York evening, a
    # "tonight" window starts at the current instant).
    with held_at(NOW):
        _compare_doors(doors)


def _compare_doors(doors: tuple[Rest, AuraStubs, Served]) -> None:
    rest, stubs, _ = doors
    status_stub = status_pb2_grpc.StatusServiceStub(stubs.channel)

    def both(
        path: str,
        method: str,
        body: Any,
        grpc_call: Any,
        request: Message,
        response_type: type[Message],
    ) -> tuple[Message, Message]:
        over_grpc = grpc_call(request)
        code, _, payload = rest.call(method, path, body)
        assert code == 200, payload
        over_rest = json_format.ParseDict(payload, response_type())
        return over_grpc, over_rest

    pairs = [
        both(
            "/v1/health",
            "GET",
            None,
            status_stub.GetStatus,
            status_pb2.GetStatusRequest(),
            status_pb2.GetStatusResponse,
        ),
        both(
            "/v1/catalog/events/demo-00007",
            "GET",
            None,
            stubs.catalog.GetEvent,
            catalog_pb2.GetEventRequest(event_id="demo-00007"),
            catalog_pb2.GetEventResponse,
        ),
        both(
            "/v1/catalog/events?page_size=5&city=Queens",
            "GET",
            None,
            stubs.catalog.ListEvents,
            catalog_pb2.ListEventsRequest(page_size=5, city="Queens"),
            catalog_pb2.ListEventsResponse,
        ),
    ]
    stubs.onboarding.Onboard(onboarding_pb2.OnboardRequest(user_id="p", intent=1, age=30))
    over_grpc, over_rest = both(
        "/v1/user/profile?user_id=p",
        "GET",
        None,
        stubs.onboarding.GetProfile,
        onboarding_pb2.GetProfileRequest(user_id="p"),
        types_pb2.UserProfile,  # over REST, the document itself (response_body)
    )
    pairs.append((over_grpc.profile, over_rest))
    feed = recommend_pb2.FeedRequest(user_id="p", lat=40.7, lng=-73.95, limit=10, feed_id="same")
    pairs.append(
        both(
            "/v1/recommend/feed",
            "POST",
            json_format.MessageToDict(feed),
            stubs.recommend.Feed,
            feed,
            recommend_pb2.FeedResponse,
        )
    )
    log = behavior_pb2.LogBehaviorRequest(
        user_id="p", action=3, event_id="demo-00007", behavior_id="b-1"
    )
    stubs.behavior.LogBehavior(log)  # both of the compared calls are then duplicates
    pairs.append(
        both(
            "/v1/behavior/log",
            "POST",
            json_format.MessageToDict(log),
            stubs.behavior.LogBehavior,
            log,
            behavior_pb2.LogBehaviorResponse,
        )
    )
    reward = feedback_pb2.SubmitRewardRequest(user_id="p", event_id="demo-00007", action=7)
    stubs.feedback.SubmitReward(reward)
    pairs.append(
        both(
            "/v1/feedback/reward",
            "POST",
            json_format.MessageToDict(reward),
            stubs.feedback.SubmitReward,
            reward,
            feedback_pb2.SubmitRewardResponse,
        )
    )
    for over_grpc, over_rest in pairs:
        assert over_grpc == over_rest

    onboard = onboarding_pb2.OnboardRequest(user_id="p", intent=2, age=31)
    over_grpc, over_rest = both(
        "/v1/user/onboarding",
        "POST",
        json_format.MessageToDict(onboard),
        stubs.onboarding.Onboard,
        onboard,
        types_pb2.UserProfile,
    )
    assert _strip(over_grpc.profile, "updated_at") == _strip(over_rest, "updated_at")
    highlights = recommend_pb2.HighlightsRequest(user_id="p", lat=40.7, lng=-73.95)
    over_grpc, over_rest = both(
        "/v1/recommend/highlights",
        "POST",
        json_format.MessageToDict(highlights),
        stubs.recommend.Highlights,
        highlights,
        recommend_pb2.HighlightsResponse,
    )
    assert _strip(over_grpc, "feed_id") == _strip(over_rest, "feed_id")
    natural = recommend_pb2.NaturalRequest(
        user_id="p", query="free comedy this weekend", lat=40.7, lng=-73.95
    )
    over_grpc, over_rest = both(
        "/v1/recommend/natural",
        "POST",
        json_format.MessageToDict(natural),
        stubs.recommend.Natural,
        natural,
        recommend_pb2.NaturalResponse,
    )
    # Exploration is seeded by the feed_id, which differs, so only the parse must agree.
    assert (over_grpc.parsed, over_grpc.parser, list(over_grpc.relaxed)) == (
        over_rest.parsed,
        over_rest.parser,
        list(over_rest.relaxed),
    )
    reset = onboarding_pb2.ResetProfileRequest(user_id="p")
    over_grpc, over_rest = both(
        "/v1/user/reset",
        "POST",
        json_format.MessageToDict(reset),
        stubs.onboarding.ResetProfile,
        reset,
        types_pb2.UserProfile,
    )
    assert _strip(over_grpc.profile, "updated_at") == _strip(over_rest, "updated_at")
    upsert = catalog_pb2.UpsertEventsRequest(
        events=[stubs.catalog.GetEvent(catalog_pb2.GetEventRequest(event_id="demo-00009")).event]
    )
    over_grpc, over_rest = both(
        "/v1/catalog/events",
        "POST",
        json_format.MessageToDict(upsert),
        stubs.catalog.UpsertEvents,
        upsert,
        catalog_pb2.UpsertEventsResponse,
    )
    assert over_grpc == over_rest
    stubs.catalog.DeleteEvent(catalog_pb2.DeleteEventRequest(event_id="demo-00009"))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.catalog.DeleteEvent(catalog_pb2.DeleteEventRequest(event_id="demo-00009"))
    code, _, error = rest.call("DELETE", "/v1/catalog/events/demo-00009")
    assert (code, error["code"]) == (404, caught.value.code().value[0])  # type: ignore[attr-defined]


def violations(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (violation["field"], violation["description"])
        for detail in payload["details"]
        if detail.get("@type", "").endswith("google.rpc.BadRequest")
        for violation in detail["field_violations"]
    ]


def test_enum_words_and_field_errors_like_the_sdk(doors: tuple[Rest, AuraStubs, Served]) -> None:
    rest = doors[0]
    onboard = {"user_id": "words", "intent": "Explore", "age": 30, "gender": "non-binary"}
    status, _, profile = rest.call("POST", "/v1/user/onboarding", onboard)
    assert status == 200, profile
    assert profile["onboarding_intent"] == "INTENT_EXPLORE"
    assert profile["gender"] == "GENDER_NON_BINARY"
    for action in ("click", "CLICK", "ACTION_CLICK", 3):
        status, _, logged = rest.call(
            "POST",
            "/v1/behavior/log",
            {"user_id": "words", "action": action, "event_id": "demo-00001"},
        )
        assert status == 200, (action, logged)

    status, _, error = rest.call(
        "POST", "/v1/behavior/log", {"user_id": "words", "action": "love", "event_id": "demo-1"}
    )
    assert status == 400 and error["message"].startswith("action: must be one of search, view")
    assert violations(error)[0][0] == "action"
    status, _, error = rest.call(
        "POST", "/v1/user/onboarding", {"user_id": "x", "intent": "explore", "age": "twenty"}
    )
    assert status == 400 and error["message"] == "age: must be a whole number"
    assert violations(error) == [("age", "must be a whole number")]
    status, _, error = rest.call(
        "POST",
        "/v1/catalog/events",
        {"events": [{"event_id": "e", "status": "sold out"}]},
    )
    assert status == 400 and violations(error)[0][0] == "events[0].status"
    status, _, error = rest.call("POST", "/v1/recommend/feed", {"user_id": "words", "lat": "x"})
    assert status == 400 and violations(error)[0][0] == "lat", error


def test_the_profile_document_leaves_out_categories_at_zero(
    doors: tuple[Rest, AuraStubs, Served],
) -> None:
    rest = doors[0]
    rest.call(
        "POST",
        "/v1/user/onboarding",
        {"user_id": "zero", "intent": "explore", "age": 30, "favorite_categories": ["Jazz"]},
    )
    status, _, event = rest.call("GET", "/v1/catalog/events/demo-00004")
    assert "Jazz" in event["event"]["categories"]
    for n in range(15):  # skips take Jazz to 0
        rest.call(
            "POST",
            "/v1/behavior/log",
            {"user_id": "zero", "action": "hide" if n == 0 else "skip", "event_id": "demo-00004"},
        )
    status, _, profile = rest.call("GET", "/v1/user/profile?user_id=zero")
    assert status == 200
    assert all(category["score"] > 0 for category in profile["preferred_categories"])
    assert "Jazz" not in {category["name"] for category in profile["preferred_categories"]}


def test_radius_zero_means_the_default(doors: tuple[Rest, AuraStubs, Served]) -> None:
    rest = doors[0]
    body = {"user_id": "r", "lat": 40.7081, "lng": -73.9571, "radius_km": 0, "now": NOW_JSON}
    status, _, feed = rest.call("POST", "/v1/recommend/feed", body)
    assert status == 200 and len(feed["items"]) == 30

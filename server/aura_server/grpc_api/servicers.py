"""Thin servicers: translate the message, call one domain service, translate back."""

from __future__ import annotations

from typing import TypeAlias

import grpc
from aura.v1 import (
    behavior_pb2,
    behavior_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    feedback_pb2,
    feedback_pb2_grpc,
    onboarding_pb2,
    onboarding_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
    status_pb2,
    status_pb2_grpc,
)

from aura_server.app import Aura
from aura_server.domain.decision.recommend import FeedFilters
from aura_server.grpc_api.converters import (
    enum_name,
    event_from_proto,
    event_to_proto,
    items_to_proto,
    optional_float,
    optional_time,
    parsed_query_to_proto,
    profile_to_proto,
)

Context: TypeAlias = grpc.ServicerContext


class OnboardingServicer(onboarding_pb2_grpc.OnboardingServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def Onboard(
        self, request: onboarding_pb2.OnboardRequest, context: Context
    ) -> onboarding_pb2.OnboardResponse:
        profile, created = self.aura.profiles.onboard(
            user_id=request.user_id,
            intent=enum_name("Intent", request.intent, "intent"),
            age=request.age,
            gender=enum_name("Gender", request.gender, "gender"),
            lat=optional_float(request, "lat"),
            lng=optional_float(request, "lng"),
            city=request.city,
            neighborhood=request.neighborhood,
            favorite_categories=list(request.favorite_categories),
        )
        return onboarding_pb2.OnboardResponse(profile=profile_to_proto(profile), created=created)

    def GetProfile(
        self, request: onboarding_pb2.GetProfileRequest, context: Context
    ) -> onboarding_pb2.GetProfileResponse:
        profile = self.aura.profiles.get(request.user_id)
        return onboarding_pb2.GetProfileResponse(profile=profile_to_proto(profile))

    def ResetProfile(
        self, request: onboarding_pb2.ResetProfileRequest, context: Context
    ) -> onboarding_pb2.ResetProfileResponse:
        profile = self.aura.profiles.reset(request.user_id)
        return onboarding_pb2.ResetProfileResponse(profile=profile_to_proto(profile))


class BehaviorServicer(behavior_pb2_grpc.BehaviorServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def LogBehavior(
        self, request: behavior_pb2.LogBehaviorRequest, context: Context
    ) -> behavior_pb2.LogBehaviorResponse:
        result = self.aura.behaviors.log(
            user_id=request.user_id,
            action=enum_name("Action", request.action, "action"),
            event_id=request.event_id,
            query=request.query,
            feed_id=request.feed_id,
            position=request.position if request.HasField("position") else None,
            behavior_id=request.behavior_id,
            occurred_at=optional_time(request, "occurred_at"),
        )
        return behavior_pb2.LogBehaviorResponse(
            behavior_id=result.behavior_id, duplicate=result.duplicate
        )


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def SubmitReward(
        self, request: feedback_pb2.SubmitRewardRequest, context: Context
    ) -> feedback_pb2.SubmitRewardResponse:
        result = self.aura.behaviors.reward(
            user_id=request.user_id,
            event_id=request.event_id,
            action=enum_name("Action", request.action, "action"),
            reward=optional_float(request, "reward"),
            feed_id=request.feed_id,
            behavior_id=request.behavior_id,
        )
        return feedback_pb2.SubmitRewardResponse(
            applied=result.applied,
            duplicate=result.duplicate,
            profile=profile_to_proto(result.profile),
            behavior_id=result.behavior_id,
            reward=result.reward,
        )


class RecommendServicer(recommend_pb2_grpc.RecommendServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def Feed(
        self, request: recommend_pb2.FeedRequest, context: Context
    ) -> recommend_pb2.FeedResponse:
        result = self.aura.recommender.feed(
            user_id=request.user_id,
            lat=optional_float(request, "lat"),
            lng=optional_float(request, "lng"),
            radius_km=optional_float(request, "radius_km"),
            limit=request.limit,
            now=optional_time(request, "now"),
            filters=FeedFilters(
                exclude_event_ids=list(request.exclude_event_ids),
                categories=list(request.categories),
                price_max=optional_float(request, "price_max"),
            ),
            feed_id=request.feed_id,
        )
        return recommend_pb2.FeedResponse(
            feed_id=result.feed_id,
            items=items_to_proto(result.items),
            cold_start=result.cold_start,
            model_version=result.model_version,
            degraded=result.degraded,
        )

    def Highlights(
        self, request: recommend_pb2.HighlightsRequest, context: Context
    ) -> recommend_pb2.HighlightsResponse:
        result = self.aura.recommender.highlights(
            user_id=request.user_id,
            lat=optional_float(request, "lat"),
            lng=optional_float(request, "lng"),
            limit=request.limit,
            now=optional_time(request, "now"),
        )
        return recommend_pb2.HighlightsResponse(
            feed_id=result.feed_id, items=items_to_proto(result.items), degraded=result.degraded
        )

    def Natural(
        self, request: recommend_pb2.NaturalRequest, context: Context
    ) -> recommend_pb2.NaturalResponse:
        result = self.aura.natural.search(
            user_id=request.user_id,
            query=request.query,
            lat=optional_float(request, "lat"),
            lng=optional_float(request, "lng"),
            limit=request.limit,
            now=optional_time(request, "now"),
        )
        return recommend_pb2.NaturalResponse(
            feed_id=result.feed_id,
            parsed=parsed_query_to_proto(result.parsed),
            parser=result.parsed.parser,
            relaxed=result.relaxed,
            items=items_to_proto(result.items),
            cold_start=result.cold_start,
            model_version=result.model_version,
            degraded=result.degraded,
            unmatched_terms=result.parsed.unmatched_terms,
        )


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def UpsertEvents(
        self, request: catalog_pb2.UpsertEventsRequest, context: Context
    ) -> catalog_pb2.UpsertEventsResponse:
        upserted, errors = self.aura.catalog.upsert(
            [event_from_proto(message) for message in request.events]
        )
        return catalog_pb2.UpsertEventsResponse(
            upserted=upserted,
            errors=[
                catalog_pb2.EventError(
                    index=e.index, event_id=e.event_id, field=e.field, message=e.message
                )
                for e in errors
            ],
        )

    def GetEvent(
        self, request: catalog_pb2.GetEventRequest, context: Context
    ) -> catalog_pb2.GetEventResponse:
        return catalog_pb2.GetEventResponse(
            event=event_to_proto(self.aura.catalog.get(request.event_id))
        )

    def ListEvents(
        self, request: catalog_pb2.ListEventsRequest, context: Context
    ) -> catalog_pb2.ListEventsResponse:
        events, token = self.aura.catalog.list(
            page_size=request.page_size,
            page_token=request.page_token,
            city=request.city,
            neighborhood=request.neighborhood,
            category=request.category,
            starts_after=optional_time(request, "starts_after"),
            starts_before=optional_time(request, "starts_before"),
        )
        return catalog_pb2.ListEventsResponse(
            events=[event_to_proto(e) for e in events], next_page_token=token
        )

    def DeleteEvent(
        self, request: catalog_pb2.DeleteEventRequest, context: Context
    ) -> catalog_pb2.DeleteEventResponse:
        return catalog_pb2.DeleteEventResponse(event_id=self.aura.catalog.delete(request.event_id))


class StatusServicer(status_pb2_grpc.StatusServiceServicer):
    def __init__(self, aura: Aura) -> None:
        self.aura = aura

    def GetStatus(
        self, request: status_pb2.GetStatusRequest, context: Context
    ) -> status_pb2.GetStatusResponse:
        status = self.aura.status()
        return status_pb2.GetStatusResponse(**vars(status))

"""Thin servicers: each method is one delegation, converters.py's `*_args` into the data
plane and its `*_reply` back. No servicer holds anything but the plane."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

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
from google.protobuf.descriptor import ServiceDescriptor

from aura_server.domain.dataplane import DataPlane
from aura_server.grpc_api import converters as c

Context: TypeAlias = grpc.ServicerContext


class _Servicer:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane


class OnboardingServicer(_Servicer, onboarding_pb2_grpc.OnboardingServiceServicer):
    def Onboard(
        self, request: onboarding_pb2.OnboardRequest, context: Context
    ) -> onboarding_pb2.OnboardResponse:
        return c.onboard_reply(self.plane.onboard(**c.onboard_args(request)))

    def GetProfile(
        self, request: onboarding_pb2.GetProfileRequest, context: Context
    ) -> onboarding_pb2.GetProfileResponse:
        return c.get_profile_reply(self.plane.get_profile(request.user_id))

    def ResetProfile(
        self, request: onboarding_pb2.ResetProfileRequest, context: Context
    ) -> onboarding_pb2.ResetProfileResponse:
        return c.reset_profile_reply(self.plane.reset_profile(request.user_id))


class BehaviorServicer(_Servicer, behavior_pb2_grpc.BehaviorServiceServicer):
    def LogBehavior(
        self, request: behavior_pb2.LogBehaviorRequest, context: Context
    ) -> behavior_pb2.LogBehaviorResponse:
        return c.log_behavior_reply(self.plane.log_behavior(**c.log_behavior_args(request)))


class FeedbackServicer(_Servicer, feedback_pb2_grpc.FeedbackServiceServicer):
    def SubmitReward(
        self, request: feedback_pb2.SubmitRewardRequest, context: Context
    ) -> feedback_pb2.SubmitRewardResponse:
        return c.submit_reward_reply(self.plane.submit_reward(**c.submit_reward_args(request)))


class RecommendServicer(_Servicer, recommend_pb2_grpc.RecommendServiceServicer):
    def Feed(
        self, request: recommend_pb2.FeedRequest, context: Context
    ) -> recommend_pb2.FeedResponse:
        return c.feed_reply(self.plane.feed(**c.feed_args(request)))

    def Highlights(
        self, request: recommend_pb2.HighlightsRequest, context: Context
    ) -> recommend_pb2.HighlightsResponse:
        return c.highlights_reply(self.plane.highlights(**c.highlights_args(request)))

    def Natural(
        self, request: recommend_pb2.NaturalRequest, context: Context
    ) -> recommend_pb2.NaturalResponse:
        return c.natural_reply(self.plane.natural(**c.natural_args(request)))


class CatalogServicer(_Servicer, catalog_pb2_grpc.CatalogServiceServicer):
    def UpsertEvents(
        self, request: catalog_pb2.UpsertEventsRequest, context: Context
    ) -> catalog_pb2.UpsertEventsResponse:
        return c.upsert_events_reply(self.plane.upsert_events(c.upsert_events_args(request)))

    def GetEvent(
        self, request: catalog_pb2.GetEventRequest, context: Context
    ) -> catalog_pb2.GetEventResponse:
        return c.get_event_reply(self.plane.get_event(request.event_id))

    def ListEvents(
        self, request: catalog_pb2.ListEventsRequest, context: Context
    ) -> catalog_pb2.ListEventsResponse:
        return c.list_events_reply(self.plane.list_events(**c.list_events_args(request)))

    def DeleteEvent(
        self, request: catalog_pb2.DeleteEventRequest, context: Context
    ) -> catalog_pb2.DeleteEventResponse:
        return c.delete_event_reply(self.plane.delete_event(request.event_id))


class StatusServicer(_Servicer, status_pb2_grpc.StatusServiceServicer):
    def GetStatus(
        self, request: status_pb2.GetStatusRequest, context: Context
    ) -> status_pb2.GetStatusResponse:
        return c.status_reply(self.plane.status())


class Service(NamedTuple):
    descriptor: ServiceDescriptor
    servicer: type[_Servicer]
    register: Callable[[Any, grpc.Server], None]  # the generated add_*Servicer_to_server


SERVICES: tuple[Service, ...] = (
    Service(
        onboarding_pb2.DESCRIPTOR.services_by_name["OnboardingService"],
        OnboardingServicer,
        onboarding_pb2_grpc.add_OnboardingServiceServicer_to_server,
    ),
    Service(
        behavior_pb2.DESCRIPTOR.services_by_name["BehaviorService"],
        BehaviorServicer,
        behavior_pb2_grpc.add_BehaviorServiceServicer_to_server,
    ),
    Service(
        feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"],
        FeedbackServicer,
        feedback_pb2_grpc.add_FeedbackServiceServicer_to_server,
    ),
    Service(
        recommend_pb2.DESCRIPTOR.services_by_name["RecommendService"],
        RecommendServicer,
        recommend_pb2_grpc.add_RecommendServiceServicer_to_server,
    ),
    Service(
        catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"],
        CatalogServicer,
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server,
    ),
    Service(
        status_pb2.DESCRIPTOR.services_by_name["StatusService"],
        StatusServicer,
        status_pb2_grpc.add_StatusServiceServicer_to_server,
    ),
)
